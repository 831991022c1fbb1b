// What the kernel front changes in the headers it passes on, as pure functions over plain
// headers. Requests: hop-by-hop headers, including any the client names in Connection, go
// first (RFC 9110 §7.6.1), then the chain's own rewrite, so a client cannot remove a header
// the gateway adds. Responses: CORS owned by the gateway when the origin layer enforces —
// preflights are answered by the gateway (never forwarded: the sandbox approves any Origin,
// even `null`), every upstream Access-Control-* header is dropped and ours are sent with
// `Vary: Origin`. No Allow-Credentials: the gateway authenticates with bearer headers, never cookies.
import type { IncomingHttpHeaders } from 'node:http'
import type { LayerMode } from '../policy/schema.ts'
import type { ForwardBody } from '../layers/body.ts'
import { connectionNamed, isHopByHop } from '../net/hop.ts'

// Headers some frameworks read as "the real method"; the route decision is made on the
// request line only, so they are dropped before forwarding (never trusted, never passed on).
const METHOD_OVERRIDE = ['x-http-method-override', 'x-http-method', 'x-method-override']
const FORWARDED = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-real-ip']
const ALLOWED_HEADERS = 'authorization, content-type'

export interface RequestRewrite {
  /** auth on: the bearer token is the gateway's, the kernel never needs it. */
  readonly auth: LayerMode
  /** host on: X-Forwarded-* / Forwarded were for the gateway to judge, not to pass on. */
  readonly host: LayerMode
  /** The answer will be redacted: it must come back unencoded. */
  readonly redact: boolean
  /** The body the chain decided (its Content-Type replaces the client's). */
  readonly body: ForwardBody | undefined
}

export function rewriteRequestHeaders (h: IncomingHttpHeaders, o: RequestRewrite): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {}
  const named = connectionNamed(h)
  for (const [k, v] of Object.entries(h)) if (!isHopByHop(k) && !named.includes(k)) out[k] = v
  if (o.auth !== 'off') delete out.authorization
  for (const k of METHOD_OVERRIDE) delete out[k]
  if (o.host !== 'off') for (const k of FORWARDED) delete out[k]
  if (o.redact) delete out['accept-encoding']
  if (o.body !== undefined) {
    if (o.body.header === undefined) delete out['content-type']
    else out['content-type'] = o.body.header
  }
  return out
}

export interface ResponseRewrite {
  readonly origin: LayerMode
  /** The request's Origin when it is on the allowlist. */
  readonly allowedOrigin: string | undefined
}

export function rewriteResponseHeaders (h: IncomingHttpHeaders, o: ResponseRewrite): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  const named = connectionNamed(h)
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !isHopByHop(k) && !named.includes(k)) out[k] = v
  if (o.origin !== 'enforce') return out
  for (const k of Object.keys(out)) if (k.toLowerCase().startsWith('access-control-')) delete out[k]
  if (o.allowedOrigin !== undefined) out['access-control-allow-origin'] = o.allowedOrigin
  const vary = typeof out.vary === 'string' ? out.vary : ''
  out.vary = vary === '' ? 'Origin' : /\borigin\b/i.test(vary) ? vary : `${vary}, Origin`
  return out
}

/** The gateway's own answer to a preflight (origin layer enforcing, origin check passed). */
export function preflightHeaders (
  allowedOrigin: string | undefined, requestedMethod: string | string[] | undefined, maxAgeSeconds: number,
): Record<string, string> {
  if (allowedOrigin === undefined) return { vary: 'Origin' }
  const requested = String(requestedMethod ?? '').toUpperCase()
  return {
    vary: 'Origin',
    'access-control-allow-origin': allowedOrigin,
    'access-control-allow-methods': /^[A-Z]+$/.test(requested) ? requested : 'GET',
    'access-control-allow-headers': ALLOWED_HEADERS,
    'access-control-max-age': String(maxAgeSeconds),
  }
}
