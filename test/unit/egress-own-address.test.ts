// Issue 9, item 11: documentation ranges are refused by default (egress and URL policy), and
// the egress guard refuses the host's own interface addresses whatever their class. Pure
// decisions: no packet is sent anywhere.
import t from 'tap'
import { networkInterfaces } from 'node:os'
import { canonicalIp, compileEgressPolicy, interfaceAddresses } from '../../src/egress/decide.ts'
import { compileUrlPolicy } from '../../src/cdp/url-policy.ts'
import type { AddressClass } from '../../src/net/address-policy.ts'
import { testPolicy } from '../helpers/gateway.ts'

const DOCUMENTATION = ['192.0.2.1', '198.51.100.7', '203.0.113.9', '2001:db8::1', '2001:db8:ffff::1', '3fff::1', '3fff:fff::1', '::ffff:192.0.2.1']

t.test('documentation ranges are in both default deny lists', async t => {
  for (const base of ['hedged', 'baseline']) {
    const pol = testPolicy(base)
    t.ok(pol.egress.denyAddressClasses.includes('documentation'), `${base}: egress.denyAddressClasses`)
    t.ok(pol.cdp.urls.denyAddressClasses.includes('documentation'), `${base}: cdp.urls.denyAddressClasses`)
  }
  const p = compileEgressPolicy(testPolicy('hedged').egress, { ownAddresses: () => new Set() })
  for (const ip of DOCUMENTATION) t.same(p.checkAddress(ip), { allowed: false, rule: 'egress.address.deny:documentation' }, ip)
  t.same(p.checkResolved(['93.184.215.14', '203.0.113.5']), { allowed: false, rule: 'egress.dns:address.deny:documentation' }, 'one documentation address among the answers')
  const url = compileUrlPolicy({ schemes: ['http', 'https'], allowAboutBlank: true, denyAddressClasses: testPolicy('hedged').cdp.urls.denyAddressClasses as AddressClass[], allowHosts: [], denyHosts: [] })
  for (const u of ['http://192.0.2.1/', 'https://198.51.100.7:443/x', 'http://[2001:db8::1]/', 'http://[3fff::1]/', 'http://203.0.113.9./']) {
    t.notOk(url(u).allowed, u)
  }
  t.ok(url('https://93.184.215.14/').allowed, 'a public address is still allowed')
})

t.test('own interface addresses are refused whatever their class', async t => {
  // Pretend the host owns a public v4, a public v6 and a documentation address.
  const own = new Set(['8.8.4.4', '2a00:1450:4001:80b::200e', '192.0.2.77'])
  const noClasses = testPolicy('hedged', { egress: { denyAddressClasses: [] } }).egress
  const p = compileEgressPolicy(noClasses, { ownAddresses: () => own })
  for (const ip of ['8.8.4.4', '::ffff:8.8.4.4', '::ffff:808:404', '2a00:1450:4001:80b:0:0:0:200e', '2A00:1450:4001:80B::200E', '192.0.2.77']) {
    t.same(p.checkAddress(ip), { allowed: false, rule: 'egress.own-address' }, ip)
  }
  t.same(p.checkResolved(['1.1.1.1', '8.8.4.4']), { allowed: false, rule: 'egress.dns:own-address' }, 'after DNS too')
  t.same(p.checkAddress('8.8.8.8'), { allowed: true, rule: 'address.default' }, 'a neighbour that is not ours follows the classes')
  const pre = p.pre({ host: '8.8.4.4', port: 443 })
  t.same(pre, { kind: 'literal', ip: '8.8.4.4' })
  // With the default classes, a class denial keeps its own rule name.
  const hedged = compileEgressPolicy(testPolicy('hedged').egress, { ownAddresses: () => new Set(['127.0.0.1', '10.1.2.3']) })
  t.same(hedged.checkAddress('10.1.2.3'), { allowed: false, rule: 'egress.address.deny:private' })
})

t.test('the default source reads this host\'s interfaces and refreshes', async t => {
  const mine = Object.values(networkInterfaces()).flatMap(l => (l ?? []).map(a => a.address))
  t.ok(mine.length > 0, `this host has addresses: ${mine.join(', ')}`)
  const p = compileEgressPolicy(testPolicy('hedged', { egress: { denyAddressClasses: [] } }).egress)
  for (const a of mine) t.same(p.checkAddress(a), { allowed: false, rule: 'egress.own-address' }, a)
  let clock = 0
  const src = interfaceAddresses(1000, () => clock)
  const first = src()
  t.equal(src(), first, 'the same set within the refresh interval')
  clock = 1500
  const second = src()
  t.not(second, first, 're-read after it')
  t.same([...second].sort(), [...first].sort())
  t.equal(canonicalIp('::ffff:7f00:1'), '127.0.0.1')
  t.equal(canonicalIp('fe80::1%eth0'), 'fe80::1')
  t.equal(canonicalIp('not an ip'), null)
})
