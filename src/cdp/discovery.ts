// `/json*` discovery through the gateway: each endpoint allowed or denied by policy,
// `/json/new` held to the navigation URL policy, and every webSocketDebuggerUrl /
// devtoolsFrontendUrl rewritten to point at the gateway. A client that cannot send
// headers gets a single-use ticket bound to that target in the URL — never the JWT.
import { request, type IncomingMessage, type ServerResponse } from 'node:http'
import { HedgeError } from '../errors/codes.ts'
import { applyVerdict } from '../layers/apply.ts'
import { canonicalisePath } from '../layers/canonical-path.ts'
import { admit, judgeTarget, judgeTargets, type CdpFrontContext } from './admission.ts'

type Endpoint = 'version' | 'list' | 'protocol' | 'new' | 'activate' | 'close'

const ROUTES: Array<[RegExp, Endpoint]> = [
  [/^\/json\/version\/?$/, 'version'],
  [/^\/json(\/list)?\/?$/, 'list'],
  [/^\/json\/protocol\/?$/, 'protocol'],
  [/^\/json\/new\/?$/, 'new'],
  [/^\/json\/activate\/[A-Za-z0-9-]{1,128}$/, 'activate'],
  [/^\/json\/close\/[A-Za-z0-9-]{1,128}$/, 'close'],
]
const MAX_REWRITE_BYTES = 8 * 1024 * 1024

function endpointOf (path: string): Endpoint | undefined {
  for (const [re, e] of ROUTES) if (re.test(path)) return e
  return undefined
}

export async function handleDiscovery (ctx: CdpFrontContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { compiled: cp, logger } = ctx
  const url = req.url ?? '/'
  const filterOn = cp.mode('cdp-filter') !== 'off'
  let path = url.split('?')[0] ?? '/'
  let query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : ''
  if (filterOn) {
    const c = canonicalisePath(url)
    if (!c.ok) applyVerdict(cp, { layer: 'cdp-filter', code: 'HEDGE_PATH_INVALID', rule: `path.${c.reason}` }, req, logger)
    else { path = c.path; query = c.query }
  }
  const endpoint = endpointOf(path)
  if (endpoint === undefined && (filterOn || !path.startsWith('/json'))) throw new HedgeError('HEDGE_ROUTE_UNKNOWN', undefined, 'cdp.discovery')
  const writes = endpoint === 'new' || endpoint === 'activate' || endpoint === 'close'
  const principal = await admit(ctx, req, writes ? 'cdp:control' : 'cdp:read', undefined)
  let upstreamQuery = query
  if (filterOn && endpoint !== undefined) {
    if (!cp.policy.cdp.discovery[endpoint]) applyVerdict(cp, { layer: 'cdp-filter', code: 'HEDGE_ROUTE_DENIED', rule: `cdp.discovery.${endpoint}` }, req, logger)
    if (endpoint === 'activate' || endpoint === 'close') {
      const id = path.slice(path.lastIndexOf('/') + 1)
      const v = await judgeTarget(ctx, id, 'target list unavailable')
      if (!v.allowed) applyVerdict(cp, { layer: 'cdp-filter', code: 'HEDGE_ROUTE_DENIED', rule: v.rule, message: v.message }, req, logger)
    }
    if (endpoint === 'new' && query !== '') {
      let target: string
      try { target = decodeURIComponent(query) } catch { target = '\0' }
      const d = ctx.filter.url(target)
      // Chromium unescapes the query before parsing it: a '%' left in what we checked could
      // decode into something else there, so such URLs are refused rather than forwarded.
      if (!d.allowed || d.canonical === undefined || d.canonical.includes('%')) {
        applyVerdict(cp, { layer: 'cdp-filter', code: 'HEDGE_CDP_URL_DENIED', rule: d.allowed ? 'cdp.urls.percent' : d.rule }, req, logger)
      } else if (cp.mode('cdp-filter') === 'enforce') upstreamQuery = d.canonical
    }
  }
  const up = new URL(ctx.upstream)
  const upstreamRes = await new Promise<IncomingMessage>((resolve, reject) => {
    // Talk to Chromium as a local client: its Host check is satisfied honestly, no Origin is sent.
    const r = request({ host: up.hostname, port: up.port, method: req.method, path: path + (upstreamQuery === '' ? '' : `?${upstreamQuery}`), headers: { host: up.host }, timeout: 15_000 }, resolve)
    r.on('timeout', () => { r.destroy(new HedgeError('HEDGE_UPSTREAM_TIMEOUT', undefined, 'cdp.upstream')) })
    r.on('error', err => { reject(err instanceof HedgeError ? err : new HedgeError('HEDGE_UPSTREAM_UNAVAILABLE', undefined, 'cdp.upstream')) })
    r.end()
  })
  const status = upstreamRes.statusCode ?? 502
  const type = String(upstreamRes.headers['content-type'] ?? '')
  if (endpoint === 'protocol' || !type.includes('json')) {
    res.writeHead(status, { 'content-type': type || 'text/plain' })
    upstreamRes.pipe(res)
    return
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of upstreamRes) {
    size += (c as Buffer).length
    if (size > MAX_REWRITE_BYTES) throw new HedgeError('HEDGE_UPSTREAM_UNAVAILABLE', 'discovery answer too large', 'cdp.discovery.size')
    chunks.push(c as Buffer)
  }
  let body: unknown
  try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch { throw new HedgeError('HEDGE_UPSTREAM_UNAVAILABLE', 'unparsable discovery answer', 'cdp.discovery.json') }
  const publicHost = req.headers.host ?? `127.0.0.1`
  // Tickets only for principals that may open the socket they name.
  const connectScope = cp.policy.cdp.connectScope
  const mayConnect = principal !== undefined && (principal.scopes.has(connectScope) || (connectScope === 'cdp:read' && principal.scopes.has('cdp:control')))
  const rewrite = (o: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...o }
    if (typeof o.webSocketDebuggerUrl === 'string') {
      const wsPath = new URL(o.webSocketDebuggerUrl).pathname
      const ticket = principal === undefined || !mayConnect ? '' : `?ticket=${ctx.tickets.issue(principal, wsPath)}`
      out.webSocketDebuggerUrl = `${ctx.wsScheme}://${publicHost}${wsPath}${ticket}`
    }
    if (typeof o.devtoolsFrontendUrl === 'string') out.devtoolsFrontendUrl = o.devtoolsFrontendUrl.split(up.host).join(publicHost).replace('ws=', ctx.wsScheme === 'wss' ? 'wss=' : 'ws=')
    return out
  }
  if (Array.isArray(body) && filterOn && cp.mode('cdp-filter') === 'enforce') {
    // Only targets this client may reach are listed (and get a ticket): never devtools://,
    // chrome:// or browser_ui targets, nor (isolated) pages in another client's context.
    const ids = body.map(x => (x !== null && typeof x === 'object' && typeof (x as { id?: unknown }).id === 'string' ? (x as { id: string }).id : ''))
    const verdicts = await judgeTargets(ctx, ids)
    body = body.filter((_x, i) => verdicts.get(ids[i] as string)?.allowed === true)
  }
  const rewritten = Array.isArray(body) ? body.map(x => (x !== null && typeof x === 'object' ? rewrite(x as Record<string, unknown>) : x)) : (body !== null && typeof body === 'object' ? rewrite(body as Record<string, unknown>) : body)
  const text = JSON.stringify(rewritten, null, 2)
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}
