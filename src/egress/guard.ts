// The browser egress guard (default :13128): the forward proxy Chromium uses in hedged
// deployments (--proxy-server, with --proxy-bypass-list=<-loopback> so loopback goes
// through it too). Absolute-form HTTP requests and CONNECT tunnels (HTTPS, WebSockets).
// A page's own JavaScript (fetch to 127.0.0.1:8888, a redirect, a name resolving to a
// private address) is invisible to any CDP filter; here it is refused, after DNS, and
// the connection goes to the very address that was checked: no second resolution.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { lookup as dnsLookup } from 'node:dns/promises'
import type { Duplex } from 'node:stream'
import type { CompiledPolicy } from '../policy/compile.ts'
import type { Logger } from '../logger.ts'
import { metrics } from '../metrics.ts'
import type { ErrorCode } from '../errors/codes.ts'
import { compileEgressPolicy, type EgressTarget } from './decide.ts'
import { guardListener, listenerLimitsFromPolicy } from '../net/listener-limits.ts'
import { isHopByHop } from '../net/hop.ts'

export type Resolver = (host: string) => Promise<string[]>
export const systemResolver: Resolver = async host => (await dnsLookup(host, { all: true, verbatim: true })).map(a => a.address)

export interface EgressGuardOptions { compiled: CompiledPolicy, host?: string, port?: number, logger: Logger, resolve?: Resolver }
export interface EgressGuard { readonly url: string, readonly port: number, close: () => Promise<void> }

class Denied extends Error { constructor (readonly rule: string, readonly status = 403) { super(rule) } }

export async function startEgressGuard (o: EgressGuardOptions): Promise<EgressGuard> {
  const { compiled: cp, logger } = o
  const mode = cp.mode('egress')
  const policy = compileEgressPolicy(cp.policy.egress)
  const resolve = o.resolve ?? systemResolver

  /** The address to connect to, or a Denied. In report-only a denial is logged and the connection proceeds. */
  async function target (t: EgressTarget): Promise<string> {
    const deny = (rule: string): string | undefined => {
      metrics.inc('hedge_denials_total', { layer: 'egress', rule, mode })
      if (mode === 'enforce') throw new Denied(rule)
      if (mode === 'report-only') logger.info({ event: 'would-deny', layer: 'egress', rule, host: t.host, port: t.port }, `would deny by ${rule} (report-only)`)
      return undefined
    }
    if (mode === 'off') return (await resolve(t.host.replace(/^\[|\]$/g, '')))[0] ?? t.host
    const pre = policy.pre(t)
    if (pre.kind === 'deny') { deny(pre.rule); return (await resolve(t.host.replace(/^\[|\]$/g, '')))[0] ?? t.host }
    if (pre.kind === 'literal') {
      const d = policy.checkAddress(pre.ip)
      if (!d.allowed) deny(d.rule)
      return pre.ip
    }
    if (pre.kind === 'allow-exact' && pre.ip !== undefined) return pre.ip
    let addresses: string[]
    try { addresses = await resolve(t.host) } catch { throw new Denied('egress.dns:unresolvable', 502) }
    if (pre.kind === 'allow-exact') return addresses[0] ?? (() => { throw new Denied('egress.dns:no-address', 502) })()
    const d = policy.checkResolved(addresses)
    if (!d.allowed) { deny(d.rule); return addresses[0] ?? t.host }
    return d.ip
  }

  const refuse = (t: EgressTarget, err: unknown): { status: number, rule: string } => {
    const rule = err instanceof Denied ? err.rule : 'egress.upstream'
    const status = err instanceof Denied ? err.status : 502
    if (status === 403) logger.warn({ event: 'deny', layer: 'egress', rule, host: t.host, port: t.port }, `denied by ${rule}`)
    else logger.info({ event: 'egress-error', rule, host: t.host, port: t.port }, 'egress failed')
    return { status, rule }
  }
  // Registry codes (src/errors/codes.ts) on every refusal, in a header and in the page.
  const codeOf = (status: number): ErrorCode => status === 403 ? 'HEDGE_EGRESS_DENIED' : status === 400 ? 'HEDGE_BAD_REQUEST' : 'HEDGE_UPSTREAM_UNAVAILABLE'
  const page = (status: number, rule: string): string => `<!doctype html><title>hedge: ${status}</title><h1>Blocked by hedge's egress guard</h1><p>code: <code>${codeOf(status)}</code></p><p>rule: <code>${rule}</code></p>\n`
  const refusalHeaders = (status: number, rule: string): Record<string, string> => ({ 'content-type': 'text/html', 'x-hedge-code': codeOf(status), 'x-hedge-deny': rule })

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let url: URL
    try { url = new URL(req.url ?? '') } catch { url = new URL('invalid:') }
    if (url.protocol !== 'http:' || url.host === '') {
      res.writeHead(400, refusalHeaders(400, 'egress.not-a-proxy-request')).end(page(400, 'egress.not-a-proxy-request'))
      return
    }
    const t = { host: url.hostname, port: Number(url.port === '' ? 80 : url.port) }
    target(t).then(ip => {
      const headers: Record<string, string | string[]> = {}
      for (const [k, v] of Object.entries(req.headers)) if (!isHopByHop(k) && v !== undefined) headers[k] = v
      headers.host = url.host
      headers.connection = 'close'
      const up = request({ host: ip, port: t.port, method: req.method, path: url.pathname + url.search, headers, setHost: false, timeout: 30_000 }, upRes => {
        const h: Record<string, string | string[]> = {}
        for (const [k, v] of Object.entries(upRes.headers)) if (!isHopByHop(k) && v !== undefined) h[k] = v
        res.writeHead(upRes.statusCode ?? 502, h)
        upRes.pipe(res)
      })
      up.on('timeout', () => { up.destroy(new Error('timeout')) })
      up.on('error', () => { if (!res.headersSent) res.writeHead(502, refusalHeaders(502, 'egress.upstream')).end(page(502, 'egress.upstream')); else res.destroy() })
      req.pipe(up)
    }).catch((err: unknown) => {
      const r = refuse(t, err)
      res.writeHead(r.status, refusalHeaders(r.status, r.rule)).end(page(r.status, r.rule))
    })
  })

  guardListener(server, listenerLimitsFromPolicy(cp.policy.listen.connections), logger, 'egress')

  const tunnels = new Set<Duplex>() // CONNECT sockets leave the server's bookkeeping: close() ends them here
  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    tunnels.add(client)
    client.on('close', () => { tunnels.delete(client) })
    client.on('error', () => { client.destroy() })
    const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]/@\s]+):(\d{1,5})$/.exec(req.url ?? '')
    if (m === null) { client.end('HTTP/1.1 400 Bad Request\r\nX-Hedge-Code: HEDGE_BAD_REQUEST\r\nConnection: close\r\n\r\n'); return }
    const t = { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]) }
    target(t).then(ip => {
      const up: Socket = connect({ host: ip, port: t.port, timeout: 10_000 })
      let established = false
      up.once('connect', () => {
        established = true
        // A tunnel idle in both directions is closed (egress.tunnelIdleTimeoutMs): held tunnels
        // would otherwise pin descriptors and the browser's per-source slots here forever.
        up.setTimeout(cp.policy.egress.tunnelIdleTimeoutMs)
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        if (head.length > 0) up.write(head)
        up.pipe(client)
        client.pipe(up)
      })
      up.on('timeout', () => { up.destroy() })
      up.on('error', () => { if (!established) client.end('HTTP/1.1 502 Bad Gateway\r\nX-Hedge-Code: HEDGE_UPSTREAM_UNAVAILABLE\r\nConnection: close\r\n\r\n') })
      up.on('close', () => { if (established) client.destroy() })
      client.on('close', () => { up.destroy() })
    }).catch((err: unknown) => {
      const r = refuse(t, err)
      const body = page(r.status, r.rule)
      client.end(`HTTP/1.1 ${r.status} ${r.status === 403 ? 'Forbidden' : 'Bad Gateway'}\r\nContent-Type: text/html\r\nX-Hedge-Code: ${codeOf(r.status)}\r\nX-Hedge-Deny: ${r.rule}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
    })
  })

  await new Promise<void>((res, rej) => { server.once('error', rej); server.listen(o.port ?? cp.policy.listen.egressPort, o.host ?? '127.0.0.1', () => { res() }) })
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise(res => { server.close(() => { res() }); server.closeAllConnections(); for (const c of tunnels) c.destroy() }),
  }
}
