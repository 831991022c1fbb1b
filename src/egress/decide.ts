// The egress decision, pure and in two steps so the proxy can never connect anywhere it
// did not check: (1) on the name and port as the browser asked; (2) on every address the
// name resolved to. The proxy then connects to exactly an address from step 2.
import { networkInterfaces } from 'node:os'
import type { Policy } from '../policy/schema.ts'
import { compileAddressPolicy, isLocalhostName, isMetadataName, parseHostLiteral, type AddressClass } from '../net/address-policy.ts'

export interface EgressTarget { readonly host: string, readonly port: number }
export type PreDecision =
  | { readonly kind: 'deny', readonly rule: string }
  | { readonly kind: 'allow-exact', readonly rule: string, readonly ip?: string } // explicit allow entry: no class check
  | { readonly kind: 'literal', readonly ip: string } // an IP literal: check it, connect to it
  | { readonly kind: 'resolve' } // a name: resolve, then checkResolved()

export interface EgressPolicy {
  pre: (t: EgressTarget) => PreDecision
  /** Every address must pass (a name that resolves to one public and one private address is refused). */
  checkResolved: (addresses: readonly string[]) => { allowed: true, ip: string } | { allowed: false, rule: string }
  checkAddress: (ip: string) => { allowed: boolean, rule: string }
}

/**
 * One spelling per address, so an interface address and a resolved/literal one compare:
 * canonical IPv6 (as the URL parser writes it), IPv4-mapped IPv6 as plain IPv4.
 */
export function canonicalIp (ip: string): string | null {
  let c: string | null
  try { c = parseHostLiteral(ip.includes(':') ? `[${ip.replace(/%.*$/, '')}]` : ip) } catch { return null }
  if (c === null) return null
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(c)
  if (m !== null) {
    const hi = parseInt(m[1] as string, 16)
    const lo = parseInt(m[2] as string, 16)
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  }
  return c
}

export type OwnAddresses = () => ReadonlySet<string>

/**
 * The host's own interface addresses (os.networkInterfaces()), canonical, re-read at most
 * every `refreshMs` (interfaces come and go: DHCP, containers' veths). Cheap per decision.
 */
export function interfaceAddresses (refreshMs = 5_000, now: () => number = Date.now): OwnAddresses {
  let cached = new Set<string>()
  let at = -Infinity
  return () => {
    const t = now()
    if (t - at < refreshMs) return cached
    const next = new Set<string>()
    try {
      for (const list of Object.values(networkInterfaces())) {
        for (const a of list ?? []) { const c = canonicalIp(a.address); if (c !== null) next.add(c) }
      }
      cached = next
    } catch { /* keep the last good set */ }
    at = t
    return cached
  }
}

function normaliseHost (host: string): string {
  let h = host.toLowerCase()
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  return h.endsWith('.') ? h.slice(0, -1) : h
}

export interface EgressPolicyOptions {
  /** The host's own addresses, refused whatever their class (default: interfaceAddresses()). */
  ownAddresses?: OwnAddresses
}

export function compileEgressPolicy (e: Policy['egress'], o: EgressPolicyOptions = {}): EgressPolicy {
  const own = o.ownAddresses ?? interfaceAddresses()
  const addr = compileAddressPolicy({ deny: e.denyAddressClasses as AddressClass[] })
  const allowExact = new Set(e.allow.map((a, i) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(a)
    if (m === null) throw new Error(`egress.allow[${i}]: not host:port: "${a}"`)
    return `${normaliseHost(m[1] as string)}:${m[2] as string}`
  }))
  const denyNames = e.denyHosts.map(h => h.toLowerCase())
  const ports = new Set(e.ports)
  const denyClasses = new Set(e.denyAddressClasses)

  const checkAddress = (ip: string): { allowed: boolean, rule: string } => {
    const d = addr(ip)
    if (!d.allowed) return { allowed: false, rule: `egress.${d.rule}` }
    // The machine's own non-loopback addresses reach its own services (and, on some hosts,
    // sit in a class the policy allows): refused whatever the class (issue 9, item 11).
    const c = canonicalIp(ip)
    if (c === null || own().has(c)) return { allowed: false, rule: 'egress.own-address' }
    return { allowed: true, rule: d.rule }
  }
  return {
    pre ({ host, port }: EgressTarget): PreDecision {
      if (!Number.isInteger(port) || port < 1 || port > 65535) return { kind: 'deny', rule: 'egress.port-invalid' }
      const name = normaliseHost(host)
      let literal: string | null
      try { literal = parseHostLiteral(name.includes(':') ? `[${name}]` : name) } catch { return { kind: 'deny', rule: 'egress.host-invalid' } }
      if (allowExact.has(`${name}:${port}`) || (literal !== null && allowExact.has(`${literal}:${port}`))) {
        return literal === null ? { kind: 'allow-exact', rule: `egress.allow:${name}:${port}` } : { kind: 'allow-exact', rule: `egress.allow:${name}:${port}`, ip: literal }
      }
      if (!ports.has(port)) return { kind: 'deny', rule: `egress.port:${port}` }
      for (const d of denyNames) {
        if (d.startsWith('*.') ? name.endsWith(d.slice(1)) : name === d) return { kind: 'deny', rule: `egress.denyHosts:${d}` }
      }
      if (literal !== null) return { kind: 'literal', ip: literal }
      // Names browsers and resolvers map to loopback or metadata without asking DNS.
      if (isLocalhostName(name) && denyClasses.has('loopback')) return { kind: 'deny', rule: 'egress.name:loopback' }
      if (isMetadataName(name) && denyClasses.has('metadata')) return { kind: 'deny', rule: 'egress.name:metadata' }
      if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(name)) return { kind: 'deny', rule: 'egress.host-invalid' }
      return { kind: 'resolve' }
    },
    checkResolved (addresses) {
      if (addresses.length === 0) return { allowed: false, rule: 'egress.dns:no-address' }
      for (const a of addresses) {
        const d = checkAddress(a)
        if (!d.allowed) return { allowed: false, rule: d.rule.replace('egress.', 'egress.dns:') }
      }
      return { allowed: true, ip: addresses[0] as string }
    },
    checkAddress,
  }
}
