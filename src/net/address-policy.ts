// Address classification for "the browser becomes a pivot" (docs/threat-model.md): is this IP
// loopback, private, link-local, a cloud metadata endpoint, …? Pure, no I/O, no DNS.
//
// - classifyAddress() takes an address as DNS or the WHATWG URL parser writes it
//   (dotted-quad IPv4, any valid IPv6 text, optional [brackets] and %zone). It does NOT
//   accept attacker spellings (0x7f.1, 2130706433, 0177.0.0.1): run parseHostLiteral()
//   first. Anything else is 'invalid', which every caller must treat as deny.
// - IPv6 forms that carry an IPv4 address (mapped ::ffff:0:0/96, SIIT ::ffff:0:0:0/96,
//   compatible ::/96, NAT64 64:ff9b::/96, 6to4 2002::/16) are classified by the embedded
//   IPv4: `::ffff:127.0.0.1` is loopback (fail closed: a translator may well deliver it).
// - Anything outside the global-unicast 2000::/3 that is not named below is 'reserved'.
//
// Hot path: parsing writes into module-level scratch (no allocation); decisions of a
// compiled policy are pre-built frozen objects.

export const ADDRESS_CLASSES = [
  'loopback', 'private', 'link-local', 'cgnat', 'multicast', 'unspecified',
  'metadata', 'reserved', 'broadcast', 'documentation', 'public',
] as const

export type AddressClass = typeof ADDRESS_CLASSES[number]
/** What classifyAddress returns: a class, or 'invalid' (unparsable: always deny). */
export type Classification = AddressClass | 'invalid'

// ---------------------------------------------------------------------------
// parsing (into scratch)

let v4 = 0 // last parsed IPv4, uint32
const v6 = new Uint16Array(8) // last parsed IPv6, eight 16-bit groups

function hexVal (c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

/** Strict dotted-quad in s[start, end): four decimal parts 0-255, no leading zeros (ambiguous octal). */
function parseV4 (s: string, start: number, end: number): boolean {
  let value = 0
  let parts = 0
  let i = start
  while (parts < 4) {
    const partStart = i
    let part = 0
    while (i < end) {
      const c = s.charCodeAt(i)
      if (c < 48 || c > 57) break
      part = part * 10 + (c - 48)
      i++
    }
    const len = i - partStart
    if (len === 0 || len > 3 || part > 255) return false
    if (len > 1 && s.charCodeAt(partStart) === 48) return false
    value = value * 256 + part
    parts++
    if (parts < 4) {
      if (i >= end || s.charCodeAt(i) !== 46) return false
      i++
    }
  }
  if (i !== end) return false
  v4 = value >>> 0
  return true
}

/** IPv6 text in s[start, end) (no brackets, no zone) into v6. */
function parseV6 (s: string, start: number, end: number): boolean {
  if (end - start < 2) return false
  let n = 0 // groups written
  let gap = -1 // index in v6 where '::' sits
  let i = start
  if (s.charCodeAt(i) === 58) { // leading ':' must be '::'
    if (s.charCodeAt(i + 1) !== 58) return false
    gap = 0
    i += 2
    if (i === end) { v6.fill(0); return true }
  }
  while (i < end) {
    if (n >= 8) return false
    const groupStart = i
    let value = 0
    while (i < end && i - groupStart < 5) {
      const h = hexVal(s.charCodeAt(i))
      if (h < 0) break
      value = (value << 4) | h
      i++
    }
    const len = i - groupStart
    if (i < end && s.charCodeAt(i) === 46) { // embedded dotted IPv4 as the last 32 bits
      if (n > 6 || !parseV4(s, groupStart, end)) return false
      v6[n++] = v4 >>> 16
      v6[n++] = v4 & 0xffff
      i = end
      break
    }
    if (len === 0 || len > 4) return false
    v6[n++] = value
    if (i === end) break
    if (s.charCodeAt(i) !== 58) return false
    i++
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false // a second '::'
      gap = n
      i++
    } else if (i === end) {
      return false // trailing single ':'
    }
  }
  if (gap < 0) return n === 8
  if (n > 7) return false // '::' must stand for at least one group
  const tail = n - gap
  const shift = 8 - n
  for (let k = tail - 1; k >= 0; k--) v6[gap + shift + k] = v6[gap + k]!
  for (let k = 0; k < shift; k++) v6[gap + k] = 0
  return true
}

/** Parse an IP literal into scratch: 4 (v4 set), 6 (v6 set) or 0 (invalid). Accepts [v6] and v6%zone. */
function parseIp (ip: string): 0 | 4 | 6 {
  let start = 0
  let end = ip.length
  if (end === 0 || end > 64) return 0
  let bracketed = false
  if (ip.charCodeAt(0) === 91) { // '['
    if (ip.charCodeAt(end - 1) !== 93) return 0
    start = 1
    end -= 1
    bracketed = true
  }
  let colon = false
  let zone = -1
  for (let i = start; i < end; i++) {
    const c = ip.charCodeAt(i)
    if (c === 58) colon = true
    else if (c === 37) { zone = i; break } // '%'
  }
  if (!colon) return !bracketed && zone < 0 && parseV4(ip, start, end) ? 4 : 0
  if (zone >= 0) {
    if (zone === end - 1) return 0 // empty zone id
    for (let i = zone + 1; i < end; i++) {
      const c = ip.charCodeAt(i)
      if (c <= 32 || c >= 127 || c === 91 || c === 93 || c === 47) return 0
    }
    end = zone
  }
  return parseV6(ip, start, end) ? 6 : 0
}

// ---------------------------------------------------------------------------
// classification

const V4_METADATA = new Set<number>([
  0xa9fea9fe, // 169.254.169.254  AWS, GCP, Azure IMDS, OCI, DigitalOcean, …
  0xa9feaa02, // 169.254.170.2    AWS ECS task metadata / credentials
  0xa9feaa17, // 169.254.170.23   AWS EKS Pod Identity agent
  0x646464c8, // 100.100.100.200  Alibaba Cloud
  0xa83f8110, // 168.63.129.16    Azure WireServer (sits in public space)
  0xc00000c0, // 192.0.0.192      Oracle Cloud
])

// [network, prefix length, class], first match wins; metadata and broadcast are checked before.
const V4_RANGES: ReadonlyArray<readonly [number, number, AddressClass]> = [
  [0x00000000, 8, 'unspecified'], // 0.0.0.0/8 "this network" (0.0.0.0 reaches loopback on Linux)
  [0x7f000000, 8, 'loopback'], // 127.0.0.0/8
  [0x0a000000, 8, 'private'], // 10.0.0.0/8
  [0xac100000, 12, 'private'], // 172.16.0.0/12
  [0xc0a80000, 16, 'private'], // 192.168.0.0/16
  [0xa9fe0000, 16, 'link-local'], // 169.254.0.0/16
  [0x64400000, 10, 'cgnat'], // 100.64.0.0/10
  [0xe0000000, 4, 'multicast'], // 224.0.0.0/4
  [0xf0000000, 4, 'reserved'], // 240.0.0.0/4
  [0xc0000200, 24, 'documentation'], // 192.0.2.0/24    TEST-NET-1
  [0xc6336400, 24, 'documentation'], // 198.51.100.0/24 TEST-NET-2
  [0xcb007100, 24, 'documentation'], // 203.0.113.0/24  TEST-NET-3
  [0xc0000000, 24, 'reserved'], // 192.0.0.0/24  IETF protocol assignments
  [0xc0586300, 24, 'reserved'], // 192.88.99.0/24 6to4 relay anycast (deprecated)
  [0xc6120000, 15, 'reserved'], // 198.18.0.0/15 benchmarking
]
const V4_MASKS = V4_RANGES.map(([, bits]) => bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0)

function classifyV4 (a: number): AddressClass {
  if (V4_METADATA.has(a)) return 'metadata'
  if (a === 0xffffffff) return 'broadcast'
  for (let i = 0; i < V4_RANGES.length; i++) {
    const r = V4_RANGES[i]!
    if (((a & V4_MASKS[i]!) >>> 0) === r[0]) return r[2]
  }
  return 'public'
}

function isV6Metadata (g: Uint16Array): boolean {
  // fd00:ec2::254 (AWS IMDS), fd00:ec2::23 (EKS Pod Identity), fd20:ce::254 (GCP)
  if (g[2] !== 0 || g[3] !== 0 || g[4] !== 0 || g[5] !== 0 || g[6] !== 0) return false
  if (g[0] === 0xfd00 && g[1] === 0x0ec2) return g[7] === 0x254 || g[7] === 0x23
  if (g[0] === 0xfd20 && g[1] === 0x00ce) return g[7] === 0x254
  return false
}

function classifyV6 (g: Uint16Array): AddressClass {
  const g0 = g[0]!
  if (isV6Metadata(g)) return 'metadata'
  if (g0 === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0) {
    const g4 = g[4]!
    const g5 = g[5]!
    const low = ((g[6]! << 16) | g[7]!) >>> 0
    if (g4 === 0 && g5 === 0xffff) return classifyV4(low) // ::ffff:a.b.c.d mapped
    if (g4 === 0xffff && g5 === 0) return classifyV4(low) // ::ffff:0:a.b.c.d SIIT
    if (g4 === 0 && g5 === 0) {
      if (low === 0) return 'unspecified' // ::
      if (low === 1) return 'loopback' // ::1
      return classifyV4(low) // ::a.b.c.d compatible (deprecated; fail closed)
    }
    return 'reserved'
  }
  if (g0 === 0x0064 && g[1] === 0xff9b) {
    if (g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0) return classifyV4(((g[6]! << 16) | g[7]!) >>> 0) // NAT64
    if (g[2] === 0x0001) return 'private' // 64:ff9b:1::/48 local-use NAT64
    return 'reserved'
  }
  if (g0 === 0x2002) return classifyV4(((g[1]! << 16) | g[2]!) >>> 0) // 6to4
  if (g0 === 0x2001) {
    if (g[1] === 0x0db8) return 'documentation' // 2001:db8::/32
    if (g[1]! < 0x0200) return 'reserved' // 2001::/23 IETF: Teredo, benchmarking, ORCHID, …
  }
  if (g0 === 0x3fff && (g[1]! & 0xf000) === 0) return 'documentation' // 3fff::/20
  if ((g0 & 0xfe00) === 0xfc00) return 'private' // fc00::/7 ULA
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local' // fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return 'private' // fec0::/10 site-local (deprecated)
  if ((g0 & 0xff00) === 0xff00) return 'multicast' // ff00::/8
  if ((g0 & 0xe000) === 0x2000) return 'public' // 2000::/3 global unicast
  return 'reserved' // everything IANA has not handed out (incl. 100::/64 discard)
}

/** Classify a literal IP (as DNS / the WHATWG URL parser writes it). Unparsable → 'invalid'. */
export function classifyAddress (ip: string): Classification {
  const kind = parseIp(ip)
  if (kind === 4) return classifyV4(v4)
  if (kind === 6) return classifyV6(v6)
  return 'invalid'
}

// ---------------------------------------------------------------------------
// attacker-written hosts and special names

// Characters that make the input more than a bare host (port, path, query, fragment, userinfo).
const NOT_A_BARE_HOST = /[/\\?#@]|:(?![^[]*\])/

/**
 * Resolve a host *as written by an attacker* the way browsers do (WHATWG URL host parser:
 * 2130706433, 0177.0.0.1, 0x7f.1, 127.1, trailing dot, fullwidth digits, %-escapes,
 * tabs/newlines removed). Returns the canonical IP (IPv6 without brackets) when browsers
 * would treat the host as an IP address, null when it is a domain name.
 * Throws TypeError when browsers would refuse it (1.2.3.4.5, 0x100000000) or when the
 * input is more than a host (port, path, userinfo): callers must deny on throw.
 */
export function parseHostLiteral (host: string): string | null {
  const stripped = host.replace(/[\t\n\r]/g, '') // the URL parser drops these anywhere
  if (stripped === '' || NOT_A_BARE_HOST.test(stripped)) throw new TypeError('not a bare host')
  let url: URL
  try {
    url = new URL('http://' + stripped + '/')
  } catch {
    throw new TypeError('invalid host')
  }
  const h = url.hostname
  if (h === '' || url.port !== '' || url.username !== '' || url.password !== '' || url.pathname !== '/') {
    throw new TypeError('not a bare host')
  }
  if (h.charCodeAt(0) === 91) return h.slice(1, -1)
  return parseV4(h, 0, h.length) ? h : null
}

const LOCALHOST_NAMES = new Set([
  'localhost', 'localhost.localdomain', 'localhost6', 'localhost6.localdomain6', 'ip6-localhost', 'ip6-loopback',
])

function trimDots (name: string): string {
  let end = name.length
  while (end > 0 && name.charCodeAt(end - 1) === 46) end--
  return (end === name.length ? name : name.slice(0, end)).toLowerCase()
}

/**
 * Names browsers (and /etc/hosts on Debian/Red Hat) resolve to loopback without asking DNS:
 * localhost, *.localhost (RFC 6761), localhost.localdomain, localhost6, ip6-localhost,
 * ip6-loopback. Case-insensitive; trailing dots ignored (fail closed: 'localhost..' counts).
 */
export function isLocalhostName (name: string): boolean {
  const n = trimDots(name)
  return LOCALHOST_NAMES.has(n) || n.endsWith('.localhost')
}

const METADATA_NAMES = new Set([
  'metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal',
])

/** Well-known DNS names of cloud metadata services (e.g. metadata.google.internal). */
export function isMetadataName (name: string): boolean {
  return METADATA_NAMES.has(trimDots(name))
}

// ---------------------------------------------------------------------------
// compiled policy

export interface AddressPolicyOptions {
  /** Classes to deny. 'invalid' is always denied. */
  deny: readonly AddressClass[]
  /** CIDRs or exact IPs allowed whatever their class (e.g. '127.0.0.1/32', 'fd00::/8'). */
  allow?: readonly string[]
}

export interface AddressDecision {
  readonly allowed: boolean
  readonly class: Classification
  /** Which rule decided: 'address.invalid' | 'address.allow:<cidr>' | 'address.deny:<class>' | 'address.default'. */
  readonly rule: string
}

export type AddressPolicy = (ip: string) => AddressDecision

interface CidrRule { readonly family: 4 | 6; readonly bits: number; readonly v4: number; readonly v6: Uint16Array; readonly text: string }

const CLASS_INDEX: Record<Classification, number> = Object.fromEntries(
  [...ADDRESS_CLASSES, 'invalid'].map((c, i) => [c, i]),
) as Record<Classification, number>

/** Parse 'ip' or 'ip/bits' into a rule. Throws on anything ambiguous (host bits set, mapped v6, …). */
export function parseCidr (text: string): CidrRule {
  const slash = text.indexOf('/')
  const ipText = slash < 0 ? text : text.slice(0, slash)
  const kind = parseIp(ipText)
  if (kind === 0 || ipText.includes('%') || ipText.startsWith('[')) throw new TypeError(`invalid CIDR: ${JSON.stringify(text)}`)
  const max = kind === 4 ? 32 : 128
  let bits = max
  if (slash >= 0) {
    const b = text.slice(slash + 1)
    if (!/^(0|[1-9][0-9]{0,2})$/.test(b) || Number(b) > max) throw new TypeError(`invalid CIDR prefix: ${JSON.stringify(text)}`)
    bits = Number(b)
  }
  if (kind === 4) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
    if (((v4 & mask) >>> 0) !== v4) throw new TypeError(`CIDR has host bits set: ${JSON.stringify(text)}`)
    return { family: 4, bits, v4, v6: new Uint16Array(0), text: `${text.slice(0, slash < 0 ? text.length : slash)}/${bits}` }
  }
  const g = Uint16Array.from(v6)
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff && bits >= 96) {
    throw new TypeError(`write IPv4-mapped CIDRs as IPv4: ${JSON.stringify(text)}`)
  }
  for (let k = 0; k < 8; k++) {
    const keep = Math.max(0, Math.min(16, bits - k * 16))
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff
    if ((g[k]! & mask) !== g[k]) throw new TypeError(`CIDR has host bits set: ${JSON.stringify(text)}`)
  }
  return { family: 6, bits, v4: 0, v6: g, text: `${ipText.toLowerCase()}/${bits}` }
}

function matchV6 (r: CidrRule, g: Uint16Array): boolean {
  let bits = r.bits
  for (let k = 0; bits > 0; k++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff
    if ((g[k]! & mask) !== r.v6[k]) return false
  }
  return true
}

/**
 * Compile {deny, allow} once into a fast matcher. Order: invalid → deny; allow CIDR → allow
 * (an IPv4-mapped IPv6 address matches IPv4 rules: it is the same destination); denied
 * class → deny; otherwise allow. Throws at compile time on an unknown class or a bad CIDR.
 */
export function compileAddressPolicy (opts: AddressPolicyOptions): AddressPolicy {
  const denied = new Set<Classification>()
  for (const c of opts.deny) {
    if (!(ADDRESS_CLASSES as readonly string[]).includes(c)) throw new TypeError(`unknown address class: ${JSON.stringify(c)}`)
    denied.add(c)
  }
  const rules = (opts.allow ?? []).map(parseCidr)
  const all = [...ADDRESS_CLASSES, 'invalid'] as const
  const byClass = all.map((c): AddressDecision => Object.freeze(
    c === 'invalid'
      ? { allowed: false, class: c, rule: 'address.invalid' }
      : denied.has(c)
        ? { allowed: false, class: c, rule: `address.deny:${c}` }
        : { allowed: true, class: c, rule: 'address.default' },
  ))
  const byRule = rules.map(r => all.map((c): AddressDecision => Object.freeze({ allowed: true, class: c, rule: `address.allow:${r.text}` })))
  const invalid = byClass[CLASS_INDEX.invalid]!

  return function decideAddress (ip: string): AddressDecision {
    const kind = parseIp(ip)
    if (kind === 0) return invalid
    const cls = kind === 4 ? classifyV4(v4) : classifyV6(v6)
    const idx = CLASS_INDEX[cls]
    if (rules.length > 0) {
      // an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is matched against IPv4 rules
      let family = kind
      let a = v4
      if (kind === 6 && v6[0] === 0 && v6[1] === 0 && v6[2] === 0 && v6[3] === 0 && v6[4] === 0 && v6[5] === 0xffff) {
        family = 4
        a = ((v6[6]! << 16) | v6[7]!) >>> 0
      }
      for (let i = 0; i < rules.length; i++) {
        const r = rules[i]!
        if (r.family !== family) continue
        const hit = family === 4
          ? r.bits === 0 || ((a ^ r.v4) >>> (32 - r.bits)) === 0
          : matchV6(r, v6)
        if (hit) return byRule[i]![idx]!
      }
    }
    return byClass[idx]!
  }
}
