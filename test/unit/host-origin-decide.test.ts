// The host and origin layers as tables: each attack beside its near miss.
import t from 'tap'
import { decideHost, type HostFacts } from '../../src/layers/host.ts'
import { decideOrigin, type OriginFacts } from '../../src/layers/origin.ts'

const ALLOWED_HOSTS = new Set(['127.0.0.1:18888', 'localhost:18888', 'gw.internal:18888'])
const hostAllowed = (h: string): boolean => ALLOWED_HOSTS.has(h.toLowerCase())
const H = (host: string | undefined, o: Partial<HostFacts> = {}): HostFacts =>
  ({ hostCount: host === undefined ? 0 : 1, host, forwardedHost: undefined, fromTrustedProxy: false, ...o })

t.test('host: DNS rebinding and header games, each beside its near miss', async t => {
  const rows: Array<[string, HostFacts, string | null]> = [
    ['rebinding name', H('evil.example:18888'), 'hosts.allow'],
    ['near miss: the gateway\'s own name', H('localhost:18888'), null],
    ['case does not matter', H('LOCALHOST:18888'), null],
    ['no Host header', H(undefined), 'hosts.single-host-header'],
    ['two Host headers', H('localhost:18888', { hostCount: 2 }), 'hosts.single-host-header'],
    ['another port', H('localhost:9999'), 'hosts.allow'],
    ['X-Forwarded-Host from an untrusted peer is ignored', H('evil.example:18888', { forwardedHost: 'localhost:18888' }), 'hosts.allow'],
    ['near miss: from a trusted proxy it is believed',
      H('proxy:80', { forwardedHost: 'gw.internal:18888', fromTrustedProxy: true }), null],
    ['a trusted proxy forwarding a foreign name', H('proxy:80', { forwardedHost: 'evil.example', fromTrustedProxy: true }), 'hosts.allow'],
    ['several forwarded hosts', H('proxy:80', { forwardedHost: 'gw.internal:18888, evil', fromTrustedProxy: true }), 'hosts.forwarded-host'],
    ['forwarded host as an array', H('proxy:80', { forwardedHost: ['a', 'b'], fromTrustedProxy: true }), 'hosts.forwarded-host'],
  ]
  for (const [name, facts, rule] of rows) {
    const v = decideHost(hostAllowed, facts)
    t.equal(v?.rule ?? null, rule, name)
    if (v !== null) t.equal(v.code, 'HEDGE_HOST_DENIED', `${name}: code`)
  }
})

t.test('origin: CSRF and cross-origin reads, each beside its near miss', async t => {
  const allowed = new Set(['https://app.example'])
  const rules = { allowMissing: true, allowed: (o: string) => allowed.has(o) }
  const O = (value: string | undefined, count = value === undefined ? 0 : 1): OriginFacts => ({ count, value })
  const rows: Array<[string, OriginFacts, string | null]> = [
    ['a foreign site', O('https://evil.example'), 'origins.allow'],
    ['near miss: the allowed app', O('https://app.example'), null],
    ['null origin (sandboxed iframe, file:, redirects)', O('null'), 'origins.null'],
    ['two Origin headers', O('https://app.example', 2), 'origins.multiple'],
    ['a list in one header', O('https://app.example, https://evil.example'), 'origins.multiple'],
    ['trailing slash (not canonical)', O('https://app.example/'), 'origins.malformed'],
    ['default port spelled out (not canonical)', O('https://app.example:443'), 'origins.malformed'],
    ['upper case (not canonical)', O('https://APP.example'), 'origins.malformed'],
    ['not a URL', O('app.example'), 'origins.malformed'],
    ['near miss: no Origin (a non-browser client) passes when allowMissing', O(undefined), null],
  ]
  for (const [name, facts, rule] of rows) {
    const v = decideOrigin(rules, facts)
    t.equal(v?.rule ?? null, rule, name)
    if (v !== null) t.equal(v.code, 'HEDGE_ORIGIN_DENIED', `${name}: code`)
  }
  t.equal(decideOrigin({ ...rules, allowMissing: false }, O(undefined))?.rule, 'origins.allowMissing', 'no Origin, when the policy wants one')
})
