// One registry of every error the gateway answers with. Codes are stable API:
// scripts, dashboards and the comparison harness match on them, so never rename one.
// Shape on the wire (as fastify does it): {statusCode, code, error, message}.
import { STATUS_CODES } from 'node:http'

export interface ErrorDef { readonly status: number; readonly message: string }

export const ERRORS = {
  // request shape
  HEDGE_BAD_REQUEST: { status: 400, message: 'malformed request' },
  HEDGE_PATH_INVALID: { status: 400, message: 'path is not canonical' },
  HEDGE_HOST_DENIED: { status: 421, message: 'host not allowed' },
  HEDGE_ORIGIN_DENIED: { status: 403, message: 'origin not allowed' },
  HEDGE_CONTENT_TYPE: { status: 415, message: 'body must be application/json' },
  HEDGE_BODY_TOO_LARGE: { status: 413, message: 'body too large' },
  HEDGE_BODY_INVALID: { status: 400, message: 'body is not valid JSON' },
  // authentication / authorisation
  HEDGE_AUTH_MISSING: { status: 401, message: 'bearer token required' },
  HEDGE_AUTH_INVALID: { status: 401, message: 'token rejected' },
  HEDGE_TICKET_INVALID: { status: 401, message: 'ticket rejected' },
  HEDGE_TICKETS_EXHAUSTED: { status: 503, message: 'no CDP tickets available; try again shortly' },
  HEDGE_AUTH_UNAVAILABLE: { status: 503, message: 'token keys unavailable; try again later' },
  HEDGE_SCOPE_MISSING: { status: 403, message: 'token lacks the scope this route needs' },
  HEDGE_ROUTE_DENIED: { status: 403, message: 'route denied by policy' },
  HEDGE_ROUTE_UNKNOWN: { status: 404, message: 'no such route' },
  HEDGE_METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed on this route' },
  HEDGE_RATE_LIMITED: { status: 429, message: 'too many requests' },
  HEDGE_TOO_MANY_CONNECTIONS: { status: 429, message: 'too many concurrent connections' },
  // CDP
  HEDGE_CDP_URL_DENIED: { status: 403, message: 'URL denied by policy' },
  HEDGE_CDP_UPGRADE_REQUIRED: { status: 426, message: 'WebSocket upgrade required' },
  // egress
  HEDGE_EGRESS_DENIED: { status: 403, message: 'destination denied by egress policy' },
  // upstream
  HEDGE_UPSTREAM_UNAVAILABLE: { status: 502, message: 'upstream unavailable' },
  HEDGE_UPSTREAM_TIMEOUT: { status: 504, message: 'upstream timed out' },
  HEDGE_INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, ErrorDef>

export type ErrorCode = keyof typeof ERRORS

export interface ErrorBody { statusCode: number; code: ErrorCode; error: string; message: string }

export class HedgeError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  /** Which rule fired: logged, never sent to the client. */
  readonly rule: string | undefined
  constructor (code: ErrorCode, message?: string, rule?: string) {
    super(message ?? ERRORS[code].message)
    this.name = 'HedgeError'
    this.code = code
    this.statusCode = ERRORS[code].status
    this.rule = rule
  }

  toBody (): ErrorBody { return errorBody(this.code, this.message) }
}

export function errorBody (code: ErrorCode, message?: string): ErrorBody {
  const statusCode = ERRORS[code].status
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message: message ?? ERRORS[code].message }
}

/** CDP error codes sent back in `{id, sessionId, error:{code,message}}` when the filter blocks a command. */
export const CDP_BLOCKED = -32001
