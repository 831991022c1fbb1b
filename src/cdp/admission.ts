// What the CDP front's two doors (the WebSocket upgrade and `/json*` discovery) both check
// before anything reaches Chromium: host, origin and token (admit), and whether the targets
// a request names may be reached from outside a relayed connection (judgeTargets).
import type { IncomingMessage } from 'node:http'
import type { CompiledPolicy } from '../policy/compile.ts'
import type { Verifier, Principal } from '../auth/jwt.ts'
import type { TicketStore } from '../auth/tickets.ts'
import { applyVerdict } from '../layers/apply.ts'
import { checkHost } from '../layers/host.ts'
import { checkOrigin } from '../layers/origin.ts'
import { authenticate } from '../layers/auth.ts'
import type { Logger } from '../logger.ts'
import type { CdpFilter } from './filter.ts'
import { ContextRegistry, TargetView } from './target-view.ts'
import { browserTargets } from './browser-targets.ts'
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

export interface CdpFrontContext extends CdpFrontOptions {
  readonly trusted: ReadonlySet<string>
  readonly wsScheme: 'ws' | 'wss'
  /** Browser contexts owned by open connections (tenancy `isolated`). */
  readonly registry: ContextRegistry
}

export function frontContext (o: CdpFrontOptions): CdpFrontContext {
  const trusted = new Set(o.compiled.policy.hosts.trustedProxies)
  return { ...o, trusted, wsScheme: o.tls === undefined ? 'ws' : 'wss', registry: new ContextRegistry() }
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

/** One target named by a request (a page socket, /json/activate|close): refused when the browser's list cannot be read. */
export async function judgeTarget (ctx: CdpFrontContext, id: string, unavailable: string): Promise<TargetVerdict> {
  const verdicts = await judgeTargets(ctx, [id]).catch(() => undefined)
  return verdicts?.get(id) ?? { allowed: false, rule: 'cdp.targets.unavailable', message: unavailable }
}

/** Host, origin and token checks shared by discovery and the upgrade path. */
export async function admit (
  ctx: CdpFrontContext, req: IncomingMessage, needScope: 'cdp:read' | 'cdp:control', allowTicket: string | undefined,
): Promise<Principal | undefined> {
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
