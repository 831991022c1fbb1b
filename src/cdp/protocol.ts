// The CDP wire shapes the gateway reads and writes: a client command parsed strictly
// (json/strict.ts) into the four fields Chromium's dispatcher accepts, the bytes actually
// forwarded (only those four fields, freshly serialised), and the addressing of the answers
// the gateway writes itself (a client waits for the id it sent, routed by its sessionId).
import { parseStrictJson, StrictJsonError, type StrictJsonOptions, type StrictJsonReason } from '../json/strict.ts'

export interface CdpCommand {
  id: number
  method: string
  params: Record<string, unknown> | undefined
  sessionId: string | undefined
}

export type CdpCommandReason = 'not-object' | 'unknown-key' | 'bad-id' | 'bad-method' | 'bad-params' | 'bad-session-id'

/** A frame that is not a CDP command: the strict-JSON reason, or what is wrong with its shape. */
export class CdpCommandError extends Error {
  readonly reason: StrictJsonReason | CdpCommandReason
  /** The id / sessionId when they were themselves valid, so the relay can answer with a CDP error. */
  readonly id: number | undefined
  readonly sessionId: string | undefined
  constructor (reason: StrictJsonReason | CdpCommandReason, message: string, id?: number, sessionId?: string) {
    super(message)
    this.name = 'CdpCommandError'
    this.reason = reason
    this.id = id
    this.sessionId = sessionId
  }
}

const METHOD = /^[A-Za-z][A-Za-z0-9]*\.[A-Za-z][A-Za-z0-9]*$/
const SESSION_ID = /^[A-Za-z0-9]{1,64}$/
const MAX_METHOD_LENGTH = 128
const BAD_SESSION_ID = "'sessionId' must be 1-64 ASCII letters/digits"

export function isInt32 (v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647
}
function isMethod (v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_METHOD_LENGTH && METHOD.test(v)
}
export function isSessionId (v: unknown): v is string {
  return typeof v === 'string' && SESSION_ID.test(v)
}
function isPlainObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Parse one client→browser CDP frame. Top level: an object (no batches) with only id, method,
 * params, sessionId — as Chromium's dispatcher demands — each of the right shape. Throws
 * CdpCommandError; its id/sessionId are set when those fields were themselves valid.
 */
export function parseCdpCommand (text: string, opts?: StrictJsonOptions): CdpCommand {
  let v: unknown
  try {
    v = parseStrictJson(text, opts)
  } catch (err) {
    if (err instanceof StrictJsonError) throw new CdpCommandError(err.reason, err.message)
    throw err
  }
  if (!isPlainObject(v)) throw new CdpCommandError('not-object', 'CDP command must be a JSON object')
  // read own keys only (never through the prototype)
  let rawId: unknown, method: unknown, params: unknown, rawSession: unknown
  let hasSession = false
  let unknownKey: string | undefined
  for (const k in v) {
    switch (k) {
      case 'id': rawId = v[k]; break
      case 'method': method = v[k]; break
      case 'params': params = v[k]; break
      case 'sessionId': rawSession = v[k]; hasSession = true; break
      default: unknownKey ??= k
    }
  }
  const id = isInt32(rawId) ? rawId : undefined
  const sessionId = isSessionId(rawSession) ? rawSession : undefined
  if (unknownKey !== undefined) {
    throw new CdpCommandError('unknown-key', `unexpected top-level key ${JSON.stringify(unknownKey)}`, id, sessionId)
  }
  if (id === undefined) throw new CdpCommandError('bad-id', "'id' must be an int32", undefined, sessionId)
  if (hasSession && sessionId === undefined) throw new CdpCommandError('bad-session-id', BAD_SESSION_ID, id)
  if (!isMethod(method)) throw new CdpCommandError('bad-method', "'method' must look like Domain.method", id, sessionId)
  if (params !== undefined && !isPlainObject(params)) throw new CdpCommandError('bad-params', "'params' must be an object", id, sessionId)
  return { id, method, params, sessionId }
}

/**
 * The bytes actually forwarded: only the four fields, in fixed order, freshly serialised.
 * Validates again (a filter may have built or edited the command) and throws CdpCommandError.
 */
export function serialiseCdpCommand (cmd: CdpCommand): string {
  if (!isInt32(cmd.id)) throw new CdpCommandError('bad-id', "'id' must be an int32")
  if (!isMethod(cmd.method)) throw new CdpCommandError('bad-method', "'method' must look like Domain.method", cmd.id)
  if (cmd.sessionId !== undefined && !isSessionId(cmd.sessionId)) {
    throw new CdpCommandError('bad-session-id', BAD_SESSION_ID, cmd.id)
  }
  if (cmd.params !== undefined && !isPlainObject(cmd.params)) {
    throw new CdpCommandError('bad-params', "'params' must be an object", cmd.id, cmd.sessionId)
  }
  // method and sessionId are [A-Za-z0-9.] only: no escaping needed
  let out = `{"id":${cmd.id},"method":"${cmd.method}"`
  if (cmd.params !== undefined) out += `,"params":${JSON.stringify(cmd.params)}`
  if (cmd.sessionId !== undefined) out += `,"sessionId":"${cmd.sessionId}"`
  return out + '}'
}

// ---------------------------------------------------------------------------
// Answers the gateway writes itself

export interface ReplyAddress { readonly id: number | undefined, readonly sessionId: string | undefined }

/** Reasons for which the frame is still plain JSON: its own id and sessionId can be read for the reply. */
const PLAIN_JSON_REASONS: ReadonlySet<string> = new Set(['duplicate-key', 'proto-key', 'lone-surrogate', 'number-range'])

/**
 * Where to address the error for a refused frame. A frame refused after it parsed as plain
 * JSON (duplicate key, __proto__, lone surrogate, number range) is answered at its own id and
 * sessionId (JSON.parse semantics), because a client waits forever for an answer to the id it
 * sent and routes answers by sessionId. Only the reply's address — never used for a decision.
 */
export function replyAddress (err: CdpCommandError, text: string): ReplyAddress {
  if (err.id !== undefined || !PLAIN_JSON_REASONS.has(err.reason)) return { id: err.id, sessionId: err.sessionId }
  let v: unknown
  try { v = JSON.parse(text) } catch { return { id: undefined, sessionId: undefined } }
  if (!isPlainObject(v)) return { id: undefined, sessionId: undefined }
  const { id, sessionId } = v as { id?: unknown, sessionId?: unknown }
  return { id: isInt32(id) ? id : undefined, sessionId: isSessionId(sessionId) ? sessionId : undefined }
}

/** `{id, error:{code, message}[, sessionId]}`. */
export function cdpError (id: number, sessionId: string | undefined, code: number, message: string): string {
  return JSON.stringify(sessionId === undefined ? { id, error: { code, message } } : { id, error: { code, message }, sessionId })
}

/** `{id, result[, sessionId]}`. */
export function cdpResult (id: number | undefined, sessionId: string | undefined, result: unknown): string {
  return JSON.stringify(sessionId === undefined ? { id, result } : { id, result, sessionId })
}

/** The text of every refusal the gateway writes into the protocol: `hedge: message [rule]`. */
export function refusalText (message: string, rule: string): string {
  return `hedge: ${message} [${rule}]`
}
