// The checks every front runs before authentication, as plain functions over the raw
// request so the HTTP fronts and the WebSocket upgrade path share them. Each returns
// null (pass) or a Verdict naming the layer and the rule that fired; `applyVerdict`
// turns a verdict into a denial, a logged "would deny", or nothing, by layer mode.
import type { IncomingMessage } from 'node:http'
import type { CompiledPolicy } from '../policy/compile.ts'
import { canonicalOrigin } from '../policy/compile.ts'
import type { LayerName } from '../policy/schema.ts'
import { HedgeError, type ErrorCode } from '../errors.ts'
import { redactUrl, type Logger } from '../logger.ts'
import { metrics } from '../metrics.ts'

export interface Verdict { readonly layer: LayerName, readonly code: ErrorCode, readonly rule: string, readonly message?: string }

/** How many times a header was sent (node folds or drops duplicates in `headers`). */
export function headerCount (req: IncomingMessage, name: string): number {
  let n = 0
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).toLowerCase() === name) n++
  return n
}

function single (v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? undefined : v
}

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

/** Parsed Origin: absent, or a canonical origin, or a denial (null, several, malformed). */
export function readOrigin (req: IncomingMessage): { kind: 'absent' } | { kind: 'origin', origin: string } | { kind: 'bad', rule: string } {
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

/**
 * enforce → throw (the caller answers with the error); report-only → log "would deny" and pass;
 * off → pass. Every denial is logged with the rule that fired.
 */
export function applyVerdict (cp: CompiledPolicy, v: Verdict | null, req: IncomingMessage, log: Logger): void {
  if (v === null) return
  const mode = cp.mode(v.layer)
  if (mode === 'off') return
  metrics.inc('hedge_denials_total', { layer: v.layer, rule: v.rule, mode })
  const entry = { event: mode === 'enforce' ? 'deny' : 'would-deny', layer: v.layer, rule: v.rule, code: v.code, method: req.method, url: redactUrl(req.url), remote: req.socket.remoteAddress, policy: cp.name }
  if (mode === 'enforce') {
    log.warn(entry, `denied by ${v.rule}`)
    throw new HedgeError(v.code, v.message, v.rule)
  }
  log.info(entry, `would deny by ${v.rule} (report-only)`)
}
