// JSON logs on stdout (pino) with secrets redacted by configuration, not by care:
// authorization headers, cookies, tokens, tickets and the kernel's HMAC key never
// reach a log line. test/unit/logger-redaction.test.ts proves it.
import { pino, type Logger, type DestinationStream } from 'pino'
import pretty from 'pino-pretty'

export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]',
  'headers.authorization', 'headers.cookie', 'headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'authorization', 'token', 'ticket', 'key', 'secret', 'jwt',
  '*.token', '*.ticket', '*.key', '*.secret', '*.authorization',
]

export type { Logger }

export type LogFormat = 'json' | 'pretty'

/**
 * JSON lines (the documented format) or, for a person at a terminal, pino-pretty's readable
 * lines — the same records, the same redaction (it runs before formatting).
 */
export function createLogger (opts: { level?: string, name?: string, format?: LogFormat } = {}, dest?: DestinationStream): Logger {
  const options = {
    name: opts.name ?? 'hedge',
    level: opts.level ?? process.env.HEDGE_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  }
  if (opts.format === 'pretty') {
    const out = (dest ?? process.stderr) as NodeJS.WritableStream & { isTTY?: boolean }
    return pino(options, pretty({ destination: out, sync: true, colorize: out.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }))
  }
  return pino(options, dest)
}

/** json unless asked otherwise; pretty by default only when the stream is a terminal. */
export function logFormatFor (flag: string | undefined, stream: { isTTY?: boolean }): LogFormat {
  if (flag === 'json' || flag === 'pretty') return flag
  if (flag !== undefined) throw new Error(`--log-format must be json or pretty, got "${flag}"`)
  return stream.isTTY === true ? 'pretty' : 'json'
}

/** Strip the query string (tickets, tokens someone put there by mistake) from a URL before logging it. */
export function redactUrl (url: string | undefined): string {
  if (url === undefined) return ''
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q) + '?[redacted]'
}

/** A logger that drops everything: for library use and unit tests that do not assert on logs. */
export const silentLogger: Logger = pino({ level: 'silent' })
