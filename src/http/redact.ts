// `action: redact` routes: the answer is read, every value of a field named `key` (the
// kernel's HMAC key, an execute credential) is blanked wherever it occurs, including
// copies of that value inside other strings, and the result re-serialised. An answer
// that cannot be parsed is not passed on: fail closed.
import type { FastifyReply } from 'fastify'
import type { Logger } from '../logger.ts'
import { HedgeError } from '../errors.ts'
import { sendError } from './reply-error.ts'

const MAX = 4 * 1024 * 1024
export const REDACTED = '[redacted by hedge]'

export function redactSecrets (value: unknown): unknown {
  const secrets = new Set<string>()
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(collect)
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'key' && typeof x === 'string' && x.length >= 8) secrets.add(x)
        collect(x)
      }
    }
  }
  collect(value)
  const scrub = (v: unknown, field?: string): unknown => {
    if (typeof v === 'string') {
      if (field === 'key') return REDACTED
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
