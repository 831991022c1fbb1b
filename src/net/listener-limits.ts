// Bounds on connections for every listener (kernel front, CDP front, admin, egress guard):
// issue 9, item 8 — silent sockets held open pinned the process at its descriptor limit.
//
// What Node 20's http server already does, measured here (test/integration/listener-*.test.ts):
//  - `headersTimeout` counts from the moment the connection is accepted, so it also closes a
//    connection that never sends a byte (408, then destroy), and a slowloris that never
//    finishes its headers. `requestTimeout` bounds the whole request, body included.
//    Both are enforced by a sweep every `connectionsCheckingInterval` ms; the sweep's timer
//    is created on 'listening', so these must be set BEFORE listen() (we refuse otherwise).
//    Fastify sets requestTimeout 0 and keepAliveTimeout 72 s: we overwrite both.
//  - `keepAliveTimeout` closes an idle kept-alive connection (node adds ~1 s of grace).
//  - `maxConnections` makes node destroy any connection beyond it at once ('drop' event).
//  - Upgraded (WebSocket) and CONNECT sockets leave the server's bookkeeping: their own
//    idle timeouts are the CDP relay's and the egress tunnel's business.
// What it does not do, and this module adds:
//  - a cap per source address (IPv4-mapped IPv6 counts as the IPv4 address);
//  - on TLS listeners, a silent TCP connection never reaches the HTTP layer (it stays in the
//    handshake, 120 s by default): we destroy a raw socket whose handshake has not finished
//    within headersTimeoutMs.
// Refusals are logged (at most once a second per listener, with a count) and counted.
import type { Server as HttpServer } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Logger } from '../logger.ts'
import { metrics } from '../metrics.ts'

export interface ListenerLimits {
  /** A connection must complete its request headers (and TLS handshake) within this time of being accepted; also between keep-alive requests. */
  readonly headersTimeoutMs: number
  /** A request (headers and body) must be received completely within this time. */
  readonly requestTimeoutMs: number
  /** An idle keep-alive connection is closed after this time. */
  readonly keepAliveTimeoutMs: number
  /** Connections open at once on this listener; more are closed at once. */
  readonly maxConnections: number
  /** Connections open at once from one source address; more are closed at once. */
  readonly maxConnectionsPerSource: number
  /** How often node sweeps for expired headers/requests (default: a quarter of headersTimeoutMs, 100 ms .. 5 s). */
  readonly checkIntervalMs?: number
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
  maxConnectionsPerSource: 256,
}

export interface ListenerGuard {
  /** Open connections by source address (for tests and metrics). */
  readonly perSource: ReadonlyMap<string, number>
  readonly open: () => number
}

type AnyServer = HttpServer | HttpsServer

/** '::ffff:127.0.0.2' → '127.0.0.2'; undefined (socket already gone) → ''. */
export function sourceOf (address: string | undefined): string {
  if (address === undefined) return ''
  return address.toLowerCase().startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

function checkLimits (l: ListenerLimits): void {
  for (const k of ['headersTimeoutMs', 'requestTimeoutMs', 'keepAliveTimeoutMs', 'maxConnections', 'maxConnectionsPerSource'] as const) {
    if (!Number.isInteger(l[k]) || l[k] < 1) throw new TypeError(`listener limits: ${k} must be a positive integer, got ${String(l[k])}`)
  }
  if (l.headersTimeoutMs > l.requestTimeoutMs) throw new TypeError('listener limits: headersTimeoutMs must not exceed requestTimeoutMs')
}

/**
 * Apply `limits` to an http/https server that is not listening yet. One call per listener:
 *   guardListener(server, limits, logger, 'cdp')
 */
export function guardListener (server: AnyServer, limits: ListenerLimits, logger: Logger, name: string): ListenerGuard {
  checkLimits(limits)
  if (server.listening) throw new Error(`guardListener(${name}): call it before listen() (node arms its timeout sweep on 'listening')`)
  server.headersTimeout = limits.headersTimeoutMs
  server.requestTimeout = limits.requestTimeoutMs
  server.keepAliveTimeout = limits.keepAliveTimeoutMs
  server.maxConnections = limits.maxConnections
  // A documented constructor option that node keeps as a plain public property and reads on 'listening'.
  ;(server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval =
    limits.checkIntervalMs ?? Math.min(5_000, Math.max(100, Math.floor(limits.headersTimeoutMs / 4)))

  const perSource = new Map<string, number>()
  let refused = 0
  let lastLog = 0
  const refuse = (rule: string, source: string): void => {
    metrics.inc('hedge_connections_refused_total', { listener: name, rule })
    refused++
    const now = Date.now()
    if (now - lastLog >= 1000) {
      logger.warn({ event: 'deny', layer: 'listener', listener: name, rule, source, refused }, `connection refused by ${rule}`)
      lastLog = now
      refused = 0
    }
  }

  server.on('drop', (d?: { remoteAddress?: string }) => { refuse('listen.maxConnections', sourceOf(d?.remoteAddress)) })

  const tls = typeof (server as { setSecureContext?: unknown }).setSecureContext === 'function'
  const handshakes = new Map<string, NodeJS.Timeout>() // `${address}|${port}` of raw sockets still in the TLS handshake

  server.on('connection', (socket: Socket) => {
    const source = sourceOf(socket.remoteAddress)
    if (source === '') { socket.destroy(); return }
    const n = (perSource.get(source) ?? 0) + 1
    if (n > limits.maxConnectionsPerSource) {
      socket.destroy()
      refuse('listen.maxConnectionsPerSource', source)
      return
    }
    perSource.set(source, n)
    let key: string | undefined
    if (tls) {
      key = `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`
      const k = key
      const timer = setTimeout(() => {
        handshakes.delete(k)
        metrics.inc('hedge_connections_closed_total', { listener: name, rule: 'listen.headersTimeout(tls-handshake)' })
        socket.destroy()
      }, limits.headersTimeoutMs)
      timer.unref()
      handshakes.set(k, timer)
    }
    socket.once('close', () => {
      const m = (perSource.get(source) ?? 1) - 1
      if (m <= 0) perSource.delete(source)
      else perSource.set(source, m)
      if (key !== undefined) { clearTimeout(handshakes.get(key)); handshakes.delete(key) }
    })
  })
  if (tls) {
    // The TLS socket has the raw socket's peer address and port: that pair names the connection.
    server.on('secureConnection', (s: TLSSocket) => {
      const key = `${s.remoteAddress ?? ''}|${s.remotePort ?? ''}`
      clearTimeout(handshakes.get(key))
      handshakes.delete(key)
    })
  }
  server.once('close', () => { for (const t of handshakes.values()) clearTimeout(t); handshakes.clear() })

  return {
    perSource,
    open: () => { let s = 0; for (const v of perSource.values()) s += v; return s },
  }
}

/** The policy's `listen.connections` as ListenerLimits. */
export function listenerLimitsFromPolicy (c: { headersTimeoutMs: number, requestTimeoutMs: number, keepAliveTimeoutMs: number, maxConnections: number, maxConnectionsPerSource: number }): ListenerLimits {
  return {
    headersTimeoutMs: c.headersTimeoutMs,
    requestTimeoutMs: Math.max(c.requestTimeoutMs, c.headersTimeoutMs),
    keepAliveTimeoutMs: c.keepAliveTimeoutMs,
    maxConnections: c.maxConnections,
    maxConnectionsPerSource: c.maxConnectionsPerSource,
  }
}
