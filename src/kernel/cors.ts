// CORS owned by the gateway when the origin layer enforces: preflights are answered
// here (never forwarded: the sandbox approves any Origin, even `null`), every upstream
// Access-Control-* header is dropped, and ours are sent with `Vary: Origin`.
// No Allow-Credentials: the gateway authenticates with bearer headers, never cookies.
import type { IncomingMessage } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { CompiledPolicy } from '../policy/compile.ts'
import { readOrigin } from '../layers/origin.ts'

const ALLOWED_HEADERS = 'authorization, content-type'

function allowedOrigin (cp: CompiledPolicy, req: IncomingMessage): string | undefined {
  const o = readOrigin(req)
  return o.kind === 'origin' && cp.originAllowed(o.origin) ? o.origin : undefined
}

/** Called only after the origin check passed (enforce mode). */
export function corsPreflight (cp: CompiledPolicy, req: FastifyRequest, reply: FastifyReply): void {
  const origin = allowedOrigin(cp, req.raw)
  reply.header('vary', 'Origin')
  if (origin !== undefined) {
    const requested = String(req.raw.headers['access-control-request-method'] ?? '').toUpperCase()
    reply.header('access-control-allow-origin', origin)
    reply.header('access-control-allow-methods', /^[A-Z]+$/.test(requested) ? requested : 'GET')
    reply.header('access-control-allow-headers', ALLOWED_HEADERS)
    reply.header('access-control-max-age', String(cp.policy.origins.maxAgeSeconds))
  }
  void reply.code(204).send()
}

export function rewriteResponseHeaders (cp: CompiledPolicy, req: IncomingMessage, h: Record<string, unknown>): Record<string, unknown> {
  if (cp.mode('origin') !== 'enforce') return h
  for (const k of Object.keys(h)) if (k.toLowerCase().startsWith('access-control-')) delete h[k]
  const origin = allowedOrigin(cp, req)
  if (origin !== undefined) h['access-control-allow-origin'] = origin
  const vary = typeof h.vary === 'string' ? h.vary : ''
  h.vary = vary === '' ? 'Origin' : /\borigin\b/i.test(vary) ? vary : `${vary}, Origin`
  return h
}

/** CORS headers for answers the gateway makes itself (errors), so allowed origins can read them. */
export function corsForOwnAnswer (cp: CompiledPolicy, req: IncomingMessage, reply: FastifyReply): void {
  if (cp.mode('origin') !== 'enforce') return
  const origin = allowedOrigin(cp, req)
  reply.header('vary', 'Origin')
  if (origin !== undefined) reply.header('access-control-allow-origin', origin)
}
