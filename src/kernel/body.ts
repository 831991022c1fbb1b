// JSON-only bodies. A browser can send text/plain, form or multipart bodies cross-site
// without a preflight (CSRF); requiring application/json forces one. The body is parsed
// strictly (duplicate keys, depth) and the re-serialised object is what is forwarded,
// so the kernel server sees exactly what was checked.
import type { IncomingMessage } from 'node:http'
import type { CompiledPolicy, CompiledRoute } from '../policy/compile.ts'
import { parseStrictJson } from '../json/strict.ts'
import type { Logger } from '../logger.ts'
import { applyVerdict } from '../layers/apply.ts'

export interface ForwardBody {
  readonly bytes: Buffer
  /** The Content-Type header to send upstream; undefined = send none (as the client did). */
  readonly header: string | undefined
}

const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i

function raw (req: IncomingMessage, buf: Buffer): ForwardBody {
  const ct = req.headers['content-type']
  return { bytes: buf, header: ct }
}

export function checkBody (cp: CompiledPolicy, req: IncomingMessage, buf: Buffer | undefined, route: CompiledRoute | undefined, log: Logger): ForwardBody | undefined {
  const mode = cp.mode('body')
  const empty = buf === undefined || buf.length === 0
  if (mode === 'off') return empty ? undefined : raw(req, buf)
  const deny = (code: 'HEDGE_CONTENT_TYPE' | 'HEDGE_BODY_INVALID', rule: string, message?: string): ForwardBody | undefined => {
    applyVerdict(cp, { layer: 'body', code, rule, ...(message !== undefined ? { message } : {}) }, req, log)
    return empty ? undefined : raw(req, buf) // report-only: forward what came
  }
  if (req.headers['content-encoding'] !== undefined && req.headers['content-encoding'] !== 'identity') return deny('HEDGE_CONTENT_TYPE', 'body.content-encoding', 'encoded request bodies are not accepted')
  if (empty) return route?.body === true ? deny('HEDGE_BODY_INVALID', 'body.required', 'this route needs a JSON body') : undefined
  if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) return deny('HEDGE_CONTENT_TYPE', 'body.json-only')
  let parsed: unknown
  try {
    parsed = parseStrictJson(buf.toString('utf8'))
  } catch (err) {
    return deny('HEDGE_BODY_INVALID', 'body.strict-json', `body is not valid JSON (${(err as { reason?: string }).reason ?? 'syntax'})`)
  }
  if (route?.body === true && (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))) return deny('HEDGE_BODY_INVALID', 'body.object', 'body must be a JSON object')
  if (mode === 'report-only') return raw(req, buf)
  return { bytes: Buffer.from(JSON.stringify(parsed)), header: 'application/json' }
}
