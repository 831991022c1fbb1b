// The browser egress guard (default :13128): the forward proxy Chromium uses in hedged
// deployments (--proxy-server, with --proxy-bypass-list=<-loopback> so loopback goes
// through it too). Absolute-form HTTP requests and CONNECT tunnels (HTTPS, WebSockets).
// A page's own JavaScript (fetch to 127.0.0.1:8888, a redirect, a name resolving to a
// private address) is invisible to any CDP filter; here it is refused, after DNS, and
// the connection goes to the very address that was checked: no second resolution.
import { createServer, request, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { lookup as dnsLookup } from 'node:dns/promises'
import type { Duplex } from 'node:stream'
import type { CompiledPolicy } from '../policy/compile.ts'
import type { Logger } from '../logger.ts'
import { ERRORS, HedgeError, type ErrorCode } from '../errors/codes.ts'
import { judgeOrThrow, type Verdict } from '../layers/verdict.ts'
import { compileEgressPolicy, type EgressTarget } from './decide.ts'
import { guardListener, listenerLimitsFromPolicy } from '../net/listener-limits.ts'
import { isHopByHop } from '../net/hop.ts'

export type Resolver = (host: string) => Promise<string[]>
const systemResolver: Resolver = async host => (await dnsLookup(host, { all: true, verbatim: true })).map(a => a.address)

export interface EgressGuardOptions { compiled: CompiledPolicy, host?: string, port?: number, logger: Logger, resolve?: Resolver }
export interface EgressGuard { readonly url: string, readonly port: number, close: () => Promise<void> }

/** What a refused request is told: a registry code (src/errors/codes.ts) and the rule, in headers and in the page. */
interface Refusal { readonly status: number, readonly code: ErrorCode, readonly rule: string }

function refusalOf (code: ErrorCode, rule: string): Refusal { return { status: ERRORS[code].status, code, rule } }

function page (r: Refusal): string {
  return `<!doctype html><title>hedge: ${r.status}</title><h1>Blocked by hedge's egress guard</h1>` +
    `<p>code: <code>${r.code}</code></p><p>rule: <code>${r.rule}</code></p>\n`
}

function refusalHeaders (r: Refusal): Record<string, string> {
  return { 'content-type': 'text/html', 'x-hedge-code': r.code, 'x-hedge-deny': r.rule }
}

const BAD_REQUEST = refusalOf('HEDGE_BAD_REQUEST', 'egress.not-a-proxy-request')
const UPSTREAM_FAILED = refusalOf('HEDGE_UPSTREAM_UNAVAILABLE', 'egress.upstream')

export async function startEgressGuard (o: EgressGuardOptions): Promise<EgressGuard> {
  const { compiled: cp, logger } = o
  const mode = cp.mode('egress')
  const policy = compileEgressPolicy(cp.policy.egress)
  const resolve = o.resolve ?? systemResolver

  /**
   * The address to connect to. A refusal throws the HedgeError the refusal page names
   * (HEDGE_EGRESS_DENIED, or HEDGE_UPSTREAM_UNAVAILABLE when the name does not resolve);
   * in report-only a denial is logged and the connection proceeds.
   */
  async function target (t: EgressTarget): Promise<string> {
    const deny = (rule: string): void => {
      const v: Verdict = { layer: 'egress', code: 'HEDGE_EGRESS_DENIED', rule }
      judgeOrThrow(mode, v, { front: 'egress', log: logger, fields: { host: t.host, port: t.port } })
    }
    const unavailable = (rule: string): HedgeError => new HedgeError('HEDGE_UPSTREAM_UNAVAILABLE', undefined, rule)
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
    try { addresses = await resolve(t.host) } catch { throw unavailable('egress.dns:unresolvable') }
    if (pre.kind === 'allow-exact') return addresses[0] ?? (() => { throw unavailable('egress.dns:no-address') })()
    const d = policy.checkResolved(addresses)
    if (!d.allowed) { deny(d.rule); return addresses[0] ?? t.host }
    return d.ip
  }

  /** Why a destination failed. Denials were logged by judge(); failures are logged here. */
  const refusal = (t: EgressTarget, err: unknown): Refusal => {
    const r = err instanceof HedgeError ? refusalOf(err.code, err.rule ?? 'egress.upstream') : UPSTREAM_FAILED
    if (r.code !== 'HEDGE_EGRESS_DENIED') logger.info({ event: 'egress-error', rule: r.rule, host: t.host, port: t.port }, 'egress failed')
    return r
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let url: URL
    try { url = new URL(req.url ?? '') } catch { url = new URL('invalid:') }
    if (url.protocol !== 'http:' || url.host === '') {
      res.writeHead(BAD_REQUEST.status, refusalHeaders(BAD_REQUEST)).end(page(BAD_REQUEST))
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
      up.on('error', () => {
        if (!res.headersSent) res.writeHead(UPSTREAM_FAILED.status, refusalHeaders(UPSTREAM_FAILED)).end(page(UPSTREAM_FAILED))
        else res.destroy()
      })
      req.pipe(up)
    }).catch((err: unknown) => {
      const r = refusal(t, err)
      res.writeHead(r.status, refusalHeaders(r)).end(page(r))
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
      const r = refusal(t, err)
      const body = page(r)
      const head = Object.entries({ ...refusalHeaders(r), 'content-length': String(Buffer.byteLength(body)), connection: 'close' })
        .map(([k, v]) => `${k}: ${v}\r\n`).join('')
      client.end(`HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? 'Error'}\r\n${head}\r\n${body}`)
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
