// Authorization header parsing (RFC 6750 §2.1), strict on purpose.
// Tokens are accepted from exactly one place — one `Authorization: Bearer <JWS>` header —
// never from cookies (CSRF: a browser attaches them to cross-site requests) nor from
// query strings (they end up in logs, history and Referer). Threat: token theft.
//
// Note for callers on node:http: `req.headers.authorization` silently keeps only the
// FIRST of duplicated Authorization headers; pass `req.headersDistinct.authorization`
// (always a string[]) so a duplicate is seen and refused here.

/** Largest Authorization header accepted (scheme + space + token), in characters. */
export const MAX_AUTHORIZATION_LENGTH = 8 * 1024

export type BearerResult =
  | { ok: true, token: string }
  | { ok: false, code: 'HEDGE_AUTH_MISSING' | 'HEDGE_AUTH_INVALID', reason: string }

// Scheme is case-insensitive (RFC 7235 §2.1); then exactly one space and a compact JWS:
// three non-empty base64url segments. `alg:none` tokens (empty signature) and JWEs
// (five segments) therefore fail here already.
const BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/
const SCHEME = /^[Bb][Ee][Aa][Rr][Ee][Rr](?:[ \t]|$)/
const JWE = /^[Bb][Ee][Aa][Rr][Ee][Rr] [A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){4}$/

export function parseBearer (header: string | string[] | undefined): BearerResult {
  let value: string
  if (header === undefined) return { ok: false, code: 'HEDGE_AUTH_MISSING', reason: 'no Authorization header' }
  if (Array.isArray(header)) {
    if (header.length === 0) return { ok: false, code: 'HEDGE_AUTH_MISSING', reason: 'no Authorization header' }
    if (header.length > 1) return { ok: false, code: 'HEDGE_AUTH_INVALID', reason: 'more than one Authorization header' }
    value = header[0] as string
  } else {
    value = header
  }
  if (typeof value !== 'string') return { ok: false, code: 'HEDGE_AUTH_INVALID', reason: 'Authorization header is not a string' }
  if (value.length === 0) return { ok: false, code: 'HEDGE_AUTH_INVALID', reason: 'empty Authorization header' }
  if (value.length > MAX_AUTHORIZATION_LENGTH) return { ok: false, code: 'HEDGE_AUTH_INVALID', reason: `Authorization header longer than ${MAX_AUTHORIZATION_LENGTH} characters` }
  const m = BEARER.exec(value)
  if (m !== null) return { ok: true, token: m[1] as string }
  if (!SCHEME.test(value)) return { ok: false, code: 'HEDGE_AUTH_INVALID', reason: 'Authorization scheme is not Bearer' }
  if (JWE.test(value)) return { ok: false, code: 'HEDGE_AUTH_INVALID', reason: 'encrypted tokens (JWE) are not accepted' }
  return { ok: false, code: 'HEDGE_AUTH_INVALID', reason: 'bearer token is not a compact JWS (Bearer <b64url>.<b64url>.<b64url>, one space)' }
}
