// A small DevTools client for the comparison's CDP attacks and workflows: discovery over
// HTTP, one WebSocket per connection, flat sessions, and a timeout on every call and every
// wait (a hang is an outcome, never a stuck run). Raw frames can be sent as written, for
// the evasion attacks. It only ever talks to the URLs it is given (loopback in the harness).
import WebSocket from 'ws'
import { waitUntil } from '../util/wait.ts'
import { bounded as boundedBy } from '../util/bounded.ts'

export const CALL_TIMEOUT_MS = 15_000

/** A CDP error answer ({id, error}); the message carries the gateway's [rule] when it refused. */
export class CdpCallError extends Error {
  constructor (readonly method: string, readonly code: number, message: string) {
    super(`${method}: ${message}`)
    this.name = 'CdpCallError'
  }
}

/** util/bounded with the harness's default call timeout. */
export async function bounded<T> (what: string, p: Promise<T>, ms = CALL_TIMEOUT_MS): Promise<T> {
  return await boundedBy(what, p, ms)
}

export function authHeaders (token: string | null): Record<string, string> {
  return token === null ? {} : { authorization: `Bearer ${token}` }
}

export interface HttpAnswer { readonly status: number, readonly text: string, readonly json: any }

/** One HTTP request with a deadline; the answer's JSON when it parses. */
export async function httpCall (
  url: string, o: { method?: string, headers?: Record<string, string>, body?: unknown, timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const init: RequestInit = {
    method: o.method ?? 'GET',
    headers: { ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers },
    signal: AbortSignal.timeout(o.timeoutMs ?? CALL_TIMEOUT_MS),
  }
  if (o.body !== undefined) init.body = JSON.stringify(o.body)
  const res = await fetch(url, init)
  const text = await res.text()
  let json: any
  try { json = JSON.parse(text) } catch { json = undefined }
  return { status: res.status, text, json }
}

/** "401 HEDGE_AUTH_MISSING" style summary of a refused HTTP answer. */
export function describeAnswer (a: HttpAnswer): string {
  const code = typeof a.json?.code === 'string' ? ` ${String(a.json.code)}` : ''
  const msg = typeof a.json?.message === 'string' ? ` (${String(a.json.message)})` : a.json === undefined ? ` ${a.text.slice(0, 80)}` : ''
  return `${a.status}${code}${msg}`
}

/** The browser-level WebSocket URL from `<base>/json/version` (sending the token header). */
export async function browserWsUrl (cdpBase: string, token: string | null, timeoutMs = CALL_TIMEOUT_MS): Promise<string> {
  const a = await httpCall(`${cdpBase}/json/version`, { headers: authHeaders(token), timeoutMs })
  const ws = a.json?.webSocketDebuggerUrl
  if (a.status !== 200 || typeof ws !== 'string') throw new Error(`discovery /json/version refused: ${describeAnswer(a)}`)
  return ws
}

export interface CdpReply {
  id?: number
  result?: any
  error?: { code: number, message: string }
  sessionId?: string
  method?: string
  params?: any
}

export interface CdpConnection {
  /** Send a command; resolves with its result, rejects with CdpCallError or a timeout. */
  send: <T = any>(method: string, params?: object, sessionId?: string, timeoutMs?: number) => Promise<T>
  /** Send a frame exactly as written; resolves with the reply carrying `id` (error or result). */
  sendRaw: (text: string, id: number, timeoutMs?: number) => Promise<CdpReply>
  /** The params of the next event `method` (optionally matching `pred`), within the timeout. */
  event: <T = any>(method: string, pred?: (params: T, sessionId: string | undefined) => boolean, timeoutMs?: number) => Promise<T>
  /** Call `fn` for every event until the returned function is called. */
  onEvent: (fn: (method: string, params: any, sessionId: string | undefined) => void) => () => void
  /** Resolves with the close code once the socket closes. */
  readonly closed: Promise<number>
  isOpen: () => boolean
  close: () => void
}

/** Open a DevTools WebSocket. `headers` go on the upgrade; no Origin is sent (as automation clients do). */
export async function cdpConnect (wsUrl: string, o: { headers?: Record<string, string>, timeoutMs?: number } = {}): Promise<CdpConnection> {
  const timeoutMs = o.timeoutMs ?? CALL_TIMEOUT_MS
  const ws = new WebSocket(wsUrl, {
    perMessageDeflate: false, handshakeTimeout: timeoutMs, headers: o.headers ?? {}, maxPayload: 512 * 1024 * 1024,
  })
  await bounded(`connect ${new URL(wsUrl).pathname}`, new Promise<void>((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
    ws.once('unexpected-response', (req, res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { req.destroy(); reject(new Error(`upgrade refused: ${res.statusCode ?? 0} ${Buffer.concat(chunks).toString('utf8').slice(0, 200)}`)) })
      res.on('error', () => { reject(new Error(`upgrade refused: ${res.statusCode ?? 0}`)) })
    })
  }), timeoutMs + 1000).catch((err: unknown) => { ws.terminate(); throw err })
  let nextId = 1
  const pending = new Map<number, (msg: CdpReply) => void>()
  const listeners = new Set<(msg: CdpReply) => void>()
  // Raw frames the far end could not read back an id from are answered with another id
  // (a refusal with id 0): such an error goes to the oldest raw frame still waiting.
  const rawWaiting: number[] = []
  const closed = new Promise<number>(resolve => { ws.once('close', code => { resolve(code) }) })
  ws.on('message', (data, isBinary) => {
    if (isBinary) return
    let msg: CdpReply
    try { msg = JSON.parse(data.toString()) as CdpReply } catch { return }
    if (typeof msg.id === 'number') {
      const p = pending.get(msg.id) ?? (msg.error !== undefined && rawWaiting.length > 0 ? pending.get(rawWaiting[0] as number) : undefined)
      p?.(msg)
    } else for (const l of listeners) l(msg)
  })
  ws.on('error', () => { /* surfaced as timeouts or as the close */ })
  void closed.then(() => { for (const [id, p] of pending) p({ id, error: { code: -1, message: 'connection closed' } }) })

  const waitReply = (id: number, what: string, ms: number): Promise<CdpReply> => {
    if (ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error(`${what}: connection is closed`))
    return bounded(what, new Promise<CdpReply>(resolve => { pending.set(id, resolve) }), ms).finally(() => { pending.delete(id) })
  }
  return {
    async send<T = any> (method: string, params: object = {}, sessionId?: string, ms = timeoutMs): Promise<T> {
      const id = nextId++
      const reply = waitReply(id, method, ms)
      ws.send(JSON.stringify({ id, method, params, ...(sessionId !== undefined ? { sessionId } : {}) }))
      const msg = await reply
      if (msg.error !== undefined) throw new CdpCallError(method, msg.error.code, msg.error.message)
      return msg.result as T
    },
    async sendRaw (text: string, id: number, ms = timeoutMs): Promise<CdpReply> {
      const reply = waitReply(id, `raw frame ${text.slice(0, 60)}`, ms)
      rawWaiting.push(id)
      ws.send(text)
      try { return await reply } finally { rawWaiting.splice(rawWaiting.indexOf(id), 1) }
    },
    event<T = any> (method: string, pred: (params: T, sessionId: string | undefined) => boolean = () => true, ms = timeoutMs): Promise<T> {
      let l: ((msg: CdpReply) => void) | undefined
      return bounded(`event ${method}`, new Promise<T>(resolve => {
        l = msg => { if (msg.method === method && pred(msg.params as T, msg.sessionId)) resolve(msg.params as T) }
        listeners.add(l)
      }), ms).finally(() => { if (l !== undefined) listeners.delete(l) })
    },
    onEvent (fn) {
      const l = (msg: CdpReply): void => { if (typeof msg.method === 'string') fn(msg.method, msg.params, msg.sessionId) }
      listeners.add(l)
      return () => { listeners.delete(l) }
    },
    closed,
    isOpen: () => ws.readyState === WebSocket.OPEN,
    close: () => { ws.terminate() },
  }
}

/** Discover the browser endpoint at `cdpBase` and connect to it with `token`. */
export async function connectBrowser (cdpBase: string, token: string | null, timeoutMs = CALL_TIMEOUT_MS): Promise<CdpConnection> {
  const url = await browserWsUrl(cdpBase, token, timeoutMs)
  return await cdpConnect(url, { headers: authHeaders(token), timeoutMs })
}

/**
 * The harness never lets Chromium leave the machine: what it hands the browser is
 * about:blank, a file: URL or an http(s) URL on a loopback address (in any spelling).
 */
export function assertLocal (url: string): void {
  const u = new URL(url)
  if (u.protocol === 'file:' || u.href === 'about:blank') return
  const host = u.hostname
  const loopback = host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]' || host === '[::ffff:7f00:1]'
  if (!['http:', 'https:'].includes(u.protocol) || !loopback) throw new Error(`refusing to send the browser to ${url}: loopback only`)
}

export interface PageHandle { readonly targetId: string, readonly sessionId: string }

/** A new page target (about:blank) with a flat session on it. */
export async function openPage (c: CdpConnection, url = 'about:blank'): Promise<PageHandle> {
  assertLocal(url)
  const { targetId } = await c.send<{ targetId: string }>('Target.createTarget', { url })
  try {
    const { sessionId } = await c.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true })
    return { targetId, sessionId }
  } catch (err) {
    await c.send('Target.closeTarget', { targetId }).catch(() => {})
    throw err
  }
}

/** Close a page target (best effort: a refused or broken connection must not mask the outcome). */
export async function closePage (c: CdpConnection, p: PageHandle | undefined): Promise<void> {
  if (p === undefined || !c.isOpen()) return
  await c.send('Target.closeTarget', { targetId: p.targetId }, undefined, 5000).catch(() => {})
}

/** Runtime.evaluate by value; rejects on a thrown exception. */
export async function evaluate<T = unknown> (
  c: CdpConnection, sessionId: string | undefined, expression: string, o: { awaitPromise?: boolean, timeoutMs?: number } = {},
): Promise<T> {
  const r = await c.send<{ result: { value?: unknown }, exceptionDetails?: { text?: string, exception?: { description?: string } } }>(
    'Runtime.evaluate', { expression, returnByValue: true, awaitPromise: o.awaitPromise ?? false }, sessionId, o.timeoutMs)
  if (r.exceptionDetails !== undefined) throw new Error(`evaluate: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text ?? 'exception'}`)
  return r.result.value as T
}

/**
 * Page.navigate, then wait until the document at the new URL finished loading (polled with
 * Runtime.evaluate: no Page events needed). Rejects on a navigation error or a timeout.
 */
export async function navigate (c: CdpConnection, sessionId: string, url: string, timeoutMs = CALL_TIMEOUT_MS): Promise<void> {
  assertLocal(url)
  const r = await c.send<{ errorText?: string }>('Page.navigate', { url }, sessionId, timeoutMs)
  if (r.errorText !== undefined && r.errorText !== '') throw new Error(`Page.navigate ${url}: ${r.errorText}`)
  await waitUntil(`${url} to load`, async () => {
    const s = await evaluate<string>(c, sessionId, 'document.readyState + " " + location.href', { timeoutMs: 5000 })
    return s.startsWith('complete ') && !s.endsWith(' about:blank')
  }, timeoutMs, 100)
}

/** Page titles as Chromium itself lists them (oracle view: pass the internal endpoint). */
export async function pageTitles (chromiumBase: string): Promise<string[]> {
  const a = await httpCall(`${chromiumBase}/json/list`, { timeoutMs: 5000 })
  if (!Array.isArray(a.json)) throw new Error(`/json/list: ${describeAnswer(a)}`)
  return (a.json as Array<{ type?: string, title?: string }>).filter(t => t.type === 'page').map(t => String(t.title ?? ''))
}

/** One line of an error, for evidence: a gateway refusal shrinks to the rule it names. */
export function reason (err: unknown): string {
  const m = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ')
  const rule = /\[([A-Za-z0-9_.:*-]+)\]\s*$/.exec(m)
  if (rule !== null && m.includes('hedge: ')) return `refused [${rule[1] ?? ''}]`
  return m.slice(0, 240)
}
