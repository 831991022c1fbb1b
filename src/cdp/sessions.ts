// What one relayed connection has been handed by the browser: flat sessions (with the
// kind of target behind each), IO stream handles, and navigation-history entries. The
// filter only lets a client use what appears here, so a guessed sessionId or a stream
// handle from another connection is refused.
//
// Browser→client frames take a fast path: only those whose first bytes show they matter
// (a Target attach/detach event, a tracing stream, or the answer to a command we track)
// are parsed; everything else (e.g. multi-megabyte screenshots) is passed on untouched.
import { cdpResult, refusalText, type CdpCommand } from './protocol.ts'
import { compileTargetRules } from './targets.ts'
import { ContextRegistry, TargetView, type TargetViewOptions } from './target-view.ts'

export type SessionKind = 'browser' | 'page' | 'iframe' | 'worker' | 'service_worker' | 'shared_worker' | 'other'

const KINDS = new Set<SessionKind>(['browser', 'page', 'iframe', 'worker', 'service_worker', 'shared_worker'])
const MAX_ENTRIES = 10_000

/** Commands whose answers carry something the filter must learn. */
const TRACKED = new Set(['Target.attachToTarget', 'Target.attachToBrowserTarget', 'Target.getTargets', 'Target.getBrowserContexts', 'Target.createBrowserContext',
  'Browser.getWindowForTarget',
  'Page.getNavigationHistory', 'Page.printToPDF', 'Fetch.takeResponseBodyAsStream', 'Network.takeResponseBodyForInterceptionAsStream', 'Tracing.end'])

/** Every Target event (targets and sessions are learnt from them) and the tracing stream. */
const EVENT_PREFIXES = ['{"method":"Target.', '{"method":"Tracing.tracingComplete"'].map(s => Buffer.from(s))
const ID_PREFIX = Buffer.from('{"id":')

/** The answer with the client's id in place of the gateway's: Chromium writes `{"id":N,` first, so only that prefix changes. */
function withId (text: string, gatewayId: number, clientId: number): string {
  const prefix = `{"id":${gatewayId},`
  if (text.startsWith(prefix)) return `{"id":${clientId},${text.slice(prefix.length)}`
  const msg = JSON.parse(text) as Record<string, unknown>
  return JSON.stringify({ ...msg, id: clientId })
}

function kindOf (type: unknown): SessionKind {
  return typeof type === 'string' && KINDS.has(type as SessionKind) ? type as SessionKind : 'other'
}

/** A command the gateway itself sends upstream (answered with a negative id the relay swallows). */
export interface InternalCommand { readonly method: string, readonly params: Record<string, unknown>, readonly sessionId?: string }

/** What to do with a browser→client frame after observe(): pass it, drop it, or send `text` instead; plus commands to send. */
export interface Observed {
  readonly drop?: boolean
  readonly text?: string
  readonly internal?: readonly InternalCommand[]
  /** Frames for the client before this one (why a session is being taken away). */
  readonly notices?: readonly string[]
  /** What to log about it. */
  readonly detached?: { readonly targetId: string, readonly rule: string }
}
const PASS: Observed = Object.freeze({})
const DROP: Observed = Object.freeze({ drop: true })

export interface StateOptions {
  /** Target rules and tenancy; without it, the default rules with shared tenancy. */
  readonly view?: TargetViewOptions
  /** false (report-only): learn and judge, but never hide, rewrite or send anything of our own. */
  readonly enforce?: boolean
  /** Commands to send when the client gets a new browser context (download confinement). */
  readonly onNewContext?: (ctx: string) => InternalCommand[]
}

const DEFAULT_VIEW: TargetViewOptions = { rules: compileTargetRules({ types: ['page', 'tab', 'iframe', 'worker', 'shared_worker', 'service_worker'], schemes: ['http', 'https', 'about', 'blob', 'data'] }), tenancy: 'shared', registry: new ContextRegistry() }

interface Pending { readonly method: string, readonly targetId?: string, readonly clientId?: number, readonly internal?: boolean }

export class ConnectionState {
  readonly sessions = new Map<string, SessionKind>()
  /** sessionId → the target behind it (flat sessions the browser announced). */
  readonly sessionTargets = new Map<string, string>()
  readonly handles = new Set<string>()
  /** Browser window ids learnt from Browser.getWindowForTarget answers (for this connection's own targets). */
  readonly windows = new Set<number>()
  readonly view: TargetView
  readonly enforce: boolean
  private readonly hidden = new Set<string>() // sessions the browser attached that the client must not see
  private readonly history = new Map<string, Map<number, string>>()
  /**
   * Commands whose answers the gateway reads travel upstream under a gateway id (negative,
   * unique on this connection): a client cannot make another answer take their place by
   * reusing an id, and an answer Chromium sends without its sessionId still matches.
   */
  private readonly pending = new Map<number, Pending>()
  private nextId = -1
  private readonly onNewContext: ((ctx: string) => InternalCommand[]) | undefined

  constructor (readonly rootKind: SessionKind, opts: StateOptions = {}) {
    this.enforce = opts.enforce ?? true
    this.view = new TargetView(opts.view ?? DEFAULT_VIEW, rootKind)
    this.onNewContext = opts.onNewContext
  }

  /** A fresh gateway id, never one still pending. */
  private allocId (): number {
    do { this.nextId = this.nextId <= -2_000_000_000 ? -1 : this.nextId - 1 } while (this.pending.has(this.nextId))
    return this.nextId
  }

  /**
   * The command to forward for an allowed client command: unchanged, or — when its answer
   * must be read — under a gateway id. undefined when too many answers are outstanding: the
   * caller refuses it (forwarding it untracked would let its answer through unread).
   */
  track (cmd: CdpCommand): CdpCommand | undefined {
    if (!TRACKED.has(cmd.method)) return cmd
    if (this.pending.size >= MAX_ENTRIES) return undefined
    const id = this.allocId()
    const targetId = cmd.params?.targetId
    this.pending.set(id, { method: cmd.method, clientId: cmd.id, ...(typeof targetId === 'string' ? { targetId } : {}) })
    return { ...cmd, id }
  }

  /** An id for one of the gateway's own commands (its answer is the caller's: see settle()). */
  internalId (): number | undefined {
    if (this.pending.size >= MAX_ENTRIES) return undefined
    const id = this.allocId()
    this.pending.set(id, { method: '', internal: true })
    return id
  }

  /** Is this a pending internal id? Forget it if so. */
  settle (id: number): boolean {
    if (this.pending.get(id)?.internal !== true) return false
    this.pending.delete(id)
    return true
  }

  /** Cheap test on the first bytes: does this browser→client frame need parsing? */
  needsParse (buf: Buffer): boolean {
    if (buf.length < 8 || buf[0] !== 0x7b) return false
    if (buf[2] === 0x6d) { // {"m
      for (const p of EVENT_PREFIXES) if (buf.length >= p.length && buf.compare(p, 0, p.length, 0, p.length) === 0) return true
      return false
    }
    // only gateway ids (negative) are read: `{"id":-`
    if (this.pending.size === 0 || buf[ID_PREFIX.length] !== 0x2d || buf.compare(ID_PREFIX, 0, ID_PREFIX.length, 0, ID_PREFIX.length) !== 0) return false
    let id = 0
    for (let i = ID_PREFIX.length + 1; i < buf.length && i < 20; i++) {
      const c = buf[i] as number
      if (c < 0x30 || c > 0x39) break
      id = id * 10 + (c - 0x30)
    }
    return this.pending.has(-id)
  }

  /**
   * Learn from a browser→client frame that needsParse() selected, and say what to do with it:
   * pass, drop (a target this client may not see), or replace (a list filtered, the
   * client's id restored). Events are only learnt from (their redaction: event-redaction.ts).
   * Never throws; a selected frame that does not parse is dropped (enforce) or passed as it
   * came (report-only), and nothing in it is learnt.
   */
  observe (text: string): Observed {
    let msg: { id?: number, method?: string, params?: Record<string, any>, result?: Record<string, any>, sessionId?: string }
    // Chromium sends valid JSON; a selected frame that is not is dropped when enforcing (fail closed).
    try { msg = JSON.parse(text) } catch { return this.enforce ? DROP : PASS }
    if (msg === null || typeof msg !== 'object') return this.enforce ? DROP : PASS
    if (typeof msg.method === 'string') return this.onEvent(msg as { method: string, params?: Record<string, any>, sessionId?: string })
    if (typeof msg.id !== 'number') return PASS
    const asked = this.pending.get(msg.id)
    if (asked === undefined || asked.internal === true) return PASS
    this.pending.delete(msg.id)
    // The client gets its own id back, whatever else happens to the answer.
    const clientMsg = { ...msg, id: asked.clientId }
    const r = msg.result
    const o = r === undefined || r === null ? PASS : this.onResult(asked, clientMsg, r)
    return o.text !== undefined || o.drop === true ? o : { ...o, text: withId(text, msg.id, asked.clientId as number) }
  }

  private onEvent (msg: { method: string, params?: Record<string, any>, sessionId?: string }): Observed {
    const p = msg.params ?? {}
    switch (msg.method) {
      case 'Target.targetCreated':
      case 'Target.targetInfoChanged': {
        const info = this.view.learn(p.targetInfo)
        if (info === undefined) return this.enforce ? DROP : PASS
        const internal: InternalCommand[] = []
        const notices: string[] = []
        const v = this.view.judge(info)
        if (this.enforce && !v.allowed) {
          // A target that became forbidden (e.g. navigated to chrome://) loses the client's sessions;
          // the client is told why (Inspector.detached carries a reason) before Chromium detaches it.
          for (const [sid, tid] of this.sessionTargets) {
            if (tid !== info.targetId) continue
            const reason = refusalText(v.message, v.rule)
            notices.push(JSON.stringify({ method: 'Inspector.detached', params: { reason }, sessionId: sid }))
            internal.push({ method: 'Target.detachFromTarget', params: { sessionId: sid } })
          }
        }
        const out: Observed = !this.enforce || this.view.discovered(info) ? PASS : DROP
        return internal.length === 0 ? out : { ...out, internal, notices, detached: { targetId: info.targetId, rule: v.allowed ? '' : v.rule } }
      }
      case 'Target.targetDestroyed':
      case 'Target.targetCrashed': {
        const info = typeof p.targetId === 'string' ? this.view.targets.get(p.targetId) : undefined
        const show = !this.enforce || (info !== undefined && this.view.discovered(info))
        if (msg.method === 'Target.targetDestroyed' && typeof p.targetId === 'string') this.view.forget(p.targetId)
        return show ? PASS : DROP
      }
      case 'Target.attachedToTarget': {
        if (typeof p.sessionId !== 'string') return this.enforce ? DROP : PASS
        const info = this.view.learn(p.targetInfo)
        if (!this.enforce || this.view.judge(info).allowed) {
          this.addSession(p.sessionId, kindOf(info?.type), info?.targetId)
          return PASS
        }
        // The browser attached us (auto-attach) to a target this client may not reach: hide the
        // session and let go of it; a target paused for the debugger is released first.
        if (this.hidden.size < MAX_ENTRIES) this.hidden.add(p.sessionId)
        const parent = typeof msg.sessionId === 'string' ? { sessionId: msg.sessionId } : {}
        return {
          drop: true,
          internal: [
            ...(p.waitingForDebugger === true ? [{ method: 'Runtime.runIfWaitingForDebugger', params: {}, sessionId: p.sessionId }] : []),
            { method: 'Target.detachFromTarget', params: { sessionId: p.sessionId }, ...parent },
          ],
        }
      }
      case 'Target.detachedFromTarget': {
        if (typeof p.sessionId !== 'string') return PASS
        if (this.hidden.delete(p.sessionId)) return this.enforce ? DROP : PASS
        this.sessions.delete(p.sessionId); this.sessionTargets.delete(p.sessionId); this.history.delete(p.sessionId)
        return PASS
      }
      case 'Target.receivedMessageFromTarget':
        return this.enforce ? DROP : PASS // non-flat sessions are refused; nothing of theirs reaches the client
      case 'Tracing.tracingComplete':
        if (typeof p.stream === 'string') this.addHandle(p.stream)
        return PASS
      default:
        return PASS
    }
  }

  private onResult (asked: Pending, msg: { id?: number, sessionId?: string }, r: Record<string, any>): Observed {
    const replace = (result: Record<string, unknown>): Observed => ({
      text: cdpResult(msg.id, msg.sessionId, this.enforce ? result : r),
    })
    switch (asked.method) {
      case 'Target.attachToTarget':
        if (typeof r.sessionId === 'string' && !this.sessions.has(r.sessionId)) {
          this.addSession(r.sessionId, kindOf(asked.targetId === undefined ? undefined : this.view.targets.get(asked.targetId)?.type), asked.targetId)
        }
        return PASS
      case 'Target.attachToBrowserTarget':
        if (typeof r.sessionId === 'string') this.addSession(r.sessionId, 'browser', undefined)
        return PASS
      case 'Target.getTargets': {
        if (!Array.isArray(r.targetInfos)) return replace({ targetInfos: [] })
        const shown = r.targetInfos.filter((x: unknown) => { const info = this.view.learn(x); return info !== undefined && this.view.judge(info).allowed })
        return shown.length === r.targetInfos.length ? PASS : replace({ ...r, targetInfos: shown })
      }
      case 'Target.getBrowserContexts': {
        if (this.view.o.tenancy === 'shared') return PASS
        const ids = Array.isArray(r.browserContextIds) ? r.browserContextIds.filter((c: unknown) => typeof c === 'string' && this.view.own.has(c) && c !== this.view.gatewayContext) : []
        // The gateway's context stands in for the default one, so clients treat it as theirs.
        const def = this.view.gatewayContext ?? r.defaultBrowserContextId
        return replace({ ...r, browserContextIds: ids, ...(def !== undefined ? { defaultBrowserContextId: def } : {}) })
      }
      case 'Target.createBrowserContext': {
        if (typeof r.browserContextId !== 'string') return PASS
        if (this.view.o.tenancy === 'isolated') this.view.claim(r.browserContextId)
        const internal = this.enforce ? this.onNewContext?.(r.browserContextId) ?? [] : []
        return internal.length === 0 ? PASS : { internal }
      }
      case 'Browser.getWindowForTarget':
        if (typeof r.windowId === 'number' && this.windows.size < MAX_ENTRIES) this.windows.add(r.windowId)
        return PASS
      case 'Page.getNavigationHistory':
        if (Array.isArray(r.entries)) {
          const entries = new Map<number, string>()
          for (const e of r.entries) if (typeof e?.id === 'number' && typeof e.url === 'string') entries.set(e.id, e.url)
          this.history.set(msg.sessionId ?? '', entries)
        }
        return PASS
      default:
        if (typeof r.stream === 'string') this.addHandle(r.stream)
        return PASS
    }
  }

  historyUrl (sessionId: string | undefined, entryId: unknown): string | undefined {
    return typeof entryId === 'number' ? this.history.get(sessionId ?? '')?.get(entryId) : undefined
  }

  private addSession (id: string, kind: SessionKind, targetId: string | undefined): void {
    if (this.sessions.size >= MAX_ENTRIES) return
    this.sessions.set(id, kind)
    if (targetId !== undefined) this.sessionTargets.set(id, targetId)
  }

  /** An IO stream the client closed (IO.close forwarded): its handle is no longer usable on this connection. */
  closeHandle (h: string): void {
    this.handles.delete(h)
  }

  private addHandle (h: string): void {
    if (this.handles.size < MAX_ENTRIES) this.handles.add(h)
  }
}
