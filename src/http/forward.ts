// Forward one request to the kernel server: the request target byte-exact (no URL
// normalisation: with the routes layer off the gateway must be as transparent as a wire,
// and with it on the target was already checked in exactly this form), the headers the
// chain decided, the body it decided. Hop-by-hop headers, including any a client names
// in Connection, are dropped before the chain's own rewrite (RFC 9110 §7.6.1), so a client
// cannot remove a header the gateway adds.
import { Agent, request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { HedgeError } from '../errors.ts'

export interface Upstream { readonly agent: Agent, readonly host?: string, readonly port?: number, readonly socketPath?: string }

const HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate']

export function createUpstream (upstream: string): Upstream {
  // Keep-alive only over unix sockets. Over TCP, the documented kernel server (uvicorn
  // 0.17.6) writes headers and body separately, and on a reused connection Nagle's
  // algorithm meets the client's delayed ACK: ~45 ms per request, against ~3 ms on a fresh
  // loopback connection (measured here). The sandbox is the reference and stays as it is.
  if (upstream.startsWith('unix:')) return { agent: new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 32 }), socketPath: upstream.slice(5) }
  const agent = new Agent({ keepAlive: false, maxSockets: 256 })
  const u = new URL(upstream)
  if (u.protocol !== 'http:') throw new Error(`kernel upstream must be http://HOST:PORT or unix:/path, got ${upstream}`)
  return { agent, host: u.hostname, port: Number(u.port === '' ? 80 : u.port) }
}

/** The client's headers less hop-by-hop ones and those its Connection header names. */
export function endToEndHeaders (h: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = { ...h }
  const named = typeof h.connection === 'string' ? h.connection.split(',').map(s => s.trim().toLowerCase()).filter(Boolean) : []
  for (const k of [...HOP, ...named]) delete out[k]
  return out
}

export function endToEndResponseHeaders (h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  const named = typeof h.connection === 'string' ? h.connection.split(',').map(s => s.trim().toLowerCase()) : []
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.includes(k) && !named.includes(k)) out[k] = v
  return out
}

export interface ForwardRequest { method: string, target: string, headers: IncomingHttpHeaders, body: Buffer | undefined, timeoutMs: number }

/** Resolves with the upstream response; rejects with HEDGE_UPSTREAM_UNAVAILABLE / _TIMEOUT. */
export function forward (up: Upstream, r: ForwardRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers = { ...r.headers }
    if (r.body !== undefined) headers['content-length'] = String(r.body.length)
    else if (r.method !== 'GET' && r.method !== 'HEAD') headers['content-length'] = '0'
    else delete headers['content-length']
    const req = request({
      agent: up.agent,
      ...(up.socketPath !== undefined ? { socketPath: up.socketPath } : { host: up.host, port: up.port }),
      method: r.method,
      path: r.target,
      headers,
      setHost: false,
      timeout: r.timeoutMs,
    }, resolve)
    req.on('timeout', () => { req.destroy(new HedgeError('HEDGE_UPSTREAM_TIMEOUT', undefined, 'upstream.timeout')) })
    req.on('error', err => { reject(err instanceof HedgeError ? err : Object.assign(new HedgeError('HEDGE_UPSTREAM_UNAVAILABLE', undefined, 'upstream.unavailable'), { cause: err })) })
    req.end(r.body)
  })
}
