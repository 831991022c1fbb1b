import t from 'tap'
import { isIP } from 'node:net'
import {
  classifyAddress, parseHostLiteral, compileAddressPolicy, isLocalhostName, isMetadataName, parseCidr,
  ADDRESS_CLASSES, type Classification,
} from '../../src/net/address-policy.ts'

// [address, expected class] — each named range next to its neighbours
const V4: Array<[string, Classification]> = [
  ['0.0.0.0', 'unspecified'], ['0.255.255.255', 'unspecified'], ['1.0.0.0', 'public'],
  ['126.255.255.255', 'public'], ['127.0.0.0', 'loopback'], ['127.0.0.1', 'loopback'], ['127.255.255.255', 'loopback'], ['128.0.0.1', 'public'],
  ['9.255.255.255', 'public'], ['10.0.0.1', 'private'], ['10.255.255.255', 'private'], ['11.0.0.1', 'public'],
  ['172.15.0.1', 'public'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['172.32.0.1', 'public'],
  ['192.167.255.255', 'public'], ['192.168.0.1', 'private'], ['192.168.255.255', 'private'], ['192.169.0.1', 'public'],
  ['169.253.255.255', 'public'], ['169.254.0.1', 'link-local'], ['169.254.1.1', 'link-local'], ['169.254.255.255', 'link-local'], ['169.255.0.1', 'public'],
  ['169.254.169.254', 'metadata'], ['169.254.169.253', 'link-local'], ['169.254.169.255', 'link-local'],
  ['169.254.170.2', 'metadata'], ['169.254.170.3', 'link-local'], ['169.254.170.23', 'metadata'],
  ['100.63.255.255', 'public'], ['100.64.0.1', 'cgnat'], ['100.127.255.255', 'cgnat'], ['100.128.0.1', 'public'],
  ['100.100.100.200', 'metadata'], ['100.100.100.201', 'cgnat'],
  ['168.63.129.16', 'metadata'], ['168.63.129.17', 'public'],
  ['192.0.0.192', 'metadata'], ['192.0.0.193', 'reserved'], ['192.0.0.1', 'reserved'],
  ['223.255.255.255', 'public'], ['224.0.0.1', 'multicast'], ['239.255.255.255', 'multicast'],
  ['240.0.0.1', 'reserved'], ['255.255.255.254', 'reserved'], ['255.255.255.255', 'broadcast'],
  ['192.0.1.255', 'public'], ['192.0.2.1', 'documentation'], ['192.0.3.0', 'public'],
  ['198.51.99.255', 'public'], ['198.51.100.7', 'documentation'], ['198.51.101.0', 'public'],
  ['203.0.112.255', 'public'], ['203.0.113.9', 'documentation'], ['203.0.114.0', 'public'],
  ['198.17.255.255', 'public'], ['198.18.0.1', 'reserved'], ['198.19.255.255', 'reserved'], ['198.20.0.0', 'public'],
  ['192.88.99.1', 'reserved'], ['192.88.98.1', 'public'],
  ['8.8.8.8', 'public'], ['1.1.1.1', 'public'],
]

const V6: Array<[string, Classification]> = [
  ['::', 'unspecified'], ['0:0:0:0:0:0:0:0', 'unspecified'], ['::1', 'loopback'], ['0:0:0:0:0:0:0:1', 'loopback'], ['::2', 'unspecified'],
  ['[::1]', 'loopback'], ['::1%lo', 'loopback'],
  // IPv4-mapped, every spelling
  ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'], ['::FFFF:7F00:0001', 'loopback'], ['0:0:0:0:0:ffff:127.0.0.1', 'loopback'],
  ['0000:0000:0000:0000:0000:ffff:7f00:0001', 'loopback'], ['[::ffff:127.0.0.1]', 'loopback'],
  ['::ffff:8.8.8.8', 'public'], ['::ffff:10.1.2.3', 'private'], ['::ffff:169.254.169.254', 'metadata'], ['::ffff:0.0.0.0', 'unspecified'],
  ['::ffff:0:127.0.0.1', 'loopback'], ['::ffff:0:8.8.8.8', 'public'], // SIIT
  ['::127.0.0.1', 'loopback'], ['::7f00:1', 'loopback'], ['::8.8.8.8', 'public'], ['::a9fe:a9fe', 'metadata'], // IPv4-compatible
  ['::1:0:0:0', 'reserved'], ['::fffe:7f00:1', 'reserved'],
  // NAT64 and 6to4
  ['64:ff9b::127.0.0.1', 'loopback'], ['64:ff9b::7f00:1', 'loopback'], ['64:ff9b::808:808', 'public'], ['64:ff9b::a9fe:a9fe', 'metadata'],
  ['64:ff9b:1::1', 'private'], ['64:ff9b:0:1::7f00:1', 'reserved'],
  ['2002:7f00:1::', 'loopback'], ['2002:7f00:0001:1234::5', 'loopback'], ['2002:a00:1::1', 'private'], ['2002:808:808::1', 'public'], ['2002:a9fe:a9fe::', 'metadata'],
  // ULA, link-local, site-local, multicast
  ['fbff:ffff::1', 'reserved'], ['fc00::1', 'private'], ['fd12:3456::1', 'private'], ['fdff:ffff::1', 'private'], ['fe00::1', 'reserved'],
  ['fe80::1', 'link-local'], ['fe80::1%eth0', 'link-local'], ['fe80::1%25eth0', 'link-local'], ['FE80::ABCD', 'link-local'], ['febf:ffff::1', 'link-local'],
  ['fec0::1', 'private'], ['ff00::', 'multicast'], ['ff02::1', 'multicast'], ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'multicast'],
  // metadata
  ['fd00:ec2::254', 'metadata'], ['fd00:ec2:0:0:0:0:0:254', 'metadata'], ['fd00:ec2::253', 'private'], ['fd00:ec2::23', 'metadata'], ['fd20:ce::254', 'metadata'], ['fd20:ce::255', 'private'],
  // documentation, IETF blocks, public
  ['2001:db8::1', 'documentation'], ['2001:db9::1', 'public'], ['2001:db7::1', 'public'], ['3fff::1', 'documentation'], ['3fff:fff::1', 'documentation'], ['3fff:1000::1', 'public'], ['3ffe::1', 'public'],
  ['2001::1', 'reserved'], ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'], ['2001:2::1', 'reserved'], ['2001:10::1', 'reserved'],
  ['2001:200::1', 'public'], ['2001:4860:4860::8888', 'public'], ['2606:4700:4700::1111', 'public'], ['2a00:1450::1', 'public'],
  ['100::1', 'reserved'], ['1fff::1', 'reserved'], ['4000::1', 'reserved'], ['5f00::1', 'reserved'],
  ['1:2:3:4:5:6:7::', 'reserved'], ['::2:3:4:5:6:7:8', 'reserved'],
]

const INVALID = [
  '', ' ', '127.0.0.1 ', ' 127.0.0.1', '127.0.0', '127.1', '127.0.0.1.', '127.0.0.256', '1.2.3.4.5', '01.2.3.4', '127.0.0.01', '0x7f.0.0.1',
  '2130706433', '0177.0.0.1', 'localhost', 'example.com', '[127.0.0.1]', '127.0.0.1%eth0', '-1.0.0.0', '1..2.3',
  ':', ':::', '1::2::3', ':1', '1:', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::1', '::1%', '[::1', '::1]', '[[::1]]',
  '::ffff:127.0.0.1.', '::ffff:1.2.3', '::ffff:256.0.0.1', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3.4:5', '1:2:3:4:5:6:7:8::', 'fe80::1%et h0',
  '\u0661\u0662\u0667.0.0.1', '127.0.0.1\n', 'x'.repeat(100),
]

t.test('classifyAddress: IPv4 ranges and their neighbours', async t => {
  for (const [ip, cls] of V4) t.equal(classifyAddress(ip), cls, ip)
})

t.test('classifyAddress: IPv6 ranges, embedded IPv4, zones', async t => {
  for (const [ip, cls] of V6) t.equal(classifyAddress(ip), cls, ip)
})

t.test('classifyAddress: anything not a canonical literal is invalid', async t => {
  for (const ip of INVALID) t.equal(classifyAddress(ip), 'invalid', JSON.stringify(ip))
})

t.test('classifyAddress agrees with node:net isIP on what is an address', async t => {
  for (const [ip] of [...V4, ...V6]) {
    if (ip.startsWith('[')) continue
    t.not(isIP(ip), 0, `node also parses ${ip}`)
  }
  for (const ip of INVALID) {
    if (isIP(ip) !== 0) t.fail(`node parses ${JSON.stringify(ip)} but we refuse it`)
  }
})

t.test('classifyAddress: random IPv6 in every textual form classifies identically', async t => {
  let seed = 12345
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
  const prefixes = [0, 0, 0x64, 0x2002, 0xfe80, 0xfd00, 0xff02, 0x2001, 0x2606]
  let checked = 0
  for (let k = 0; k < 2000; k++) {
    const g = Array.from({ length: 8 }, () => rnd(4) === 0 ? 0 : rnd(0x10000))
    g[0] = prefixes[rnd(prefixes.length)]!
    if (g[0] === 0) { g[1] = g[2] = g[3] = g[4] = 0; g[5] = rnd(2) === 0 ? 0xffff : 0 }
    const full = g.map(x => x.toString(16).padStart(4, '0')).join(':')
    const short = g.map(x => x.toString(16)).join(':')
    const whatwg = new URL(`http://[${full}]/`).hostname.slice(1, -1)
    const dotted = `${g.slice(0, 6).map(x => x.toString(16)).join(':')}:${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`
    const expected = classifyAddress(full)
    t.not(expected, 'invalid', full)
    for (const form of [short, whatwg, dotted, full.toUpperCase(), `[${whatwg}]`]) {
      if (classifyAddress(form) !== expected) t.fail(`${form} classified ${classifyAddress(form)}, ${full} ${expected}`)
      checked++
    }
  }
  t.equal(checked, 10000)
})

t.test('classifyAddress only ever returns a known class', async t => {
  const known = new Set<string>([...ADDRESS_CLASSES, 'invalid'])
  for (const [ip] of [...V4, ...V6]) t.ok(known.has(classifyAddress(ip)))
})

t.test('parseHostLiteral: every browser spelling of loopback', async t => {
  const loopback = [
    '127.0.0.1', '127.1', '127.0.1', '2130706433', '0x7f000001', '0X7F000001', '0x7f.1', '0x7F.0.0.1', '0177.0.0.1', '0177.1',
    '017700000001', '0x7f.0x0.0x0.0x1', '127.0.0.1.', '127.0.0.1.', '%31%32%37.0.0.1', '\uff11\uff12\uff17.0.0.1', '127.0.0.1\t', '1\n27.0.0.1',
    '0x00007f.1', '127.000.000.001',
  ]
  for (const h of loopback) t.equal(parseHostLiteral(h), '127.0.0.1', JSON.stringify(h))
  t.equal(parseHostLiteral('[::1]'), '::1')
  t.equal(parseHostLiteral('[0:0:0:0:0:0:0:1]'), '::1')
  t.equal(parseHostLiteral('[::ffff:127.0.0.1]'), '::ffff:7f00:1')
  t.equal(parseHostLiteral('[::FFFF:7F00:1]'), '::ffff:7f00:1')
  t.equal(parseHostLiteral('0'), '0.0.0.0')
  t.equal(parseHostLiteral('0x0'), '0.0.0.0')
  t.equal(parseHostLiteral('169.254.43518'), '169.254.169.254')
  t.equal(parseHostLiteral('0xa9fea9fe'), '169.254.169.254')
  t.equal(parseHostLiteral('2852039166'), '169.254.169.254')
  for (const h of [...loopback, '[::1]', '[::ffff:127.0.0.1]']) t.equal(classifyAddress(parseHostLiteral(h)!), 'loopback', `${JSON.stringify(h)} classifies as loopback`)
})

t.test('parseHostLiteral: domain names are null, near-IPs included', async t => {
  for (const h of ['example.com', 'localhost', 'LOCALHOST', '127.0.0.1.nip.io', '0x7f.example', '1.2.3.4.example', 'xn--nxasmq6b', 'a', '127-0-0-1.example'])
    t.equal(parseHostLiteral(h), null, h)
})

t.test('parseHostLiteral: what browsers refuse or what is not a bare host throws', async t => {
  for (const h of [
    '', '1.2.3.4.5', '0x100000000', '4294967296', '256.0.0.1', '127.0.0.1:80', '[::1]:80', 'a@127.0.0.1', '127.0.0.1/x', '127.0.0.1?',
    '127.0.0.1#', '127.0.0.1\\x', 'a b', '[::1', '[127.0.0.1]', 'foo.123', '%2f', '\t', '[fe80::1%25eth0]', 'exa%00mple.com',
  ]) t.throws(() => parseHostLiteral(h), TypeError, JSON.stringify(h))
})

t.test('isLocalhostName', async t => {
  for (const n of ['localhost', 'LOCALHOST', 'localhost.', 'localhost..', 'a.localhost', 'x.y.localhost', 'a.localhost.', 'localhost.localdomain',
    'LocalHost.LocalDomain.', 'ip6-localhost', 'ip6-loopback', 'localhost6', 'localhost6.localdomain6']) t.ok(isLocalhostName(n), n)
  for (const n of ['', 'localhostx', 'mylocalhost', 'localhost.com', 'localhost.localdomain.com', 'alocalhost', 'local', 'ip6-localnet',
    'localhost-1', '127.0.0.1', '.', 'localhost.example']) t.notOk(isLocalhostName(n), n)
})

t.test('isMetadataName', async t => {
  for (const n of ['metadata.google.internal', 'METADATA.GOOGLE.INTERNAL.', 'metadata', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal'])
    t.ok(isMetadataName(n), n)
  for (const n of ['metadata.google.internal.example', 'google.internal', 'metadata2', 'xmetadata.goog']) t.notOk(isMetadataName(n), n)
})

t.test('compileAddressPolicy: denies listed classes, allows the rest', async t => {
  const p = compileAddressPolicy({ deny: ['loopback', 'private', 'link-local', 'metadata', 'unspecified', 'cgnat'] })
  const table: Array<[string, boolean, string]> = [
    ['127.0.0.1', false, 'address.deny:loopback'], ['128.0.0.1', true, 'address.default'],
    ['169.254.169.254', false, 'address.deny:metadata'], ['169.254.1.1', false, 'address.deny:link-local'],
    ['10.0.0.1', false, 'address.deny:private'], ['11.0.0.1', true, 'address.default'],
    ['::ffff:127.0.0.1', false, 'address.deny:loopback'], ['64:ff9b::7f00:1', false, 'address.deny:loopback'],
    ['2606:4700::1', true, 'address.default'], ['224.0.0.1', true, 'address.default'],
    ['0.0.0.0', false, 'address.deny:unspecified'], ['::', false, 'address.deny:unspecified'],
    ['not an ip', false, 'address.invalid'], ['', false, 'address.invalid'], ['127.1', false, 'address.invalid'],
  ]
  for (const [ip, allowed, rule] of table) {
    const d = p(ip)
    t.equal(d.allowed, allowed, `${ip} allowed=${allowed}`)
    t.equal(d.rule, rule, `${ip} rule`)
    t.equal(d.class, classifyAddress(ip), `${ip} class`)
  }
  t.ok(Object.isFrozen(p('127.0.0.1')), 'decisions are frozen')
  t.equal(p('127.0.0.1'), p('127.0.0.2'), 'decisions are shared (no allocation per call)')
})

t.test('compileAddressPolicy: allow CIDRs override, exactly', async t => {
  const p = compileAddressPolicy({ deny: ['loopback', 'private', 'link-local'], allow: ['127.0.0.1/32', '10.1.0.0/16', 'fd12:3400::/22', '::1', '192.168.7.7'] })
  const table: Array<[string, boolean, string]> = [
    ['127.0.0.1', true, 'address.allow:127.0.0.1/32'], ['127.0.0.2', false, 'address.deny:loopback'],
    ['::ffff:127.0.0.1', true, 'address.allow:127.0.0.1/32'], ['::ffff:7f00:2', false, 'address.deny:loopback'],
    ['64:ff9b::7f00:1', false, 'address.deny:loopback'], // a NAT64 address is not the same destination
    ['10.1.255.255', true, 'address.allow:10.1.0.0/16'], ['10.2.0.0', false, 'address.deny:private'], ['10.0.255.255', false, 'address.deny:private'],
    ['fd12:3400::1', true, 'address.allow:fd12:3400::/22'], ['fd12:37ff:ffff::1', true, 'address.allow:fd12:3400::/22'], ['fd12:3800::1', false, 'address.deny:private'],
    ['::1', true, 'address.allow:::1/128'], ['192.168.7.7', true, 'address.allow:192.168.7.7/32'], ['192.168.7.8', false, 'address.deny:private'],
    ['169.254.169.254', true, 'address.default'],
  ]
  for (const [ip, allowed, rule] of table) {
    t.equal(p(ip).allowed, allowed, `${ip} allowed=${allowed}`)
    t.equal(p(ip).rule, rule, `${ip} rule`)
  }
  t.equal(p('127.0.0.1').class, 'loopback', 'an allowed address keeps its class')
  const all = compileAddressPolicy({ deny: ['public'], allow: ['0.0.0.0/0'] })
  t.ok(all('8.8.8.8').allowed)
  t.notOk(all('2606:4700::1').allowed, 'an IPv4 rule never matches IPv6')
  t.notOk(all('junk').allowed, 'invalid is denied whatever is allowed')
})

t.test('compileAddressPolicy: bad configuration fails at compile time', async t => {
  t.throws(() => compileAddressPolicy({ deny: ['loopbak' as never] }), /unknown address class/)
  t.throws(() => compileAddressPolicy({ deny: ['invalid' as never] }), /unknown address class/)
  for (const bad of ['10.0.0.1/8', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '10.0.0.0/-1', 'fd00::1/8', '::/129', '::ffff:127.0.0.1/128',
    '::ffff:0:0/96', 'localhost', '127.1', '[::1]', 'fe80::1%eth0', '10.0.0.0/8/8', '']) {
    t.throws(() => compileAddressPolicy({ deny: [], allow: [bad] }), TypeError, bad)
  }
  t.same(parseCidr('10.0.0.0/8').bits, 8)
  t.same(parseCidr('::/0').bits, 0)
})
