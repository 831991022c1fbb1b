// The egress decision, pure and in two steps so the proxy can never connect anywhere it
// did not check: (1) on the name and port as the browser asked; (2) on every address the
// name resolved to. The proxy then connects to exactly an address from step 2.
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

function normaliseHost (host: string): string {
  let h = host.toLowerCase()
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  return h.endsWith('.') ? h.slice(0, -1) : h
}

export function compileEgressPolicy (e: Policy['egress']): EgressPolicy {
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
    return { allowed: d.allowed, rule: d.allowed ? d.rule : `egress.${d.rule}` }
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
