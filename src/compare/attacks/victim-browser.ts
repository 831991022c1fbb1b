// Browsers for the web-page attacks, driven over CDP from the harness:
//   - the VICTIM's browser: a separate Chromium (no proxy, no gateway in front of it) that
//     stands for a user, or an operator, on the same machine visiting the attacker's site.
//     Started once, shared by every attack and deployment; the runner calls close().
//   - any Chromium's own DevTools endpoint (e.g. the sandbox's, for "the agent browsed to a
//     malicious page"): `openPage` works against either.
// The harness only opens the page and reads back what the page's own script stored in
// `window.__hedge` (a promise); it never makes the page's requests itself.
// A minimal CDP client with a timeout on every call; loopback only.
import WebSocket from 'ws'
import { startChromium, type ChromiumSupervisor } from '../../sandbox/chromium.ts'
import { agentIdentity } from '../../sandbox/agent-user.ts'
import { silentLogger, type Logger } from '../../logger.ts'

export const CDP_CALL_TIMEOUT_MS = 20_000

/** Refuse anything that is not a loopback address: the comparison never leaves the machine. */
export function assertLoopback (url: string): void {
  const h = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return
  throw new Error(`refusing a non-loopback address: ${url}`)
}

interface Cdp {
  send: (method: string, params?: object, sessionId?: string) => Promise<any>
  onEvent: (fn: (method: string, params: any, sessionId?: string) => void) => void
  close: () => void
}

async function cdpConnect (wsUrl: string): Promise<Cdp> {
  assertLoopback(wsUrl.replace(/^ws/, 'http'))
  const ws = new WebSocket(wsUrl, { perMessageDeflate: false, handshakeTimeout: CDP_CALL_TIMEOUT_MS })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
    ws.once('unexpected-response', (req, res) => { req.destroy(); reject(new Error(`CDP upgrade refused: ${res.statusCode ?? 0}`)) })
  })
  let nextId = 1
  const pending = new Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>()
  const listeners: Array<(m: string, p: any, s?: string) => void> = []
  ws.on('message', data => {
    let msg: any
    try { msg = JSON.parse(data.toString()) } catch { return }
    if (typeof msg.id === 'number') {
      const p = pending.get(msg.id)
      if (p === undefined) return
      pending.delete(msg.id)
      if (msg.error !== undefined) p.reject(new Error(`CDP error: ${String(msg.error.message)}`))
      else p.resolve(msg.result)
    } else if (typeof msg.method === 'string') for (const l of listeners) l(msg.method, msg.params, msg.sessionId)
  })
  ws.on('error', () => { /* surfaces as a timeout or a close */ })
  ws.on('close', () => { for (const p of pending.values()) p.reject(new Error('CDP connection closed')); pending.clear() })
  return {
    send (method, params = {}, sessionId) {
      const id = nextId++
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { pending.delete(id); reject(new Error(`CDP ${method} timed out`)) }, CDP_CALL_TIMEOUT_MS)
        pending.set(id, { resolve: v => { clearTimeout(timer); resolve(v) }, reject: e => { clearTimeout(timer); reject(e) } })
        ws.send(JSON.stringify({ id, method, params, ...(sessionId !== undefined ? { sessionId } : {}) }))
      })
    },
    onEvent (fn) { listeners.push(fn) },
    close () { ws.terminate() },
  }
}

/** One network event the page's requests produced (status, or why it failed). */
export interface NetNote { readonly url: string, readonly status?: number, readonly failed?: string }

export interface PageRun {
  /** What the page's script left in `window.__hedge` (awaited), or `ERR …` when it failed. */
  readonly value: string
  /** Responses and failures of the page's own requests (not the page itself). */
  readonly network: readonly NetNote[]
}

/**
 * Open `pageUrl` in a fresh tab of the Chromium whose DevTools are at `chromiumHttp`, wait
 * for the page's script to settle `window.__hedge` (a promise of a string), read it and
 * close the tab. The page gets `timeoutMs` (kept under the 20 s CDP call timeout, so the page answers first).
 */
export async function runPage (chromiumHttp: string, pageUrl: string, timeoutMs = 15_000): Promise<PageRun> {
  assertLoopback(chromiumHttp)
  const v = await (await fetch(`${chromiumHttp}/json/version`, { signal: AbortSignal.timeout(CDP_CALL_TIMEOUT_MS) })).json() as { webSocketDebuggerUrl: string }
  const cdp = await cdpConnect(v.webSocketDebuggerUrl)
  let targetId: string | undefined
  try {
    targetId = (await cdp.send('Target.createTarget', { url: 'about:blank' })).targetId as string
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true }) as { sessionId: string }
    const network: NetNote[] = []
    const urls = new Map<string, string>()
    const raw = new Map<string, number>() // status seen on the wire, even when CORS hides the response
    cdp.onEvent((method, p, sid) => {
      if (sid !== sessionId) return
      if (method === 'Network.requestWillBeSent') urls.set(p.requestId, p.request.url)
      else if (method === 'Network.responseReceivedExtraInfo') raw.set(p.requestId, p.statusCode)
      else if (method === 'Network.responseReceived' && p.type !== 'Document' && !String(p.response.url).endsWith('/favicon.ico')) network.push({ url: p.response.url, status: p.response.status })
      else if (method === 'Network.loadingFailed' && p.type !== 'Document') {
        const why = [raw.has(p.requestId) ? `got ${String(raw.get(p.requestId))}` : '', p.errorText, p.blockedReason, p.corsErrorStatus?.corsError]
          .filter((x: unknown) => typeof x === 'string' && x !== '').join('/')
        network.push({ url: urls.get(p.requestId) ?? '?', failed: why })
      }
    })
    await cdp.send('Network.enable', {}, sessionId)
    await cdp.send('Page.enable', {}, sessionId)
    const nav = await cdp.send('Page.navigate', { url: pageUrl }, sessionId)
    if (typeof nav.errorText === 'string' && nav.errorText !== '') return { value: `ERR page did not load: ${nav.errorText}`, network }
    // Poll for the page's promise (set by its inline script), then await it, all in the page.
    const expr = `(async () => {
      const end = Date.now() + ${timeoutMs};
      while (window.__hedge === undefined) { if (Date.now() > end) return 'ERR page script never ran'; await new Promise(r => setTimeout(r, 50)) }
      return await Promise.race([Promise.resolve(window.__hedge).then(String, e => 'ERR ' + e), new Promise(r => setTimeout(() => r('ERR page script timed out'), Math.max(0, end - Date.now())))])
    })()`
    const r = await cdp.send('Runtime.evaluate', { expression: expr, awaitPromise: true, returnByValue: true }, sessionId)
    const value = r.exceptionDetails !== undefined ? `ERR ${String(r.exceptionDetails.text)}` : String(r.result?.value)
    return { value, network }
  } finally {
    if (targetId !== undefined) await cdp.send('Target.closeTarget', { targetId }).catch(() => {})
    cdp.close()
  }
}

/** Page script helper: a fetch whose outcome is a string, never a rejection (bounded). */
export const PAGE_FETCH_JS = `async function hedgeFetch (url, init) {
  try {
    const r = await fetch(url, { ...init, signal: AbortSignal.timeout(15000) });
    let body = '';
    try { body = await r.text() } catch (e) { body = '(unreadable)' }
    return 'OK ' + r.status + ' ' + r.type + ' ' + body.slice(0, 8000);
  } catch (e) { return 'ERR ' + e.message }
}`

export interface VictimBrowser {
  /** The victim Chromium's DevTools (harness only). */
  readonly url: string
  close: () => Promise<void>
}

let shared: Promise<ChromiumSupervisor> | undefined

/** The shared victim browser, started on first use (no proxy: a user's ordinary browser). */
export function victimBrowser (logger: Logger = silentLogger): Promise<VictimBrowser> {
  shared ??= startChromium({ port: 0, agent: agentIdentity(), logger, readyTimeoutMs: 60_000 })
  const mine = shared
  mine.catch(() => { if (shared === mine) shared = undefined })
  return mine.then(c => ({ url: c.url, close: closeVictimBrowser }))
}

/** Stop the shared victim browser if it was started (idempotent). */
export async function closeVictimBrowser (): Promise<void> {
  const s = shared
  shared = undefined
  if (s === undefined) return
  const c = await s.catch(() => undefined)
  await c?.stop()
}
