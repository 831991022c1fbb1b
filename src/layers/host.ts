// Host layer. DNS rebinding (an attacker's name resolving to the sandbox) shows up as a
// foreign Host header; one pure decision over the request's facts, shared by the kernel
// front, the CDP front and discovery. X-Forwarded-Host is believed only from a configured
// proxy (RFC 7239 §8.3: spoofable).
import type { IncomingMessage } from 'node:http'
import type { CompiledPolicy } from '../policy/compile.ts'
import type { Verdict } from './verdict.ts'
import { headerCount } from './request.ts'

export interface HostFacts {
  /** How many Host headers came (node keeps only one of several). */
  readonly hostCount: number
  readonly host: string | undefined
  /** X-Forwarded-Host as received (several values arrive folded with ','). */
  readonly forwardedHost: string | string[] | undefined
  /** The peer is a trusted proxy (policy hosts.trustedProxies). */
  readonly fromTrustedProxy: boolean
}

export function hostFacts (req: IncomingMessage, trustedProxies: ReadonlySet<string>): HostFacts {
  return {
    hostCount: headerCount(req, 'host'),
    host: req.headers.host,
    forwardedHost: req.headers['x-forwarded-host'],
    fromTrustedProxy: trustedProxies.has(req.socket.remoteAddress ?? ''),
  }
}

export function decideHost (hostAllowed: (host: string) => boolean, f: HostFacts): Verdict | null {
  if (f.hostCount !== 1 || f.host === undefined) return { layer: 'host', code: 'HEDGE_HOST_DENIED', rule: 'hosts.single-host-header' }
  let host = f.host
  if (f.fromTrustedProxy && f.forwardedHost !== undefined) {
    if (typeof f.forwardedHost !== 'string' || f.forwardedHost.includes(',')) {
      return { layer: 'host', code: 'HEDGE_HOST_DENIED', rule: 'hosts.forwarded-host' }
    }
    host = f.forwardedHost.trim()
  }
  return hostAllowed(host) ? null : { layer: 'host', code: 'HEDGE_HOST_DENIED', rule: 'hosts.allow', message: 'host not allowed' }
}

export function checkHost (cp: CompiledPolicy, req: IncomingMessage, trustedProxies: ReadonlySet<string>): Verdict | null {
  return decideHost(h => cp.hostAllowed(h), hostFacts(req, trustedProxies))
}
