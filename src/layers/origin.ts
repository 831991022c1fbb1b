// Origin layer: CSRF and cross-origin reads. CORS only hides responses, so a disallowed
// Origin is refused before anything is forwarded.
import type { IncomingMessage } from 'node:http'
import type { CompiledPolicy } from '../policy/compile.ts'
import { canonicalOrigin } from '../policy/compile.ts'
import type { Verdict } from './verdict.ts'
import { headerCount, single } from './request.ts'

/** Parsed Origin: absent, or a canonical origin, or a denial (null, several, malformed). */
function readOrigin (req: IncomingMessage): { kind: 'absent' } | { kind: 'origin', origin: string } | { kind: 'bad', rule: string } {
  const n = headerCount(req, 'origin')
  if (n === 0) return { kind: 'absent' }
  const v = single(req.headers.origin)
  if (n > 1 || v === undefined || /[,\s]/.test(v.trim())) return { kind: 'bad', rule: 'origins.multiple' }
  if (v === 'null') return { kind: 'bad', rule: 'origins.null' }
  const c = canonicalOrigin(v)
  return c === null || c !== v ? { kind: 'bad', rule: 'origins.malformed' } : { kind: 'origin', origin: c }
}

/** CSRF and cross-origin reads: CORS only hides responses, so a disallowed Origin is refused before forwarding. */
export function checkOrigin (cp: CompiledPolicy, req: IncomingMessage): Verdict | null {
  const o = readOrigin(req)
  if (o.kind === 'absent') return cp.policy.origins.allowMissing ? null : { layer: 'origin', code: 'HEDGE_ORIGIN_DENIED', rule: 'origins.allowMissing' }
  if (o.kind === 'bad') return { layer: 'origin', code: 'HEDGE_ORIGIN_DENIED', rule: o.rule }
  return cp.originAllowed(o.origin) ? null : { layer: 'origin', code: 'HEDGE_ORIGIN_DENIED', rule: 'origins.allow' }
}

/** The request's Origin when it is on the allowlist (the one CORS answers may name), else undefined. */
export function allowedOrigin (cp: CompiledPolicy, req: IncomingMessage): string | undefined {
  const o = readOrigin(req)
  return o.kind === 'origin' && cp.originAllowed(o.origin) ? o.origin : undefined
}

/** A CORS preflight: OPTIONS with Access-Control-Request-Method and an Origin header. */
export function isPreflight (req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined && readOrigin(req).kind !== 'absent'
}
