// One relayed DevTools connection: client ⇄ gateway ⇄ Chromium, on `ws`.
//   client→browser: text only, size-capped, rate-limited; strict parse → decision →
//     the re-serialised command is forwarded; a blocked command gets a CDP error with the
//     same id (and sessionId) and the connection stays usable.
//   browser→client: passed on as received (one Buffer, no copy) unless its first bytes
//     show the session tracker needs it.
import { WebSocket, type RawData } from 'ws'
import type { Socket } from 'node:net'
import type { UpstreamSocket } from './upstream-socket.ts'
import type { CompiledPolicy } from '../policy/compile.ts'
import type { Principal } from '../auth/jwt.ts'
import { parseCdpCommand, serialiseCdpCommand, StrictJsonError, type CdpCommand } from './strict-json.ts'
import { decide, type CdpFilter } from './filter.ts'
import { ConnectionState, type SessionKind } from './sessions.ts'
import { CDP_BLOCKED } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { metrics } from '../metrics.ts'

export interface RelayContext {
  readonly compiled: CompiledPolicy
  readonly filter: CdpFilter
  readonly logger: Logger
  readonly principal: Principal | undefined
  readonly rootKind: SessionKind
  readonly path: string
  readonly onClose: () => void
}

const MAX_TIMER = 2_147_483_647
// Chromium's own nesting limit for a CDP message (crdtp's stack limit; measured on 156: a
// depth of 301 is accepted, 302 refused). Playwright's serialised callFunctionOn arguments
// go well past the parser's default of 32, so anything lower breaks locators.
const CDP_MAX_DEPTH = 300
const SESSION_ID = /^[A-Za-z0-9]{1,64}$/

/**
 * Where to address the error for a frame refused after it parsed as plain JSON (duplicate
 * key, __proto__, lone surrogate, number range): its own id and sessionId (JSON.parse
 * semantics), because a client waits forever for an answer to the id it sent and routes
 * answers by sessionId. Only the reply's address — never used for a decision.
 */
function addressOf (err: StrictJsonError, text: string): { id: number | undefined, sessionId: string | undefined } {
  if (err.id !== undefined || !['duplicate-key', 'proto-key', 'lone-surrogate', 'number-range'].includes(err.reason)) return { id: err.id, sessionId: err.sessionId }
  let v: unknown
  try { v = JSON.parse(text) } catch { return { id: undefined, sessionId: undefined } }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { id: undefined, sessionId: undefined }
  const { id, sessionId } = v as { id?: unknown, sessionId?: unknown }
  return {
    id: typeof id === 'number' && Number.isInteger(id) && id >= -2147483648 && id <= 2147483647 ? id : undefined,
    sessionId: typeof sessionId === 'string' && SESSION_ID.test(sessionId) ? sessionId : undefined,
  }
}

class RateLimiter {
  private tokens: number
  private last = Date.now()
  constructor (private readonly perSecond: number) { this.tokens = perSecond }
  take (): boolean {
    const now = Date.now()
    this.tokens = Math.min(this.perSecond, this.tokens + (now - this.last) * this.perSecond / 1000)
    this.last = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}

function cdpError (id: number, sessionId: string | undefined, code: number, message: string): string {
  return JSON.stringify(sessionId === undefined ? { id, error: { code, message } } : { id, error: { code, message }, sessionId })
}

export function relay (client: WebSocket, browser: UpstreamSocket, ctx: RelayContext): void {
  const { compiled: cp, filter, logger } = ctx
  const mode = cp.mode('cdp-filter')
  const state = new ConnectionState(ctx.rootKind, cp.policy.cdp.redactCookies)
  const limiter = new RateLimiter(cp.policy.cdp.maxMessagesPerSecond)
  const who = { subject: ctx.principal?.subject, tokenId: ctx.principal?.tokenId, path: ctx.path }
  let closed = false

  const closeBoth = (code: number, reason: string): void => {
    if (closed) return
    closed = true
    clearTimeout(expiry); clearTimeout(idle)
    logger.info({ event: 'cdp-close', code, reason, ...who }, 'cdp connection closed')
    if (client.readyState === WebSocket.OPEN) client.close(code, reason)
    else client.terminate()
    if (browser.readyState === WebSocket.OPEN) browser.close(1000)
    else browser.terminate()
    ctx.onClose()
  }

  // A token that expires while connected ends the connection (RFC 6455 1008: policy violation).
  const expiry = ctx.principal === undefined
    ? undefined
    : setTimeout(() => { closeBoth(1008, 'token expired') }, Math.min(MAX_TIMER, Math.max(0, ctx.principal.expiresAt * 1000 - Date.now())))
  const idleMs = cp.policy.cdp.idleTimeoutSeconds * 1000
  let idle = setTimeout(() => { closeBoth(1001, 'idle timeout') }, idleMs)

  const refuse = (rule: string, message: string, id: number | undefined, sessionId: string | undefined, code = CDP_BLOCKED, method?: string): boolean => {
    metrics.inc('hedge_denials_total', { layer: 'cdp-filter', rule, mode })
    if (mode === 'report-only') {
      logger.info({ event: 'would-deny', layer: 'cdp-filter', rule, method, ...who }, `would deny by ${rule} (report-only)`)
      return false
    }
    logger.warn({ event: 'deny', layer: 'cdp-filter', rule, method, id, sessionId, ...who }, `denied by ${rule}`)
    if (client.readyState === WebSocket.OPEN) client.send(cdpError(id ?? 0, sessionId, code, `hedge: ${message} [${rule}]`))
    return true
  }

  client.on('message', (data: RawData, isBinary: boolean) => {
    // Fail closed: an unexpected exception ends this connection, never the gateway process.
    try { onClientMessage(data, isBinary) } catch (err) {
      logger.error({ event: 'cdp-relay-error', err: (err as Error).message, ...who }, 'relay error; closing the connection')
      closeBoth(1011, 'internal error')
    }
  })

  function onClientMessage (data: RawData, isBinary: boolean): void {
    idle.refresh()
    if (mode === 'off') { browser.send(data as Buffer, { binary: isBinary }); return }
    if (isBinary) {
      if (refuse('cdp.frame:binary', 'binary frames are not accepted', undefined, undefined)) { closeBoth(1003, 'binary frames are not accepted'); return }
      browser.send(data as Buffer, { binary: true })
      return
    }
    const text = (data as Buffer).toString('utf8')
    let cmd: CdpCommand
    try {
      cmd = parseCdpCommand(text, { maxDepth: CDP_MAX_DEPTH })
    } catch (err) {
      const e = err instanceof StrictJsonError ? err : new StrictJsonError('syntax', 'unparsable')
      const to = addressOf(e, text)
      if (!refuse(`cdp.parse:${e.reason}`, `message refused (${e.reason})`, to.id, to.sessionId, -32600)) browser.send(text)
      return
    }
    if (!limiter.take()) {
      if (refuse('cdp.rate', 'too many messages', cmd.id, cmd.sessionId, CDP_BLOCKED, cmd.method)) return
    }
    const d = decide(filter, state, cmd)
    if (d.action === 'deny') {
      if (refuse(d.rule, d.message, cmd.id, cmd.sessionId, CDP_BLOCKED, cmd.method)) return
      browser.send(serialiseCdpCommand(cmd))
      state.track(cmd)
      return
    }
    if (d.rule !== undefined) logger.info({ event: 'rewrite', layer: 'cdp-filter', rule: d.rule, method: cmd.method, ...who }, `rewritten by ${d.rule}`)
    const out = mode === 'enforce' ? d.cmd : cmd
    browser.send(serialiseCdpCommand(out))
    state.track(out)
  }

  // Frames Chromium sends unfragmented and untouched go to the client's socket byte for byte:
  // both legs are server→client frames (unmasked, no extension), so there is nothing to redo.
  // ws writes our own refusals to the same socket synchronously, so the order is kept.
  const clientSocket = (client as unknown as { _socket?: Socket })._socket
  browser.on('message', (buf: Buffer, isBinary: boolean, frame: Buffer | undefined) => {
    let out: Buffer | string = buf
    if (mode !== 'off' && !isBinary && state.needsParse(buf)) {
      const rewritten = state.observe(buf.toString('utf8'), mode === 'enforce')
      if (rewritten !== undefined) {
        metrics.inc('hedge_cdp_redactions_total', { rule: 'cdp.redactCookies', mode })
        if (mode === 'enforce') out = rewritten
        else logger.info({ event: 'would-redact', layer: 'cdp-filter', rule: 'cdp.redactCookies', ...who }, 'would strip cookies from an event (report-only)')
      }
    }
    if (client.readyState !== WebSocket.OPEN) return
    if (out === buf && frame !== undefined && clientSocket !== undefined) clientSocket.write(frame)
    else client.send(out, { binary: isBinary })
  })

  client.on('close', () => { closeBoth(1000, 'client closed') })
  browser.on('close', () => { closeBoth(1011, 'browser connection closed') })
  client.on('error', err => { logger.warn({ event: 'cdp-client-error', err: err.message, ...who }, 'client socket error'); closeBoth(1002, 'protocol error') })
  browser.on('error', (err: Error) => { logger.warn({ event: 'cdp-upstream-error', err: err.message, ...who }, 'browser socket error'); closeBoth(1011, 'browser connection error') })
}
