// Origin layer: CSRF and cross-origin reads. CORS only hides responses, so a disallowed
// Origin is refused before anything is forwarded. The decision is pure over the Origin
// header's facts (how many came, the value); the request adapters below read them.
import type { IncomingMessage } from 'node:http'
import type { CompiledPolicy } from '../policy/compile.ts'
import { canonicalOrigin } from '../policy/compile.ts'
import type { Verdict } from './verdict.ts'
import { headerCount, single } from './request.ts'

export interface OriginFacts { readonly count: number, readonly value: string | undefined }

export type ParsedOrigin = { kind: 'absent' } | { kind: 'origin', origin: string } | { kind: 'bad', rule: string }

/** Absent, a canonical origin, or a denial (null, several, malformed, not canonical). */
export function parseOrigin (f: OriginFacts): ParsedOrigin {
  if (f.count === 0) return { kind: 'absent' }
  const v = f.value
  if (f.count > 1 || v === undefined || /[,\s]/.test(v.trim())) return { kind: 'bad', rule: 'origins.multiple' }
  if (v === 'null') return { kind: 'bad', rule: 'origins.null' }
  const c = canonicalOrigin(v)
  return c === null || c !== v ? { kind: 'bad', rule: 'origins.malformed' } : { kind: 'origin', origin: c }
}

export interface OriginRules { readonly allowMissing: boolean, readonly allowed: (origin: string) => boolean }

export function decideOrigin (rules: OriginRules, f: OriginFacts): Verdict | null {
  const o = parseOrigin(f)
  if (o.kind === 'absent') return rules.allowMissing ? null : { layer: 'origin', code: 'HEDGE_ORIGIN_DENIED', rule: 'origins.allowMissing' }
  if (o.kind === 'bad') return { layer: 'origin', code: 'HEDGE_ORIGIN_DENIED', rule: o.rule }
  return rules.allowed(o.origin) ? null : { layer: 'origin', code: 'HEDGE_ORIGIN_DENIED', rule: 'origins.allow' }
}

export function originFacts (req: IncomingMessage): OriginFacts {
  return { count: headerCount(req, 'origin'), value: single(req.headers.origin) }
}

const rulesOf = (cp: CompiledPolicy): OriginRules => ({ allowMissing: cp.policy.origins.allowMissing, allowed: o => cp.originAllowed(o) })

export function checkOrigin (cp: CompiledPolicy, req: IncomingMessage): Verdict | null {
  return decideOrigin(rulesOf(cp), originFacts(req))
}

/** The request's Origin when it is on the allowlist (the one CORS answers may name), else undefined. */
export function allowedOrigin (cp: CompiledPolicy, req: IncomingMessage): string | undefined {
  const o = parseOrigin(originFacts(req))
  return o.kind === 'origin' && cp.originAllowed(o.origin) ? o.origin : undefined
}

/** A CORS preflight: OPTIONS with Access-Control-Request-Method and an Origin header. */
export function isPreflight (req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined && headerCount(req, 'origin') > 0
}
