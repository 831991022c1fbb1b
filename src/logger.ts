// JSON logs on stdout (pino) with secrets redacted by configuration, not by care:
// authorization headers, cookies, tokens, tickets and the kernel's HMAC key never
// reach a log line. test/unit/logger-redaction.test.ts proves it.
import { pino, type Logger, type DestinationStream } from 'pino'

export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]',
  'headers.authorization', 'headers.cookie', 'headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'authorization', 'token', 'ticket', 'key', 'secret', 'jwt',
  '*.token', '*.ticket', '*.key', '*.secret', '*.authorization',
]

export type { Logger }

export function createLogger (opts: { level?: string, name?: string } = {}, dest?: DestinationStream): Logger {
  return pino({
    name: opts.name ?? 'hedge',
    level: opts.level ?? process.env.HEDGE_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  }, dest)
}

/** Strip the query string (tickets, tokens someone put there by mistake) from a URL before logging it. */
export function redactUrl (url: string | undefined): string {
  if (url === undefined) return ''
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q) + '?[redacted]'
}

/** A logger that drops everything: for library use and unit tests that do not assert on logs. */
export const silentLogger: Logger = pino({ level: 'silent' })
