// A supervised Chromium for a test (OS-chosen port, runs as the agent when root) torn
// down afterwards, plus a minimal CDP client with a timeout on every call. Loopback only.
import WebSocket from 'ws'
import { agentIdentity } from '../../src/sandbox/agent-user.ts'
import { startChromium, type ChromiumOptions, type ChromiumSupervisor } from '../../src/sandbox/chromium.ts'
import { startForwarder, type Forwarder } from '../../src/sandbox/forwarder.ts'
import { silentLogger } from '../../src/logger.ts'

type Teardown = { teardown (fn: () => unknown): void }

/**
 * Start Chromium on port 0 as the agent; stopped (no process left) at teardown. It does not
 * keep the test process alive, so a file with only top-level asserts still ends on its own.
 */
export async function startTestChromium (t: Teardown, opts: Partial<ChromiumOptions> = {}): Promise<ChromiumSupervisor> {
  const chromium = await startChromium({ port: 0, agent: agentIdentity(), logger: silentLogger, readyTimeoutMs: 60_000, keepAlive: false, ...opts })
  t.teardown(() => chromium.stop())
  return chromium
}

/** The baseline 9223 forwarder (on 127.0.0.1:0) in front of `chromium`; closed at teardown. */
export async function startTestForwarder (t: Teardown, chromium: { url: string }): Promise<Forwarder> {
  const fwd = await startForwarder({ host: '127.0.0.1', port: 0, upstream: () => chromium.url, logger: silentLogger })
  t.teardown(() => fwd.close())
  return fwd
}

export interface CdpClient {
  send<T = any> (method: string, params?: object, sessionId?: string): Promise<T>
  /** Resolves with the params of the next event named `method` (optionally matching `pred`). */
  event<T = any> (method: string, pred?: (params: T) => boolean): Promise<T>
  /** Resolves when the socket closes (from either side). */
  readonly closed: Promise<void>
  close (): void
}

export const CDP_TIMEOUT_MS = 20_000

/** Connect to a CDP WebSocket; `origin`/`headers` go on the upgrade. */
export async function cdpConnect (url: string, o: { origin?: string, headers?: Record<string, string> } = {}): Promise<CdpClient> {
  const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: CDP_TIMEOUT_MS, ...(o.origin !== undefined ? { origin: o.origin } : {}), headers: o.headers ?? {} })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
    ws.once('unexpected-response', (req, res) => { req.destroy(); reject(new Error(`upgrade refused: ${res.statusCode ?? 0}`)) })
  })
  let nextId = 1
  const pending = new Map<number, (msg: any) => void>()
  const listeners = new Set<(msg: any) => void>()
  ws.on('message', data => {
    const msg = JSON.parse(data.toString())
    if (typeof msg.id === 'number') pending.get(msg.id)?.(msg)
    else for (const l of listeners) l(msg)
  })
  ws.on('error', () => { /* surfaced as timeouts or close */ })
  const closed = new Promise<void>(resolve => { ws.once('close', () => { resolve() }) })
  const withTimeout = <T>(what: string, p: (done: (v: T) => void, fail: (e: Error) => void) => () => void): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new Error(`${what} timed out`)) }, CDP_TIMEOUT_MS)
      const cleanup = p(v => { clearTimeout(timer); cleanup(); resolve(v) }, e => { clearTimeout(timer); cleanup(); reject(e) })
    })
  return {
    send (method, params = {}, sessionId) {
      const id = nextId++
      ws.send(JSON.stringify({ id, method, params, ...(sessionId !== undefined ? { sessionId } : {}) }))
      return withTimeout(method, (done, fail) => {
        pending.set(id, msg => { msg.error !== undefined ? fail(new Error(`${method}: ${msg.error.message}`)) : done(msg.result) })
        return () => pending.delete(id)
      })
    },
    event (method, pred = () => true) {
      return withTimeout(`event ${method}`, done => {
        const l = (msg: any): void => { if (msg.method === method && pred(msg.params)) done(msg.params) }
        listeners.add(l)
        return () => listeners.delete(l)
      })
    },
    closed,
    close () { ws.terminate() },
  }
}

/** Evaluate `expression` in the first page target reachable from a browser CDP URL (flat session). */
export async function evaluateInPage (browserWsUrl: string, expression: string, o: { origin?: string } = {}): Promise<unknown> {
  const cdp = await cdpConnect(browserWsUrl, o)
  try {
    const { targetInfos } = await cdp.send<{ targetInfos: Array<{ targetId: string, type: string }> }>('Target.getTargets')
    const page = targetInfos.find(ti => ti.type === 'page')
    if (page === undefined) throw new Error('no page target')
    const { sessionId } = await cdp.send<{ sessionId: string }>('Target.attachToTarget', { targetId: page.targetId, flatten: true })
    const { result } = await cdp.send<{ result: { value: unknown } }>('Runtime.evaluate', { expression, returnByValue: true }, sessionId)
    return result.value
  } finally { cdp.close() }
}

/** Status of a WebSocket upgrade attempt (101 when accepted). */
export function upgradeStatus (url: string, o: { origin?: string, headers?: Record<string, string> } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: CDP_TIMEOUT_MS, ...(o.origin !== undefined ? { origin: o.origin } : {}), headers: o.headers ?? {} })
    ws.once('open', () => { ws.terminate(); resolve(101) })
    ws.once('unexpected-response', (req, res) => { req.destroy(); resolve(res.statusCode ?? 0) })
    ws.once('error', reject)
  })
}

/** Page targets (type "page") as /json/list shows them. */
export async function pageTargets (httpUrl: string): Promise<Array<{ id: string, url: string, webSocketDebuggerUrl: string }>> {
  const res = await fetch(`${httpUrl}/json/list`, { signal: AbortSignal.timeout(CDP_TIMEOUT_MS) })
  return ((await res.json()) as Array<{ id: string, type: string, url: string, webSocketDebuggerUrl: string }>).filter(x => x.type === 'page')
}
