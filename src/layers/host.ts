// Host layer. DNS rebinding (an attacker's name resolving to the sandbox) shows up as a
// foreign Host header; one pure check shared by the kernel front, the CDP front and discovery.
import type { IncomingMessage } from 'node:http'
import type { CompiledPolicy } from '../policy/compile.ts'
import type { Verdict } from './verdict.ts'
import { headerCount } from './request.ts'

/**
 * DNS rebinding (an attacker's name resolving to the sandbox) shows up as a foreign Host.
 * X-Forwarded-Host is believed only from a configured proxy (RFC 7239 §8.3: spoofable).
 */
export function checkHost (cp: CompiledPolicy, req: IncomingMessage, trustedProxies: ReadonlySet<string>): Verdict | null {
  if (headerCount(req, 'host') !== 1) return { layer: 'host', code: 'HEDGE_HOST_DENIED', rule: 'hosts.single-host-header' }
  let host = req.headers.host as string
  const peer = req.socket.remoteAddress ?? ''
  if (trustedProxies.has(peer)) {
    const fwd = req.headers['x-forwarded-host']
    if (fwd !== undefined) {
      if (typeof fwd !== 'string' || fwd.includes(',')) return { layer: 'host', code: 'HEDGE_HOST_DENIED', rule: 'hosts.forwarded-host' }
      host = fwd.trim()
    }
  }
  return cp.hostAllowed(host) ? null : { layer: 'host', code: 'HEDGE_HOST_DENIED', rule: 'hosts.allow', message: 'host not allowed' }
}

