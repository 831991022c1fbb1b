// Forward one request to the kernel server: the request target byte-exact (no URL
// normalisation: with the routes layer off the gateway must be as transparent as a wire,
// and with it on the target was already checked in exactly this form), the headers the
// chain decided (kernel/headers.ts), the body it decided.
import { Agent, request, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { HedgeError } from '../errors/codes.ts'

export interface Upstream {
  readonly agent: Agent
  /** No keep-alive: a retry always goes out on a fresh connection. */
  readonly fresh: Agent
  readonly host?: string
  readonly port?: number
  readonly socketPath?: string
  /** When each pooled socket last finished an exchange (ms), to tell how long it sat idle. */
  readonly lastUsed: WeakMap<Socket, number>
}

/**
 * Idle time after which the agent drops a pooled socket. The documented kernel server
 * (uvicorn 0.17.6) closes idle keep-alive connections after 5 s; a request written at that
 * moment is reset before uvicorn reads it (→ 502; reproduced by
 * test/integration/kernel-front-keepalive-race.test.ts). Dropping ours after 4 s means we
 * never pick a socket the server is about to close, barring an event loop stalled for a second.
 */
const UPSTREAM_IDLE_MS = 4_000

export interface UpstreamOptions { idleMs?: number }

export function createUpstream (upstream: string, o: UpstreamOptions = {}): Upstream {
  const idleMs = o.idleMs ?? UPSTREAM_IDLE_MS
  const lastUsed = new WeakMap<Socket, number>()
  // Keep-alive only over unix sockets. Over TCP, the documented kernel server (uvicorn
  // 0.17.6) writes headers and body separately, and on a reused connection Nagle's
  // algorithm meets the client's delayed ACK: ~45 ms per request, against ~3 ms on a fresh
  // loopback connection (measured here). The sandbox is the reference and stays as it is.
  // Agent `timeout` (Node 20): the idle timeout of a pooled socket; an active request keeps
  // its own `timeout` below (measured: a 2.5 s answer on an agent with timeout 1 s completes).
  const fresh = new Agent({ keepAlive: false, maxSockets: 256 })
  if (upstream.startsWith('unix:')) return { agent: new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 32, timeout: idleMs }), fresh, socketPath: upstream.slice(5), lastUsed }
  const agent = new Agent({ keepAlive: false, maxSockets: 256 })
  const u = new URL(upstream)
  if (u.protocol !== 'http:') throw new Error(`kernel upstream must be http://HOST:PORT or unix:/path, got ${upstream}`)
  return { agent, fresh, host: u.hostname, port: Number(u.port === '' ? 80 : u.port), lastUsed }
}

export interface ForwardRequest {
  method: string, target: string, headers: IncomingHttpHeaders, body: Buffer | undefined, timeoutMs: number
  /** Told when a failed attempt is sent again (for the log). */
  onRetry?: (code: string | undefined) => void
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS'])
/** A pooled socket idle at least this long may have met the server's idle close (5 s; ours drop at 4 s). */
const RACE_MIN_IDLE_MS = 2_000
/** ...and the reset came this soon after our write: the server hung up, it did not work and die. */
const RACE_MAX_FAIL_MS = 250

interface Attempt { readonly res?: IncomingMessage, readonly err?: Error, readonly retryable: boolean }

/**
 * Whether a failed attempt may be sent again. Only a failure on a REUSED socket, before any
 * byte of an answer, that is a reset or a broken pipe (ECONNRESET, incl. node's "socket hang
 * up", or EPIPE): the signature of writing into a keep-alive connection the server is
 * closing. GET/HEAD/OPTIONS are safe to repeat anyway. Anything else (POST /kernel/execute,
 * /kernel/reset, /kernel/interrupt) must never run twice, so it is retried only when it
 * cannot have run: the server's idle close (uvicorn: h11 keep-alive timeout) fires only
 * while no request bytes have been read on the connection — reading them cancels it — and
 * closing with unread bytes discards them; so a reset on a socket that sat idle near that
 * timeout and that came right after our write means the request was never read. A server
 * that read the request and then died fails the same way only if it died within
 * RACE_MAX_FAIL_MS; the retry then meets a dead server (refused), not a second execution.
 */
function retryable (method: string, req: ClientRequest, err: NodeJS.ErrnoException, idleMs: number, failMs: number): boolean {
  if (!req.reusedSocket) return false
  if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') return false
  if (IDEMPOTENT.has(method)) return true
  return idleMs >= RACE_MIN_IDLE_MS && failMs <= RACE_MAX_FAIL_MS
}

function attempt (up: Upstream, r: ForwardRequest, agent: Agent): Promise<Attempt> {
  return new Promise(resolve => {
    const headers = { ...r.headers }
    if (r.body !== undefined) headers['content-length'] = String(r.body.length)
    else if (r.method !== 'GET' && r.method !== 'HEAD') headers['content-length'] = '0'
    else delete headers['content-length']
    let answered = false
    let idleMs = 0
    let sentAt = Date.now()
    const req = request({
      agent,
      ...(up.socketPath !== undefined ? { socketPath: up.socketPath } : { host: up.host, port: up.port }),
      method: r.method,
      path: r.target,
      headers,
      setHost: false,
      timeout: r.timeoutMs,
    }, res => {
      answered = true
      const s = res.socket
      res.once('end', () => { if (s !== null) up.lastUsed.set(s, Date.now()) })
      resolve({ res, retryable: false })
    })
    req.once('socket', (s: Socket) => {
      sentAt = Date.now()
      const last = up.lastUsed.get(s)
      idleMs = last === undefined ? 0 : sentAt - last
    })
    req.on('timeout', () => { req.destroy(new HedgeError('HEDGE_UPSTREAM_TIMEOUT', undefined, 'upstream.timeout')) })
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (answered) return // the response stream reports its own errors
      resolve({ err, retryable: !(err instanceof HedgeError) && retryable(r.method, req, err, idleMs, Date.now() - sentAt) })
    })
    req.end(r.body)
  })
}

/** Resolves with the upstream response; rejects with HEDGE_UPSTREAM_UNAVAILABLE / _TIMEOUT. */
export async function forward (up: Upstream, r: ForwardRequest): Promise<IncomingMessage> {
  let a = await attempt(up, r, up.agent)
  if (a.err !== undefined && a.retryable) {
    r.onRetry?.((a.err as NodeJS.ErrnoException).code)
    a = await attempt(up, r, up.fresh) // once, on a new connection
  }
  if (a.res !== undefined) return a.res
  const err = a.err as Error
  throw err instanceof HedgeError ? err : Object.assign(new HedgeError('HEDGE_UPSTREAM_UNAVAILABLE', undefined, 'upstream.unavailable'), { cause: err })
}
