// `action: redact` routes: the answer is read, every value of a field named `key` (the
// kernel's HMAC key, an execute credential) is blanked wherever it occurs, including
// copies of that value inside other strings, and the result re-serialised. An answer
// that cannot be parsed is not passed on: fail closed.
// Fields naming where the kernel's credentials live (`connection_file`: its path carries the
// kernel id) become null — the answer keeps its shape — and copies of their values inside
// other strings are blanked too (issue 9, item 12: /health, /kernel/status, /kernel/reset).
import type { FastifyReply } from 'fastify'
import type { Logger } from '../logger.ts'
import { HedgeError } from '../errors/codes.ts'
import { sendError } from '../errors/render.ts'

const MAX = 4 * 1024 * 1024
const REDACTED = '[redacted by hedge]'

/** Fields whose value is a credential: blanked. */
const SECRET_FIELDS = new Set(['key'])
/** Fields whose value says where credentials live: nulled. */
const LOCATION_FIELDS = new Set(['connection_file'])

function redactSecrets (value: unknown): unknown {
  const secrets = new Set<string>()
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(collect)
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if ((SECRET_FIELDS.has(k) || LOCATION_FIELDS.has(k)) && typeof x === 'string' && x.length >= 8) secrets.add(x)
        collect(x)
      }
    }
  }
  collect(value)
  const scrub = (v: unknown, field?: string): unknown => {
    if (field !== undefined && LOCATION_FIELDS.has(field)) return null
    if (typeof v === 'string') {
      if (field !== undefined && SECRET_FIELDS.has(field)) return REDACTED
      let s = v
      for (const secret of secrets) s = s.split(secret).join(REDACTED)
      return s
    }
    if (Array.isArray(v)) return v.map(x => scrub(x))
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x, k)]))
    return v
  }
  return scrub(value)
}

export async function redactKernelSecrets (reply: FastifyReply, stream: NodeJS.ReadableStream, log: Logger): Promise<void> {
  try {
    const chunks: Buffer[] = []
    let size = 0
    for await (const c of stream) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c as string)
      size += b.length
      if (size > MAX) throw new Error('answer too large to redact')
      chunks.push(b)
    }
    const out = JSON.stringify(redactSecrets(JSON.parse(Buffer.concat(chunks).toString('utf8'))))
    reply.removeHeader('content-length')
    reply.removeHeader('content-encoding')
    void reply.type('application/json').send(out)
  } catch (err) {
    log.warn({ event: 'deny', layer: 'routes', rule: 'redact.unparsable', err: (err as Error).message }, 'answer could not be redacted; not forwarded')
    sendError(reply, new HedgeError('HEDGE_UPSTREAM_UNAVAILABLE', 'upstream answer could not be redacted', 'redact.unparsable'), reply.request.raw, log)
  }
}
