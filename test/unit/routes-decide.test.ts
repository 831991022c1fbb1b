// The routes layer's decision, pure, over the hedged route table: each attack next to its
// near miss (the neighbour a legitimate client sends, which must pass).
import t from 'tap'
import { compilePolicy } from '../../src/policy/compile.ts'
import { decidePath, decideRoute, findRoute } from '../../src/layers/routes.ts'
import type { Scope } from '../../src/policy/schema.ts'
import { testPolicy } from '../helpers/gateway.ts'

const cp = compilePolicy(testPolicy('hedged'))
const who = (...scopes: Scope[]): { scopes: ReadonlySet<Scope> } => ({ scopes: new Set(scopes) })

t.test('decideRoute: default deny, methods, denied routes, scopes', async t => {
  // [what, method, path, principal, code or null, rule (or undefined), Allow header]
  type Row = [string, string, string, { scopes: ReadonlySet<Scope> } | undefined, string | null, string?, string?]
  const rows: Row[] = [
    ['unknown path', 'GET', '/kernel/secrets', who('kernel:admin'), 'HEDGE_ROUTE_UNKNOWN', 'kernel.routes(default-deny)'],
    ['near miss: a listed path', 'GET', '/kernel/status', who('kernel:read'), null],
    ['trailing slash is another path', 'GET', '/health/', undefined, 'HEDGE_ROUTE_UNKNOWN'],
    ['near miss: the public route, no token', 'GET', '/health', undefined, null],
    ['case is not folded', 'GET', '/Health', undefined, 'HEDGE_ROUTE_UNKNOWN'],
    ['method not on the route', 'DELETE', '/kernel/execute', who('kernel:execute'), 'HEDGE_METHOD_NOT_ALLOWED', 'kernel.routes(method)',
      'POST'],
    ['GET where only POST is listed', 'GET', '/kernel/reset', who('kernel:control'), 'HEDGE_METHOD_NOT_ALLOWED', undefined, 'POST'],
    ['near miss: the listed method', 'POST', '/kernel/execute', who('kernel:execute'), null],
    ['denied route (HMAC key)', 'GET', '/kernel/connection', who('kernel:admin', 'kernel:read'), 'HEDGE_ROUTE_DENIED'],
    ['denied route, any scope', 'GET', '/kernel/connection-file', who('kernel:admin'), 'HEDGE_ROUTE_DENIED'],
    ['scope missing: read token executes', 'POST', '/kernel/execute', who('kernel:read'), 'HEDGE_SCOPE_MISSING'],
    ['scope missing: control token reads debug', 'GET', '/kernel/debug', who('kernel:control'), 'HEDGE_SCOPE_MISSING'],
    ['near miss: admin token reads debug', 'GET', '/kernel/debug', who('kernel:admin'), null],
    ['cdp scope is not a kernel scope', 'POST', '/kernel/interrupt', who('cdp:control'), 'HEDGE_SCOPE_MISSING'],
    ['no principal: the auth layer judged the token', 'POST', '/kernel/execute', undefined, null],
    ['public route, token without scopes', 'GET', '/health', who(), null],
  ]
  for (const [what, method, path, principal, code, rule, allow] of rows) {
    const d = decideRoute(cp, method, path, principal)
    t.equal(d.verdict?.code ?? null, code, `${what}: ${method} ${path}`)
    if (d.verdict !== null) t.equal(d.verdict.layer, 'routes', `${what}: layer`)
    if (rule !== undefined) t.equal(d.verdict?.rule, rule, `${what}: rule`)
    t.equal(d.allow, allow, `${what}: Allow`)
  }
})

t.test('decideRoute names the route and the scope it needs', async t => {
  const d = decideRoute(cp, 'POST', '/kernel/execute', who('kernel:read'))
  t.equal(d.route?.path, '/kernel/execute')
  t.match(d.verdict?.message, /kernel:execute/)
  t.match(d.verdict?.rule, /^kernel\.routes\[\d+\]/)
  t.equal(decideRoute(cp, 'DELETE', '/kernel/execute', undefined).route, undefined, 'no route for a method the path does not take')
})

t.test('findRoute: only a full match (method and path)', async t => {
  t.equal(findRoute(cp, 'GET', '/health')?.scope, 'public')
  t.equal(findRoute(cp, 'POST', '/health'), undefined, 'near miss: the path, another method')
  t.equal(findRoute(cp, 'GET', '/health/'), undefined)
  t.equal(findRoute(cp, 'POST', '/kernel/execute')?.body, true)
})

t.test('decidePath: tricks are refused, never normalised into a route', async t => {
  // [target, reason or null, path routes are matched on]
  const rows: Array<[string, string | null, string]> = [
    ['/%6bernel/connection', 'path.encoded-unreserved', '/%6bernel/connection'],
    ['/kernel/connection', null, '/kernel/connection'],
    ['/kernel/../kernel/connection', 'path.dot-segment', '/kernel/../kernel/connection'],
    ['/kernel/.well-known', null, '/kernel/.well-known'],
    ['/kernel//connection', 'path.empty-segment', '/kernel//connection'],
    ['/kernel%2fconnection', 'path.encoded-slash', '/kernel%2fconnection'],
    ['/kernel/exec%20ute', null, '/kernel/exec%20ute'],
    ['/kernel/connection;x=1', 'path.path-parameter', '/kernel/connection;x=1'],
    ['/kernel/status?verbose=1', null, '/kernel/status'],
    ['/kernel/status?a#b', 'path.fragment', '/kernel/status'],
    ['http://127.0.0.1:8888/kernel/connection', 'path.absolute-form', 'http://127.0.0.1:8888/kernel/connection'],
  ]
  for (const [target, rule, path] of rows) {
    const d = decidePath(target)
    t.equal(d.verdict?.rule ?? null, rule, target)
    if (d.verdict !== null) t.equal(d.verdict.code, 'HEDGE_PATH_INVALID', `${target}: code`)
    t.equal(d.path, path, `${target}: path`)
  }
})
