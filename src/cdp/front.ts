// The CDP front (default :19223 → Chromium's :9222). Chromium's own Host and Origin
// checks are kept rather than defeated: the gateway applies the host and origin layers
// itself, then talks to Chromium as a local client (Host 127.0.0.1:9222, no Origin).
//   HTTP  /json*: canonicalise → host → origin → authenticate → discovery rules → forward → rewrite URLs
//   WS    /devtools/{browser,page}/ID: the same checks before the upgrade completes (401/403,
//         never 101), then the upstream socket is opened, then the client's is, then relay.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import { readFileSync } from 'node:fs'
import { WebSocketServer } from 'ws'
import { connectUpstream } from './upstream-socket.ts'
import type { CompiledPolicy } from '../policy/compile.ts'
import type { Verifier, Principal } from '../auth/jwt.ts'
import type { TicketStore } from '../auth/tickets.ts'
import { HedgeError } from '../errors/codes.ts'
import { rejectUpgrade, sendResponseError } from '../errors/render.ts'
import { applyVerdict } from '../layers/apply.ts'
import { checkHost } from '../layers/host.ts'
import { checkOrigin } from '../layers/origin.ts'
import { authenticate } from '../layers/auth.ts'
import { redactUrl, type Logger } from '../logger.ts'
import type { CdpFilter } from './filter.ts'
import { relay } from './relay.ts'
import { handleDiscovery } from './discovery.ts'
import { ContextRegistry, TargetView } from './target-view.ts'
import { browserTargets } from './browser-targets.ts'
import { ConnectionQuota } from '../net/connection-quota.ts'
import type { TargetVerdict } from './targets.ts'

export interface CdpFrontOptions {
  compiled: CompiledPolicy
  filter: CdpFilter
  upstream: string // http://127.0.0.1:9222
  verifier: Verifier | null
  tickets: TicketStore
  logger: Logger
  tls?: { cert: string, key: string }
}

const WS_PATH = /^\/devtools\/(browser|page)\/([A-Za-z0-9-]{1,128})$/

export interface CdpFrontContext extends CdpFrontOptions {
  readonly trusted: ReadonlySet<string>
  readonly wsScheme: 'ws' | 'wss'
  /** Browser contexts owned by open connections (tenancy `isolated`). */
  readonly registry: ContextRegistry
}

/**
 * May a client outside any relayed connection (a page socket, a discovery entry) reach these
 * targets? Judged on the browser's own list: type, URL, and (isolated) a context no
 * connection owns. Returns one verdict per id; a target the browser does not list is unknown.
 */
export async function judgeTargets (ctx: CdpFrontContext, ids: readonly string[]): Promise<Map<string, TargetVerdict>> {
  const view = new TargetView({ rules: ctx.filter.targets, tenancy: ctx.filter.tenancy, registry: ctx.registry }, 'page')
  for (const info of await browserTargets(ctx.upstream)) view.learn(info)
  return new Map(ids.map(id => [id, view.judgeId(id)]))
}

/** Host, origin and token checks shared by discovery and the upgrade path. */
export async function admit (ctx: CdpFrontContext, req: IncomingMessage, needScope: 'cdp:read' | 'cdp:control', allowTicket: string | undefined): Promise<Principal | undefined> {
  const { compiled: cp, logger } = ctx
  if (cp.mode('host') !== 'off') applyVerdict(cp, checkHost(cp, req, ctx.trusted), req, logger)
  if (cp.mode('origin') !== 'off') applyVerdict(cp, checkOrigin(cp, req), req, logger)
  if (cp.mode('auth') === 'off') return undefined
  let principal: Principal | undefined
  const ticket = allowTicket === undefined ? null : new URL(req.url ?? '/', 'http://x').searchParams.get('ticket')
  if (req.headers.authorization === undefined && ticket !== null && allowTicket !== undefined) {
    const p = ctx.tickets.redeem(ticket, allowTicket)
    if (p === null) applyVerdict(cp, { layer: 'auth', code: 'HEDGE_TICKET_INVALID', rule: 'auth.ticket' }, req, logger)
    principal = p ?? undefined
  } else {
    principal = await authenticate(cp, ctx.verifier, req, 'cdp', logger)
  }
  if (principal !== undefined && !principal.scopes.has(needScope) && !(needScope === 'cdp:read' && principal.scopes.has('cdp:control'))) {
    applyVerdict(cp, { layer: 'auth', code: 'HEDGE_SCOPE_MISSING', rule: 'cdp.scope', message: `needs scope "${needScope}"` }, req, logger)
  }
  return principal
}

export interface CdpFront { readonly server: Server, close: () => Promise<void> }

export function createCdpFront (o: CdpFrontOptions): CdpFront {
  const { compiled: cp, logger } = o
  const ctx: CdpFrontContext = { ...o, trusted: new Set(cp.policy.hosts.trustedProxies), wsScheme: o.tls === undefined ? 'ws' : 'wss', registry: new ContextRegistry() }
  const filterOn = cp.mode('cdp-filter') !== 'off'
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: filterOn ? cp.policy.cdp.maxMessageBytes : 256 * 1024 * 1024 })
  // The slots are taken before Chromium is dialled: concurrent attempts each see the others.
  const quota = new ConnectionQuota({ perToken: cp.policy.cdp.maxConnectionsPerToken, perSubject: cp.policy.cdp.maxConnectionsPerPrincipal })

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handleDiscovery(ctx, req, res).catch((err: unknown) => {
      if (err instanceof HedgeError) logger.warn({ event: 'deny', layer: 'cdp-filter', code: err.code, rule: err.rule, url: redactUrl(req.url) }, `discovery refused by ${err.rule ?? err.code}`)
      sendResponseError(res, err, req, logger)
    })
  }
  const server = o.tls === undefined ? createServer(onRequest) : createTlsServer({ cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key) }, onRequest)

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => { socket.destroy() })
    void (async () => {
      const url = req.url ?? '/'
      const q = url.indexOf('?')
      const path = q === -1 ? url : url.slice(0, q)
      const m = WS_PATH.exec(path)
      if (m === null || (filterOn && q !== -1 && !/^\?ticket=[A-Za-z0-9_-]{1,128}$/.test(url.slice(q)))) throw new HedgeError('HEDGE_ROUTE_UNKNOWN', undefined, 'cdp.ws-path')
      const principal = await admit(ctx, req, cp.policy.cdp.connectScope, path)
      if (filterOn && m[1] === 'page') {
        // A page socket is a session on that target: only for targets this client may reach.
        const v = (await judgeTargets(ctx, [m[2] as string]).catch(() => undefined))?.get(m[2] as string) ??
          { allowed: false, rule: 'cdp.targets.unavailable', message: 'the browser\'s target list is unavailable' }
        if (!v.allowed) applyVerdict(cp, { layer: 'cdp-filter', code: 'HEDGE_ROUTE_DENIED', rule: v.rule, message: v.message }, req, logger)
      }
      // Quotas: per token (its jti) and, larger, per subject; per client address without auth.
      const slot = quota.acquire(principal, req.socket.remoteAddress ?? '')
      if (!slot.ok) throw new HedgeError('HEDGE_TOO_MANY_CONNECTIONS', undefined, slot.rule)
      const release = slot.release
      // Chromium first: the client only ever gets 101 once there is something to talk to.
      const browser = await connectUpstream(new URL(path, o.upstream.replace(/^http/, 'ws')).href, 10_000).catch((err: { statusCode?: number }) => {
        release()
        throw new HedgeError(err.statusCode === 404 ? 'HEDGE_ROUTE_UNKNOWN' : 'HEDGE_UPSTREAM_UNAVAILABLE', undefined, 'cdp.upstream')
      })
      let adopted = false
      wss.handleUpgrade(req, socket, head, client => {
        adopted = true
        logger.info({ event: 'cdp-open', path, subject: principal?.subject, tokenId: principal?.tokenId }, 'cdp connection opened')
        relay(client, browser, {
          compiled: cp, filter: o.filter, logger, principal, rootKind: m[1] === 'browser' ? 'browser' : 'page', path,
          registry: ctx.registry, onClose: release,
        })
      })
      // ws answers a malformed handshake (bad Sec-WebSocket-Key or version) itself, and drops a
      // client that left while Chromium was being dialled, without calling back: give back the
      // slot and close the DevTools session opened for it (else both leak, one per attempt).
      if (!adopted) { browser.terminate(); release() }
    })().catch((err: unknown) => { rejectUpgrade(socket, err, req, logger) })
  })

  return {
    server,
    // Relayed sockets count as the server's connections, so they must end first or
    // server.close() would wait for clients that never leave.
    close: () => new Promise<void>(resolve => {
      for (const c of wss.clients) c.terminate()
      wss.close()
      server.close(() => { resolve() })
      server.closeAllConnections()
    }),
  }
}
