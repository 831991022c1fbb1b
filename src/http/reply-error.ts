// Every error leaves the gateway in one shape, {statusCode, code, error, message}, with
// a stable code; upstream and framework internals never reach the client.
import type { IncomingMessage } from 'node:http'
import type { FastifyReply } from 'fastify'
import { HedgeError, type ErrorCode } from '../errors.ts'
import { redactUrl, type Logger } from '../logger.ts'

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'HEDGE_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'HEDGE_CONTENT_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'HEDGE_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'HEDGE_BODY_INVALID',
  FST_ERR_BAD_URL: 'HEDGE_PATH_INVALID',
}

export function toHedgeError (err: unknown): HedgeError {
  if (err instanceof HedgeError) return err
  const code = (err as { code?: string }).code
  if (code !== undefined && FASTIFY_CODES[code] !== undefined) return new HedgeError(FASTIFY_CODES[code], undefined, `framework.${code}`)
  return new HedgeError('HEDGE_INTERNAL', undefined, 'internal')
}

export function sendError (reply: FastifyReply, err: unknown, req: IncomingMessage, log: Logger): void {
  const e = toHedgeError(err)
  if (e.code === 'HEDGE_INTERNAL') log.error({ err, url: redactUrl(req.url) }, 'internal error')
  else if (!(err instanceof HedgeError)) log.warn({ event: 'deny', rule: e.rule, code: e.code, method: req.method, url: redactUrl(req.url) }, `denied by ${e.rule ?? e.code}`)
  if (reply.sent) return
  if (e.statusCode === 401) reply.header('www-authenticate', 'Bearer')
  void reply.code(e.statusCode).type('application/json; charset=utf-8').send(e.toBody())
}

/** Upstream down → 502, slow → 504; the gateway itself stays up. */
export function upstreamError (reply: FastifyReply, error: Error, req: IncomingMessage, log: Logger): void {
  const code = (error as { code?: string }).code ?? ''
  const status = (error as { statusCode?: number }).statusCode
  const timeout = status === 504 || /TIMEOUT/i.test(code)
  log.warn({ event: 'upstream-error', upstreamCode: code, cause: (error.cause as { code?: string } | undefined)?.code, url: redactUrl(req.url) }, timeout ? 'upstream timed out' : 'upstream unavailable')
  sendError(reply, new HedgeError(timeout ? 'HEDGE_UPSTREAM_TIMEOUT' : 'HEDGE_UPSTREAM_UNAVAILABLE', undefined, 'upstream'), req, log)
}
