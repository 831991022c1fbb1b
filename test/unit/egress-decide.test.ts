// The egress decision, before any connection: metadata, private, link-local and every
// loopback spelling are refused on the name/literal or after resolution. Pure: no packet
// is ever sent to any of these addresses.
import t from 'tap'
import { compileEgressPolicy } from '../../src/egress/decide.ts'
import { testPolicy } from '../helpers/gateway.ts'

const p = compileEgressPolicy(testPolicy('hedged', { egress: { allow: ['127.0.0.1:4444', 'fixture.test:5555'], denyHosts: ['*.evil.example', 'tracker.example'] } }).egress)

t.test('literals and names refused before DNS', async t => {
  const denied: Array<[string, number, RegExp]> = [
    ['169.254.169.254', 80, /metadata/], ['[fd00:ec2::254]', 80, /metadata/], ['100.100.100.200', 80, /metadata/],
    ['10.0.0.1', 80, /private/], ['192.168.1.1', 443, /private/], ['172.16.0.1', 80, /private/], ['[fc00::1]', 80, /private/],
    ['169.254.1.1', 80, /link-local/], ['[fe80::1]', 80, /link-local/], ['100.64.0.1', 80, /cgnat/],
    ['127.0.0.1', 80, /loopback/], ['127.1', 80, /loopback/], ['2130706433', 80, /loopback/], ['0x7f.1', 80, /loopback/], ['0177.0.0.1', 80, /loopback/],
    ['[::1]', 80, /loopback/], ['[::ffff:127.0.0.1]', 80, /loopback/], ['[::ffff:7f00:1]', 80, /loopback/], ['localhost', 80, /loopback/], ['LOCALHOST.', 80, /loopback/], ['a.localhost', 80, /loopback/],
    ['0.0.0.0', 80, /unspecified/], ['224.0.0.1', 80, /multicast/], ['255.255.255.255', 80, /broadcast/],
    ['metadata.google.internal', 80, /metadata/], ['x.evil.example', 443, /denyHosts/], ['tracker.example', 80, /denyHosts/],
    ['example.com', 22, /port:22/], ['127.0.0.1', 4445, /port|loopback/], ['bad host', 80, /invalid/], ['a..b', 80, /invalid/],
  ]
  for (const [host, port, rule] of denied) {
    const d = p.pre({ host, port })
    if (d.kind === 'literal') {
      const c = p.checkAddress(d.ip)
      t.notOk(c.allowed, `${host}:${port} (as ${d.ip})`)
      t.match(c.rule, rule)
    } else {
      t.equal(d.kind, 'deny', `${host}:${port}`)
      if (d.kind === 'deny') t.match(d.rule, rule)
    }
  }
})

t.test('near misses allowed', async t => {
  for (const [host, port] of [['93.184.215.14', 443], ['128.0.0.1', 80], ['172.32.0.1', 80], ['11.0.0.1', 80], ['169.253.1.1', 80], ['[2606:4700::1]', 443]] as const) {
    const d = p.pre({ host, port })
    t.equal(d.kind, 'literal', `${host}`)
    if (d.kind === 'literal') t.ok(p.checkAddress(d.ip).allowed, `${host}:${port} allowed`)
  }
  t.equal(p.pre({ host: 'example.com', port: 443 }).kind, 'resolve', 'names resolve first')
  t.equal(p.pre({ host: 'notevil.example', port: 443 }).kind, 'resolve', '*.evil.example does not match notevil.example')
  t.same(p.pre({ host: '127.0.0.1', port: 4444 }), { kind: 'allow-exact', rule: 'egress.allow:127.0.0.1:4444', ip: '127.0.0.1' }, 'an explicit allow entry opens one host:port')
  t.equal(p.pre({ host: 'fixture.test', port: 5555 }).kind, 'allow-exact')
})

t.test('after resolution: every address must pass (DNS rebinding, mixed records)', async t => {
  t.same(p.checkResolved(['93.184.215.14']), { allowed: true, ip: '93.184.215.14' })
  const cases: Array<[string[], RegExp]> = [
    [['127.0.0.1'], /loopback/], [['93.184.215.14', '10.0.0.5'], /private/], [['169.254.169.254'], /metadata/],
    [['::ffff:127.0.0.1'], /loopback/], [['64:ff9b::7f00:1'], /loopback/], [[], /no-address/], [['not-an-ip'], /invalid/],
  ]
  for (const [addrs, rule] of cases) {
    const d = p.checkResolved(addrs)
    t.notOk(d.allowed, JSON.stringify(addrs))
    if (!d.allowed) t.match(d.rule, rule)
  }
})
