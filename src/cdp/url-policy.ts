// URL policy for URLs a CDP client hands the browser (Page.navigate, Target.createTarget, …):
// "the browser becomes a pivot" (docs/threat-model.md). The URL is parsed exactly as Chromium parses it
// (WHATWG URL: 'HTTP://127.1', 'http://0x7f.1', 'http:\\127.0.0.1', tabs and newlines removed,
// userinfo split off), checked, and `canonical` (url.href) is returned so the caller forwards
// the string that was checked, never the original spelling.
//
// Order (first match decides):
//  1. unparsable / too long                        → deny
//  2. about:  only the exact string 'about:blank' when allowAboutBlank (not 'about:blank#x',
//     'about:blank?x', 'about:srcdoc' …: nothing legitimate needs them), or any about: URL
//     when 'about' is listed in schemes
//  3. scheme not in `schemes` (file:, javascript:, data:, chrome:, devtools:, blob:, …) → deny
//  4. wrapper schemes (view-source:, blob:, filesystem:) when listed: the inner URL is checked
//     with this same policy (one level; nested wrappers are denied)
//  5. userinfo (user:pass@) → deny unless allowCredentials
//  6. allowHosts: exact host, host:port or *.suffix → allow (overrides 7 and 8)
//  7. denyHosts (same syntax)                       → deny
//  8. the host's address class: IP literals via classifyAddress; localhost names (localhost,
//     *.localhost, …) count as 'loopback' and well-known metadata names as 'metadata' → deny
//     when the class is in denyAddressClasses
//  9. otherwise allow.
// LIMITATION: a domain name is judged by its spelling only. Whether it resolves to loopback
// or a private address (DNS rebinding, nip.io-style names) is decided later, after resolution,
// by the egress proxy under Chromium; this check is the early, cheap layer, not the last.
import {
  classifyAddress, isLocalhostName, isMetadataName, parseHostLiteral,
  ADDRESS_CLASSES, type AddressClass, type Classification,
} from '../net/address-policy.ts'

export interface UrlPolicyOptions {
  /** Allowed schemes without ':' (e.g. ['http', 'https']). */
  schemes: readonly string[]
  /** Allow the exact URL 'about:blank'. */
  allowAboutBlank: boolean
  /** Address classes refused for IP-literal and localhost/metadata-name hosts. */
  denyAddressClasses: readonly AddressClass[]
  /** 'host', 'host:port' or '*.suffix[:port]'; overrides denyHosts and address classes. */
  allowHosts?: readonly string[]
  /** Same syntax as allowHosts. */
  denyHosts?: readonly string[]
  /** Allow URLs with userinfo (user:pass@). Default false. */
  allowCredentials?: boolean
  /** Longest URL accepted, in UTF-16 units. Default 2 MiB (Chromium's own limit). */
  maxLength?: number
}

export type UrlDenyReason =
  | 'invalid-url' | 'too-long' | 'scheme-denied' | 'about-denied' | 'nested-wrapper'
  | 'credentials-denied' | 'invalid-host' | 'host-denied' | 'address-denied'
export type UrlAllowReason = 'about-blank' | 'scheme-allowed' | 'host-allowed' | 'allowed'

export interface UrlDecision {
  readonly allowed: boolean
  /** Which rule decided, e.g. 'url.scheme:file', 'url.address:loopback', 'url.allowHosts:127.0.0.1:8080'. */
  readonly rule: string
  /** Stable reason code. */
  readonly reason: UrlDenyReason | UrlAllowReason
  /** url.href, when the URL parsed: forward this, not the input. */
  readonly canonical?: string
  /** The host's address class, when it is an IP literal or a special name. */
  readonly addressClass?: Classification
}

export type UrlPolicy = (url: string) => UrlDecision

const SPECIAL_SCHEMES = new Set(['http', 'https', 'ws', 'wss', 'ftp', 'file'])
const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, ws: 80, wss: 443, ftp: 21 }
const WRAPPER_SCHEMES = new Set(['view-source', 'blob', 'filesystem'])
const SCHEME = /^[a-z][a-z0-9+.-]*$/
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/

interface HostRule { readonly text: string, readonly host: string, readonly suffix: boolean, readonly port: number | null }

function trimDots (h: string): string {
  let end = h.length
  while (end > 0 && h.charCodeAt(end - 1) === 46) end--
  return end === h.length ? h : h.slice(0, end)
}

/** Parse 'host', 'host:port', '[v6]:port', '*.suffix[:port]' into a canonical rule; throws on anything else. */
function parseHostRule (text: string, field: string): HostRule {
  const bad = (why: string): never => { throw new TypeError(`${field}: ${why}: ${JSON.stringify(text)}`) }
  const m = /^(\*\.)?(\[[0-9A-Fa-f:.]+\]|[^[\]:*/\\@?#\s]+)(?::(\d{1,5}))?$/.exec(text)
  if (m === null) return bad('not host, host:port or *.suffix')
  const wildcard = m[1] !== undefined
  const hostText = m[2]!
  const port = m[3] === undefined ? null : Number(m[3])
  if (port !== null && (port < 1 || port > 65535)) bad('port out of range')
  let ip: string | null
  try { ip = parseHostLiteral(hostText) } catch { return bad('invalid host') }
  if (ip !== null) {
    if (wildcard) bad('a wildcard needs a domain suffix, not an IP')
    return { text, host: ip.includes(':') ? `[${ip}]` : ip, suffix: false, port }
  }
  const host = trimDots(new URL(`http://${hostText}/`).hostname) // IDNA + lowercase, as the browser will
  if (host === '') bad('empty host')
  return { text, host: wildcard ? `.${host}` : host, suffix: wildcard, port }
}

function compileHostRules (rules: readonly string[] | undefined, field: string): (host: string, port: number | null) => HostRule | undefined {
  const parsed = (rules ?? []).map(r => parseHostRule(r, field))
  const exact = new Map<string, HostRule[]>()
  const suffixes: HostRule[] = []
  for (const r of parsed) {
    if (r.suffix) suffixes.push(r)
    else exact.set(r.host, [...(exact.get(r.host) ?? []), r])
  }
  return (host, port) => {
    const list = exact.get(host)
    if (list !== undefined) for (const r of list) if (r.port === null || r.port === port) return r
    for (const r of suffixes) {
      if (host.length > r.host.length && host.endsWith(r.host) && (r.port === null || r.port === port)) return r
    }
    return undefined
  }
}

function deny (reason: UrlDenyReason, rule: string, canonical?: string, addressClass?: Classification): UrlDecision {
  return { allowed: false, rule, reason, canonical, addressClass }
}

/** Compile the policy once; a bad option throws here, never per URL. */
export function compileUrlPolicy (opts: UrlPolicyOptions): UrlPolicy {
  const schemes = new Set<string>()
  for (const s of opts.schemes) {
    const lower = s.toLowerCase().replace(/:$/, '')
    if (!SCHEME.test(lower)) throw new TypeError(`schemes: invalid scheme ${JSON.stringify(s)}`)
    schemes.add(lower)
  }
  const denyClasses = new Set<Classification>(['invalid'])
  for (const c of opts.denyAddressClasses) {
    if (!(ADDRESS_CLASSES as readonly string[]).includes(c)) throw new TypeError(`denyAddressClasses: unknown class ${JSON.stringify(c)}`)
    denyClasses.add(c)
  }
  const matchAllow = compileHostRules(opts.allowHosts, 'allowHosts')
  const matchDeny = compileHostRules(opts.denyHosts, 'denyHosts')
  const allowAboutBlank = opts.allowAboutBlank
  const allowCredentials = opts.allowCredentials ?? false
  const maxLength = opts.maxLength ?? 2 * 1024 * 1024
  if (!(maxLength >= 0)) throw new TypeError('maxLength must be a non-negative number')

  function decide (input: string, nested: boolean): UrlDecision {
    if (typeof input !== 'string') return deny('invalid-url', 'url.invalid')
    if (input.length > maxLength) return deny('too-long', 'url.too-long')
    let url: URL
    try { url = new URL(input) } catch { return deny('invalid-url', 'url.invalid') }
    const href = url.href
    const scheme = url.protocol.slice(0, -1)

    if (scheme === 'about') {
      if (allowAboutBlank && href === 'about:blank') return { allowed: true, rule: 'url.about-blank', reason: 'about-blank', canonical: href }
      if (schemes.has('about')) return { allowed: true, rule: 'url.scheme:about', reason: 'scheme-allowed', canonical: href }
      return deny('about-denied', 'url.about', href)
    }
    if (!schemes.has(scheme)) return deny('scheme-denied', `url.scheme:${scheme}`, href)
    if (WRAPPER_SCHEMES.has(scheme)) {
      if (nested) return deny('nested-wrapper', `url.scheme:${scheme}`, href)
      // the decision is the inner URL's; canonical stays the whole (wrapped) URL
      return { ...decide(href.slice(scheme.length + 1), true), canonical: href }
    }
    if ((url.username !== '' || url.password !== '') && !allowCredentials) return deny('credentials-denied', 'url.credentials', href)

    const hostname = url.hostname
    if (hostname === '') return { allowed: true, rule: `url.scheme:${scheme}`, reason: 'scheme-allowed', canonical: href }

    // classify the host: IP literal, special name, or a plain domain (cls undefined)
    let key: string
    let cls: Classification | undefined
    if (hostname.charCodeAt(0) === 91) {
      key = hostname
      cls = classifyAddress(hostname)
    } else if (SPECIAL_SCHEMES.has(scheme)) {
      // the WHATWG host parser already turned every IPv4 spelling into dotted decimal
      key = trimDots(hostname)
      cls = IPV4.test(hostname) ? classifyAddress(hostname) : undefined
    } else {
      // opaque host of a listed non-special scheme: read it the way an http URL would be read
      let ip: string | null
      try { ip = parseHostLiteral(hostname) } catch { return deny('invalid-host', 'url.host', href) }
      key = ip === null ? trimDots(hostname.toLowerCase()) : ip.includes(':') ? `[${ip}]` : ip
      cls = ip === null ? undefined : classifyAddress(ip)
    }
    if (cls === undefined) {
      if (isLocalhostName(key)) cls = 'loopback'
      else if (isMetadataName(key)) cls = 'metadata'
    }

    const port = url.port !== '' ? Number(url.port) : DEFAULT_PORTS[scheme] ?? null
    const allowRule = matchAllow(key, port)
    if (allowRule !== undefined) {
      return { allowed: true, rule: `url.allowHosts:${allowRule.text}`, reason: 'host-allowed', canonical: href, addressClass: cls }
    }
    const denyRule = matchDeny(key, port)
    if (denyRule !== undefined) return deny('host-denied', `url.denyHosts:${denyRule.text}`, href, cls)
    if (cls !== undefined && denyClasses.has(cls)) return deny('address-denied', `url.address:${cls}`, href, cls)
    return { allowed: true, rule: 'url.default', reason: 'allowed', canonical: href, addressClass: cls }
  }

  return function checkUrl (url: string): UrlDecision { return decide(url, false) }
}
