// Policy loading and compiling: every shipped policy is valid; mistakes are reported with
// their path; overrides are strict; compiled matchers deny what they name and allow neighbours.
import t from 'tap'
import { loadPolicy, parsePolicy, derivePolicy, PolicyError } from '../../src/policy/load.ts'
import { compilePolicy } from '../../src/policy/compile.ts'

const problems = (yaml: string, env: NodeJS.ProcessEnv = {}): string[] => {
  try { parsePolicy(yaml, 'test.yaml', env); return [] } catch (e) { return e instanceof PolicyError ? e.problems : [String(e)] }
}

t.test('shipped policies load and compile', async t => {
  for (const name of ['baseline', 'hedged', 'strict', 'hedged-report-only']) {
    const p = loadPolicy(name, {})
    t.equal(p.name, name)
    t.ok(Object.isFrozen(p) && Object.isFrozen(p.layers), 'frozen after load')
    t.doesNotThrow(() => compilePolicy(p))
  }
  t.same(Object.values(loadPolicy('baseline', {}).layers).filter(m => m !== 'off'), [], 'baseline: every layer off')
  t.same(Object.values(loadPolicy('hedged', {}).layers).filter(m => m !== 'enforce'), [], 'hedged: every layer enforcing')
  const ro = loadPolicy('hedged-report-only', {})
  t.same(Object.values(ro.layers).filter(m => m !== 'report-only'), [])
  t.same(ro.kernel.routes, loadPolicy('hedged', {}).kernel.routes, 'report-only extends hedged')
})

t.test('mistakes are reported with their path', async t => {
  const base = 'version: 1\nname: x\n'
  const cases: Array<[string, RegExp]> = [
    [base + 'kernel:\n  routes:\n    - {method: GET, path: /a, scope: public}\n    - {method: GET, path: /b, scope: kernal:read}\n', /^kernel\.routes\[1\]\.scope: unknown scope "kernal:read"/],
    [base + 'kernel:\n  rutes: []\n', /^kernel\.rutes: unknown key "rutes"/],
    [base + 'layers:\n  auth: on\n', /^layers\.auth: unknown auth "on"/],
    [base + 'colour: red\n', /^colour: unknown key/],
    ['version: 2\nname: x\n', /^version: /],
    [base + 'name: y\n', /YAML: .*[Uu]nique|YAML: .*duplicate|YAML/],
    [base + 'kernel:\n  maxBodyBytes: -1\n', /^kernel\.maxBodyBytes: must be >= 1/],
    [base + 'cdp:\n  methods:\n    allow: ["Page"]\n', /^cdp\.methods\.allow\[0\]: must match pattern/],
    [base + 'auth:\n  algorithms: [none]\n', /^auth\.algorithms\[0\]: unknown value "none"/],
  ]
  for (const [yaml, re] of cases) {
    const p = problems(yaml)
    t.ok(p.some(x => re.test(x)), `${re.source} in ${JSON.stringify(p)}`)
  }
  t.same(problems(base), [], 'near miss: the minimal policy is valid')
})

t.test('HEDGE_LAYER_* overrides: applied, and bad values are errors', async t => {
  const p = parsePolicy('version: 1\nname: x\n', 'x', { HEDGE_LAYER_CDP_FILTER: 'report-only', HEDGE_LAYER_AUTH: 'enforce' })
  t.equal(p.layers['cdp-filter'], 'report-only')
  t.equal(p.layers.auth, 'enforce')
  t.equal(p.layers.host, 'off')
  t.match(problems('version: 1\nname: x\n', { HEDGE_LAYER_AUTH: 'yes' }).join(), /HEDGE_LAYER_AUTH: must be one of enforce, report-only, off, got "yes"/)
  t.doesNotThrow(() => parsePolicy('version: 1\nname: x\n', 'x', { HEDGE_LAYER_AUTH: '' }), 'empty means unset')
})

t.test('compile-time rule errors', async t => {
  const hedged = loadPolicy('hedged', {})
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ origins: { allow: ['http://a.example/'] } }, /origins\.allow\[0\]: not an origin/],
    [{ origins: { allow: ['HTTP://A.example'] } }, /write .* as browsers send it: "http:\/\/a\.example"/],
    [{ origins: { allow: ['null'] } }, /not an origin/],
    [{ hosts: { allow: ['a b'] } }, /hosts\.allow\[0\]/],
    [{ kernel: { routes: [{ method: 'GET', path: '/a', scope: 'public' }, { method: 'GET', path: '/a', scope: 'public' }] } }, /duplicate route GET \/a/],
    [{ kernel: { routes: [{ method: 'GET', path: '/a' }] } }, /needs a scope/],
  ]
  for (const [patch, re] of bad) t.throws(() => compilePolicy(derivePolicy(hedged, patch)), re, re.source)
})

t.test('host matcher: exact names, optional port; neighbours refused', async t => {
  const cp = compilePolicy(derivePolicy(loadPolicy('hedged', {}), { hosts: { allow: ['127.0.0.1', 'localhost', '[::1]', 'svc.ns:8443'] } }))
  const table: Array<[string, boolean]> = [
    ['127.0.0.1', true], ['127.0.0.1:18888', true], ['LOCALHOST:1', true], ['[::1]:9', true], ['svc.ns:8443', true],
    ['127.0.0.2', false], ['127.0.0.1.nip.io', false], ['localhost.', false], ['svc.ns', false], ['svc.ns:8444', false],
    ['evil.localhost', false], ['[::2]', false], ['', false], ['127.0.0.1:1:1', false], ['a@127.0.0.1', false], ['127.0.0.1/', false],
  ]
  for (const [host, ok] of table) t.equal(cp.hostAllowed(host), ok, JSON.stringify(host))
})

t.test('origin matcher: exact serialised origins only', async t => {
  const cp = compilePolicy(derivePolicy(loadPolicy('hedged', {}), { origins: { allow: ['https://app.example', 'http://127.0.0.1:3000'] } }))
  const table: Array<[string, boolean]> = [
    ['https://app.example', true], ['http://127.0.0.1:3000', true],
    ['http://app.example', false], ['https://app.example:444', false], ['https://sub.app.example', false], ['https://app.example.evil', false], ['http://127.0.0.1:3001', false], ['null', false],
  ]
  for (const [o, ok] of table) t.equal(cp.originAllowed(o), ok, o)
})

t.test('route matcher: exact path and method', async t => {
  const cp = compilePolicy(loadPolicy('hedged', {}))
  t.match(cp.matchRoute('GET', '/kernel/status'), { kind: 'match', route: { scope: 'kernel:read' } })
  t.match(cp.matchRoute('POST', '/kernel/status'), { kind: 'method', allowed: ['GET'] })
  t.same(cp.matchRoute('GET', '/kernel/status/'), { kind: 'none' })
  t.same(cp.matchRoute('GET', '/KERNEL/status'), { kind: 'none' })
  t.match(cp.matchRoute('GET', '/kernel/connection'), { kind: 'match', route: { action: 'deny' } })
})
