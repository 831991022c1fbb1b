// Body layer: JSON-only bodies. A browser can send text/plain, form or multipart bodies
// cross-site without a preflight (CSRF); requiring application/json forces one. The body
// is parsed strictly (duplicate keys, depth) and the re-serialised object is what is
// forwarded, so the kernel server sees exactly what was checked. Pure: plain facts about
// the request in; a Verdict (or null) and the body to forward out.
import type { LayerMode } from '../policy/schema.ts'
import { parseStrictJson } from '../json/strict.ts'
import type { Verdict } from './verdict.ts'

export interface ForwardBody {
  readonly bytes: Buffer
  /** The Content-Type header to send upstream; undefined = send none (as the client did). */
  readonly header: string | undefined
}

export interface BodyFacts {
  readonly contentType: string | undefined
  readonly contentEncoding: string | undefined
  /** The body as received; undefined or empty = none. */
  readonly bytes: Buffer | undefined
  /** The route takes a JSON object (kernel.routes[].body). */
  readonly routeNeedsBody: boolean
}

export interface BodyDecision {
  readonly verdict: Verdict | null
  /**
   * What to forward when the request goes on: the re-serialised body when the layer
   * enforces and found nothing; what came, unchanged, when it is off, or report-only, or
   * a verdict was only a would-deny. undefined = no body.
   */
  readonly forward: ForwardBody | undefined
}

const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i

export function decideBody (mode: LayerMode, f: BodyFacts): BodyDecision {
  const empty = f.bytes === undefined || f.bytes.length === 0
  const asReceived: ForwardBody | undefined = empty ? undefined : { bytes: f.bytes as Buffer, header: f.contentType }
  if (mode === 'off') return { verdict: null, forward: asReceived }
  const deny = (code: 'HEDGE_CONTENT_TYPE' | 'HEDGE_BODY_INVALID', rule: string, message?: string): BodyDecision =>
    ({ verdict: { layer: 'body', code, rule, ...(message !== undefined ? { message } : {}) }, forward: asReceived })
  if (f.contentEncoding !== undefined && f.contentEncoding !== 'identity') {
    return deny('HEDGE_CONTENT_TYPE', 'body.content-encoding', 'encoded request bodies are not accepted')
  }
  if (empty) {
    if (f.routeNeedsBody) return deny('HEDGE_BODY_INVALID', 'body.required', 'this route needs a JSON body')
    return { verdict: null, forward: undefined }
  }
  if (!JSON_TYPE.test(f.contentType ?? '')) return deny('HEDGE_CONTENT_TYPE', 'body.json-only')
  let parsed: unknown
  try {
    parsed = parseStrictJson((f.bytes as Buffer).toString('utf8'))
  } catch (err) {
    return deny('HEDGE_BODY_INVALID', 'body.strict-json', `body is not valid JSON (${(err as { reason?: string }).reason ?? 'syntax'})`)
  }
  if (f.routeNeedsBody && (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))) {
    return deny('HEDGE_BODY_INVALID', 'body.object', 'body must be a JSON object')
  }
  if (mode === 'report-only') return { verdict: null, forward: asReceived }
  return { verdict: null, forward: { bytes: Buffer.from(JSON.stringify(parsed)), header: 'application/json' } }
}
