// Every error leaves the gateway in one shape, {statusCode, code, error, message}, with a
// stable code (codes.ts); upstream and framework internals never reach the client. One
// renderer per way an answer leaves: a Fastify reply, a plain ServerResponse, and an
// aborted WebSocket handshake on a raw socket.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyReply } from 'fastify'
import { HedgeError, type ErrorCode } from './codes.ts'
import { redactUrl, type Logger } from '../logger.ts'

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'HEDGE_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'HEDGE_CONTENT_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'HEDGE_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'HEDGE_BODY_INVALID',
  FST_ERR_BAD_URL: 'HEDGE_PATH_INVALID',
}

function toHedgeError (err: unknown): HedgeError {
  if (err instanceof HedgeError) return err
  const code = (err as { code?: string }).code
  if (code !== undefined && FASTIFY_CODES[code] !== undefined) return new HedgeError(FASTIFY_CODES[code], undefined, `framework.${code}`)
  return new HedgeError('HEDGE_INTERNAL', undefined, 'internal')
}

/** Log what is not a plain HedgeError (those were logged by the layer that raised them). */
function logUnexpected (err: unknown, e: HedgeError, req: IncomingMessage, log: Logger, what: string): void {
  if (e.code === 'HEDGE_INTERNAL') log.error({ err, url: redactUrl(req.url) }, `${what}: internal error`)
  else if (!(err instanceof HedgeError)) {
    log.warn({ event: 'deny', rule: e.rule, code: e.code, method: req.method, url: redactUrl(req.url) }, `denied by ${e.rule ?? e.code}`)
  }
}

function headersFor (e: HedgeError): Record<string, string> {
  return {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...(e.statusCode === 401 ? { 'www-authenticate': 'Bearer' } : {}),
    ...(e.statusCode === 426 ? { upgrade: 'websocket', connection: 'Upgrade' } : {}),
  }
}

/** Fastify front (kernel). */
export function sendError (reply: FastifyReply, err: unknown, req: IncomingMessage, log: Logger): void {
  const e = toHedgeError(err)
  logUnexpected(err, e, req, log, 'request')
  if (reply.sent) return
  void reply.code(e.statusCode).headers(headersFor(e)).send(e.toBody())
}

/** Plain node:http answers (CDP discovery, admin). */
export function sendResponseError (res: ServerResponse, err: unknown, req: IncomingMessage, log: Logger): void {
  const e = toHedgeError(err)
  logUnexpected(err, e, req, log, 'request')
  if (res.headersSent) { res.destroy(); return }
  res.writeHead(e.statusCode, headersFor(e))
  res.end(JSON.stringify(e.toBody()))
}

/**
 * A refused WebSocket upgrade: the answer is written on the raw socket and the socket is
 * destroyed only once it is flushed (as `ws` does), or after a bound if the peer never reads.
 */
export function rejectUpgrade (socket: Duplex, err: unknown, req: IncomingMessage, log: Logger): void {
  const e = toHedgeError(err)
  logUnexpected(err, e, req, log, 'upgrade')
  if (!socket.writable) { socket.destroy(); return }
  const body = JSON.stringify(e.toBody())
  const head = Object.entries({ ...headersFor(e), 'content-length': String(Buffer.byteLength(body)), connection: 'close' })
    .map(([k, v]) => `${k}: ${v}\r\n`).join('')
  const force = setTimeout(() => { socket.destroy() }, 5_000)
  force.unref()
  socket.end(`HTTP/1.1 ${e.statusCode} ${e.toBody().error}\r\n${head}\r\n${body}`, () => { clearTimeout(force); socket.destroy() })
}
