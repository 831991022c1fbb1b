// One relayed DevTools connection: client ⇄ gateway ⇄ Chromium, `ws` on both legs.
//   setup (browser endpoint, enforce): the gateway switches target discovery on for itself
//     and, with tenancy `isolated`, creates the client's own disposable browser context with
//     its downloads pinned to output/ and one blank page in it; client frames wait meanwhile.
//   client→browser: bytes charged before parsing (over budget: the client is paused), text
//     only; strict parse → decision → the re-serialised command is forwarded, or refused with a
//     CDP error carrying the same id (and sessionId), or answered by the gateway itself.
//   browser→client: passed on as received unless its first bytes show the session tracker
//     needs it; frames about targets this client may not see are dropped.
//   backpressure: a leg whose peer stops reading pauses the other leg (ws pause/resume).
import { WebSocket, type RawData } from 'ws'
import type { UpstreamSocket } from './upstream-socket.ts'
import type { CompiledPolicy } from '../policy/compile.ts'
import type { Principal } from '../auth/jwt.ts'
import {
  cdpError, cdpResult, CdpCommandError, parseCdpCommand, refusalText, replyAddress, serialiseCdpCommand, type CdpCommand, type ReplyAddress,
} from './protocol.ts'
import type { CdpFilter } from './filter.ts'
import { decide, type Decision } from './decide.ts'
import { ConnectionState, type InternalCommand, type SessionKind } from './sessions.ts'
import { mayCarryCookies, redactCookies, type CdpEvent } from './event-redaction.ts'
import type { ContextRegistry } from './target-view.ts'
import { CDP_BLOCKED, ERRORS, type ErrorCode } from '../errors/codes.ts'
import type { Logger } from '../logger.ts'
import { metrics } from '../metrics.ts'
import { judge, type Verdict } from '../layers/verdict.ts'

export interface RelayContext {
  readonly compiled: CompiledPolicy
  readonly filter: CdpFilter
  readonly logger: Logger
  readonly principal: Principal | undefined
  readonly rootKind: SessionKind
  readonly path: string
  readonly registry: ContextRegistry
  readonly onClose: () => void
}

const MAX_TIMER = 2_147_483_647
// Chromium's own nesting limit for a CDP message (crdtp's stack limit; measured on 156: a
// depth of 301 is accepted, 302 refused). Playwright's serialised callFunctionOn arguments
// go well past the parser's default of 32, so anything lower breaks locators.
const CDP_MAX_DEPTH = 300
/** A leg with more than this queued for its peer pauses the other leg until it drains below LOW. */
const HIGH_WATER = 8 * 1024 * 1024
const LOW_WATER = 1024 * 1024
const INTERNAL_TIMEOUT_MS = 15_000
const DENY_LOG_PER_SECOND = 20
/** JSON-RPC's "Invalid Request": the answer to a frame that is not a CDP command. */
const CDP_INVALID_REQUEST = -32600
const NO_ADDRESS: ReplyAddress = { id: undefined, sessionId: undefined }

function cdpVerdict (rule: string, message: string, code: ErrorCode): Verdict {
  return { layer: 'cdp-filter', code, rule, message }
}

/** A token bucket. `take(n)` charges n whatever (bytes already received) and answers how long (ms) until the debt is paid; `tryTake()` charges one only if it fits. */
export class TokenBucket {
  private tokens: number
  private last = Date.now()
  constructor (private readonly perSecond: number) { this.tokens = perSecond }
  private refill (): void {
    const now = Date.now()
    this.tokens = Math.min(this.perSecond, this.tokens + (now - this.last) * this.perSecond / 1000)
    this.last = now
  }

  take (n: number): number {
    this.refill()
    this.tokens -= n
    return this.tokens >= 0 ? 0 : Math.ceil(-this.tokens * 1000 / this.perSecond)
  }

  tryTake (): boolean {
    this.refill()
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}

export function relay (client: WebSocket, browser: UpstreamSocket, ctx: RelayContext): void {
  const { compiled: cp, filter, logger } = ctx
  const mode = cp.mode('cdp-filter')
  const enforce = mode === 'enforce'
  const cdpPolicy = cp.policy.cdp
  const onNewContext = (browserContextId: string): InternalCommand[] => {
    if (filter.downloads === 'allow') return []
    const params = filter.outputDir === undefined ? { behavior: 'deny', browserContextId } : { behavior: 'allow', downloadPath: filter.outputDir, browserContextId }
    return [{ method: 'Browser.setDownloadBehavior', params }]
  }
  const state = new ConnectionState(ctx.rootKind, {
    enforce, onNewContext,
    view: { rules: filter.targets, tenancy: filter.tenancy, registry: ctx.registry },
  })
  const limiter = new TokenBucket(cdpPolicy.maxMessagesPerSecond)
  const bytes = new TokenBucket(cdpPolicy.maxBytesPerSecond)
  const who = { subject: ctx.principal?.subject, tokenId: ctx.principal?.tokenId, path: ctx.path }
  let closed = false

  const closeBoth = (code: number, reason: string): void => {
    if (closed) return
    closed = true
    clearTimeout(expiry); clearTimeout(idle)
    for (const p of internal.values()) p.reject(new Error('connection closed'))
    internal.clear()
    state.view.releaseAll()
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
  const idleMs = cdpPolicy.idleTimeoutSeconds * 1000
  let idle = setTimeout(() => { closeBoth(1001, 'idle timeout') }, idleMs)

  // ---- the gateway's own commands on this connection (gateway ids, answers swallowed)
  const internal = new Map<number, { resolve: (r: Record<string, any>) => void, reject: (e: Error) => void }>()
  const sendInternal = (c: InternalCommand): Promise<Record<string, any>> => new Promise((resolve, reject) => {
    const id = closed || browser.readyState !== WebSocket.OPEN ? undefined : state.internalId()
    if (id === undefined) { reject(new Error('connection closed or busy')); return }
    const timer = setTimeout(() => { internal.delete(id); state.settle(id); reject(new Error(`${c.method} timed out`)) }, INTERNAL_TIMEOUT_MS)
    internal.set(id, {
      resolve: r => { clearTimeout(timer); resolve(r) },
      reject: e => { clearTimeout(timer); reject(e) },
    })
    browser.send(serialiseCdpCommand({ id, method: c.method, params: c.params, sessionId: c.sessionId }))
  })
  const fireInternal = (cmds: readonly InternalCommand[] | undefined): void => {
    for (const c of cmds ?? []) {
      sendInternal(c).catch((err: Error) => { logger.debug({ event: 'cdp-internal-failed', method: c.method, err: err.message, ...who }, 'gateway command failed') })
    }
  }

  // ---- setup: until it is done, client frames wait in order
  let queue: Array<[RawData, boolean]> | null = null
  /** Run `prepare` before any further client frame (those that arrive meanwhile wait, in order). */
  const holdWhile = (prepare: () => Promise<void>, first?: [RawData, boolean]): void => {
    queue = first === undefined ? [] : [first]
    prepare().then(() => {
      const q = queue ?? []
      queue = null
      for (const [data, isBinary] of q) { if (!closed) onClientFrame(data, isBinary) }
    }, (err: Error) => {
      if (closed) return // the client left while the connection was being prepared
      logger.error({ event: 'cdp-setup-failed', err: err.message, ...who }, 'could not prepare the connection; closing it')
      closeBoth(1011, 'gateway setup failed')
    })
  }
  if (enforce && ctx.rootKind === 'browser') {
    holdWhile(async () => {
      // every type (browser and tab included): what the client sees is then decided by its own filter and the target rules
      await sendInternal({ method: 'Target.setDiscoverTargets', params: { discover: true, filter: [{}] } })
      if (filter.tenancy === 'isolated') {
        const r = await sendInternal({ method: 'Target.createBrowserContext', params: { disposeOnDetach: true } })
        if (typeof r.browserContextId !== 'string') throw new Error('no browser context')
        state.view.claim(r.browserContextId, true)
        for (const c of onNewContext(r.browserContextId)) await sendInternal(c)
      }
    })
  }
  // One blank page in the client's own context, as a fresh browser shows — made when the client
  // first looks for pages (Playwright's contexts()[0].pages()[0], Puppeteer's pages()), because
  // a page is a window and a renderer: measured ~0.2–1 s of a busy browser per connection.
  let blankPage = !(enforce && ctx.rootKind === 'browser' && filter.tenancy === 'isolated')
  const LOOKS_FOR_PAGES = new Set(['Target.setAutoAttach', 'Target.getTargets', 'Target.setDiscoverTargets', 'Target.getBrowserContexts'])

  // Deny lines are budgeted per connection: a flood of refused frames is one summary line a second, not one line each.
  let logged = 0
  let suppressed = 0
  let windowStart = Date.now()
  const denyLog = (level: 'warn' | 'info', entry: Record<string, unknown>, msg: string): void => {
    const now = Date.now()
    if (now - windowStart >= 1000) {
      if (suppressed > 0) logger.warn({ event: 'deny-suppressed', layer: 'cdp-filter', count: suppressed, ...who }, `${suppressed} more denials in the last second`)
      windowStart = now; logged = 0; suppressed = 0
    }
    if (logged >= DENY_LOG_PER_SECOND) { suppressed++; return }
    logged++
    logger[level](entry, msg)
  }

  /**
   * A refused client frame, judged like every other layer's decision (one log line through the
   * rate-limited denyLog, one counter). Enforce: the client gets a CDP error at the frame's own
   * id and sessionId, `hedge: message [rule]`, and true is returned; report-only: false (forward it).
   */
  const refuse = (v: Verdict, to: ReplyAddress, method?: string, cdpCode = CDP_BLOCKED): boolean => {
    const fields = { method, id: to.id, sessionId: to.sessionId, ...who }
    if (judge(mode, v, { front: 'cdp', log: denyLog, fields }) !== 'deny') return false
    reply(cdpError(to.id ?? 0, to.sessionId, cdpCode, refusalText(v.message ?? ERRORS[v.code].message, v.rule)))
    return true
  }

  // ---- backpressure: the side whose peer stops reading pauses the other side
  let bytesPausedUntil = 0
  const mayResume = (ws: WebSocket): boolean => ws !== client ||
    (Date.now() >= bytesPausedUntil && client.bufferedAmount < LOW_WATER && browser.bufferedAmount < LOW_WATER)
  const sendTo = (to: WebSocket, from: WebSocket, data: Buffer | string, binary: boolean): void => {
    to.send(data, { binary }, () => { if (from.isPaused && mayResume(from) && to.bufferedAmount < LOW_WATER) from.resume() })
    if (to.bufferedAmount > HIGH_WATER && !from.isPaused) from.pause()
  }
  /** What the gateway itself answers the client (refusals, local answers): the client is paused while it does not read them. */
  const reply = (text: string): void => {
    if (client.readyState !== WebSocket.OPEN) return
    sendTo(client, client, text, false)
  }

  client.on('message', (data: RawData, isBinary: boolean) => {
    // Fail closed: an unexpected exception ends this connection, never the gateway process.
    try {
      idle.refresh()
      // Bytes are charged before anything parses them; over budget, the client is paused until it fits.
      const wait = bytes.take((data as Buffer).length)
      if (wait > 0 && !client.isPaused) {
        bytesPausedUntil = Date.now() + wait
        client.pause()
        setTimeout(() => { if (!closed && client.isPaused && mayResume(client)) client.resume() }, wait).unref()
      }
      if (queue !== null) { queue.push([data, isBinary]); return }
      onClientFrame(data, isBinary)
    } catch (err) {
      logger.error({ event: 'cdp-relay-error', err: (err as Error).message, ...who }, 'relay error; closing the connection')
      closeBoth(1011, 'internal error')
    }
  })

  function onClientFrame (data: RawData, isBinary: boolean): void {
    if (mode === 'off') { sendTo(browser, client, data as Buffer, isBinary); return }
    if (isBinary) {
      if (refuse(cdpVerdict('cdp.frame:binary', 'binary frames are not accepted', 'HEDGE_BAD_REQUEST'), NO_ADDRESS)) {
        closeBoth(1003, 'binary frames are not accepted')
        return
      }
      sendTo(browser, client, data as Buffer, true)
      return
    }
    const text = (data as Buffer).toString('utf8')
    let cmd: CdpCommand
    try {
      cmd = parseCdpCommand(text, { maxDepth: CDP_MAX_DEPTH })
    } catch (err) {
      const e = err instanceof CdpCommandError ? err : new CdpCommandError('syntax', 'unparsable')
      const v = cdpVerdict(`cdp.parse:${e.reason}`, `message refused (${e.reason})`, 'HEDGE_BAD_REQUEST')
      if (!refuse(v, replyAddress(e, text), undefined, CDP_INVALID_REQUEST)) sendTo(browser, client, Buffer.from(text), false)
      return
    }
    if (!blankPage && LOOKS_FOR_PAGES.has(cmd.method)) {
      // this frame runs again once the page exists
      blankPage = true
      const ctxId = state.view.gatewayContext
      holdWhile(async () => { if (ctxId !== undefined) await sendInternal({ method: 'Target.createTarget', params: { url: 'about:blank', browserContextId: ctxId } }) }, [data, isBinary])
      return
    }
    if (!limiter.tryTake()) {
      if (refuse(cdpVerdict('cdp.rate', 'too many messages', 'HEDGE_RATE_LIMITED'), cmd, cmd.method)) return
    }
    const d = decide(filter, state, cmd)
    if (d.action === 'deny') {
      if (refuse(cdpVerdict(d.rule, d.message, d.code), cmd, cmd.method)) return
      forward(cmd, d)
      return
    }
    if (d.action === 'answer') {
      // Discovery stays on for the gateway; the client's wish decides which events it sees.
      state.view.discover = d.discover ?? undefined
      if (d.discover !== null) for (const ev of state.view.createdEvents()) reply(ev)
      reply(cdpResult(cmd.id, cmd.sessionId, d.result))
      return
    }
    if (d.rule !== undefined) logger.info({ event: 'rewrite', layer: 'cdp-filter', rule: d.rule, method: cmd.method, ...who }, `rewritten by ${d.rule}`)
    forward(enforce ? d.cmd : cmd, d)
  }

  /** Forward a command (tracked when its answer must be read), then apply what the decision said it changes. */
  function forward (cmd: CdpCommand, d: Decision): void {
    const out = state.track(cmd)
    if (out === undefined) {
      refuse(cdpVerdict('cdp.pending-full', 'too many answers outstanding on this connection', 'HEDGE_RATE_LIMITED'), cmd, cmd.method)
      return
    }
    sendTo(browser, client, Buffer.from(serialiseCdpCommand(out)), false)
    if (d.action === 'forward' && d.closesHandle !== undefined) state.closeHandle(d.closesHandle)
  }

  browser.on('message', (buf: Buffer, isBinary: boolean) => {
    try { onBrowserFrame(buf, isBinary) } catch (err) {
      logger.error({ event: 'cdp-relay-error', err: (err as Error).message, ...who }, 'relay error; closing the connection')
      closeBoth(1011, 'internal error')
    }
  })

  /**
   * Browser→client: the gateway's own answers are taken, then what the connection learns
   * (sessions.ts), then what the client must not read (event-redaction.ts).
   */
  function onBrowserFrame (buf: Buffer, isBinary: boolean): void {
    let out: Buffer | string = buf
    if (mode !== 'off' && !isBinary) {
      if (state.needsParse(buf)) {
        const text = buf.toString('utf8')
        if (settleInternal(text)) return
        const o = state.observe(text)
        if (o.detached !== undefined) {
          const { rule, targetId } = o.detached
          const msg = `target became forbidden (${rule}): sessions detached`
          logger.warn({ event: 'detach', layer: 'cdp-filter', rule, targetId, ...who }, msg)
        }
        for (const n of o.notices ?? []) reply(n)
        fireInternal(o.internal)
        if (o.drop === true) return
        if (o.text !== undefined) out = o.text
      }
      // Frames that may carry cookies (Network, Fetch, Audits events) are never ones observe() reads or rewrites.
      if (cdpPolicy.redactCookies && mayCarryCookies(buf)) {
        const r = redactFrame(buf.toString('utf8'))
        if (r === null) return
        if (r !== undefined) out = r
      }
    }
    if (client.readyState !== WebSocket.OPEN) return
    sendTo(client, browser, typeof out === 'string' ? Buffer.from(out) : out, isBinary)
  }

  /** An answer to one of the gateway's own commands (negative id): settled here, never passed on. */
  function settleInternal (text: string): boolean {
    if (internal.size === 0 || !text.startsWith('{"id":-')) return false
    const msg = JSON.parse(text) as { id: number, result?: Record<string, any>, error?: { message?: string } }
    const p = internal.get(msg.id)
    if (p === undefined) return false
    internal.delete(msg.id)
    state.settle(msg.id)
    if (msg.error !== undefined) p.reject(new Error(String(msg.error.message ?? 'error'))); else p.resolve(msg.result ?? {})
    return true
  }

  /**
   * An event that may carry cookies: the text to send instead (enforce), undefined to send it
   * as it came (nothing to strip, or report-only), null to drop it (enforce: not a JSON object).
   */
  function redactFrame (text: string): string | null | undefined {
    let ev: unknown
    try { ev = JSON.parse(text) } catch { return enforce ? null : undefined }
    if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) return enforce ? null : undefined
    if (typeof (ev as { method?: unknown }).method !== 'string') return undefined
    const redacted = redactCookies(ev as CdpEvent)
    if (redacted === undefined) return undefined
    metrics.inc('hedge_cdp_redactions_total', { rule: 'cdp.redactCookies', mode })
    if (enforce) return JSON.stringify(redacted)
    const entry = { event: 'would-redact', layer: 'cdp-filter', rule: 'cdp.redactCookies', ...who }
    logger.info(entry, 'would strip cookies from an event (report-only)')
    return undefined
  }

  client.on('close', () => { closeBoth(1000, 'client closed') })
  browser.on('close', () => { closeBoth(1011, 'browser connection closed') })
  client.on('error', err => { logger.warn({ event: 'cdp-client-error', err: err.message, ...who }, 'client socket error'); closeBoth(1002, 'protocol error') })
  browser.on('error', (err: Error) => { logger.warn({ event: 'cdp-upstream-error', err: err.message, ...who }, 'browser socket error'); closeBoth(1011, 'browser connection error') })
}
