// Routes layer: default deny over kernel.routes, on the canonical path and the request
// line's method only. Pure: the route table, the request line and who is asking (the
// verified principal, if any) in; the route and one Verdict (or null) out.
import type { CompiledPolicy, CompiledRoute } from '../policy/compile.ts'
import type { Principal } from '../auth/jwt.ts'
import type { ErrorCode } from '../errors/codes.ts'
import type { Verdict } from './verdict.ts'
import { canonicalisePath } from './canonical-path.ts'

type RouteTable = Pick<CompiledPolicy, 'matchRoute'>

export interface RouteDecision {
  /** The route the request line names; undefined when there is none for this method. */
  readonly route: CompiledRoute | undefined
  readonly verdict: Verdict | null
  /** For a 405: the methods the path does take (the `Allow` header). */
  readonly allow?: string
}

function refuse (code: ErrorCode, rule: string, message?: string): Verdict {
  return { layer: 'routes', code, rule, ...(message !== undefined ? { message } : {}) }
}

/**
 * The path routes are matched on: the request target's, canonical or refused (tricks are
 * never normalised into another route). A refused target still yields its raw path, for
 * report-only and for the routes layer off.
 */
export function decidePath (target: string): { readonly path: string, readonly verdict: Verdict | null } {
  const c = canonicalisePath(target)
  if (c.ok) return { path: c.path, verdict: null }
  return { path: target.split('?')[0] ?? target, verdict: refuse('HEDGE_PATH_INVALID', `path.${c.reason}`) }
}

/** The route a request line names, if any (authentication asks whether it is public). */
export function findRoute (compiled: RouteTable, method: string, path: string): CompiledRoute | undefined {
  const m = compiled.matchRoute(method, path)
  return m.kind === 'match' ? m.route : undefined
}

/**
 * The scope is checked only against a verified principal: with auth off, or a bad token in
 * report-only, there is no principal and the auth layer has already had its say.
 */
export function decideRoute (
  compiled: RouteTable, method: string, path: string, principal: Pick<Principal, 'scopes'> | undefined,
): RouteDecision {
  const m = compiled.matchRoute(method, path)
  if (m.kind === 'none') return { route: undefined, verdict: refuse('HEDGE_ROUTE_UNKNOWN', 'kernel.routes(default-deny)') }
  if (m.kind === 'method') {
    return { route: undefined, verdict: refuse('HEDGE_METHOD_NOT_ALLOWED', 'kernel.routes(method)'), allow: m.allowed.join(', ') }
  }
  const route = m.route
  if (route.action === 'deny') return { route, verdict: refuse('HEDGE_ROUTE_DENIED', route.rule) }
  if (principal !== undefined && route.scope !== 'public' && route.scope !== undefined && !principal.scopes.has(route.scope)) {
    return { route, verdict: refuse('HEDGE_SCOPE_MISSING', route.rule, `this route needs scope "${route.scope}"`) }
  }
  return { route, verdict: null }
}
