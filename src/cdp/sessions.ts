// What one relayed connection has been handed by the browser: flat sessions (with the
// kind of target behind each), IO stream handles, and navigation-history entries. The
// filter only lets a client use what appears here, so a guessed sessionId or a stream
// handle from another connection is refused.
//
// Browser→client frames take a fast path: only those whose first bytes show they matter
// (a Target attach/detach event, a tracing stream, or the answer to a command we track)
// are parsed; everything else (e.g. multi-megabyte screenshots) is passed on untouched.
import type { CdpCommand } from './strict-json.ts'

export type SessionKind = 'browser' | 'page' | 'iframe' | 'worker' | 'service_worker' | 'shared_worker' | 'other'

const KINDS = new Set<SessionKind>(['browser', 'page', 'iframe', 'worker', 'service_worker', 'shared_worker'])
const MAX_ENTRIES = 10_000

/** Commands whose answers carry something the filter must learn. */
const TRACKED = new Set(['Target.attachToTarget', 'Target.attachToBrowserTarget', 'Page.getNavigationHistory', 'Page.printToPDF', 'Fetch.takeResponseBodyAsStream', 'Network.takeResponseBodyForInterceptionAsStream', 'Tracing.end'])

const EVENT_PREFIXES = ['{"method":"Target.attachedToTarget"', '{"method":"Target.detachedFromTarget"', '{"method":"Tracing.tracingComplete"'].map(s => Buffer.from(s))
/** Events that can carry cookies (request/response headers, cookie lists, raw Set-Cookie lines). */
const COOKIE_EVENT_PREFIXES = ['{"method":"Network.', '{"method":"Fetch.', '{"method":"Audits.issueAdded"'].map(s => Buffer.from(s))
const COOKIE_HEADERS = new Set(['cookie', 'set-cookie', 'cookie2', 'set-cookie2'])
const COOKIE_LISTS = new Set(['associatedCookies', 'blockedCookies', 'exemptedCookies', 'includedCookies'])
const RAW_HEADER_TEXT = new Set(['headersText', 'requestHeadersText'])

/** Remove cookies from an event's params in place; true when anything was removed. */
export function stripCookies (v: unknown): boolean {
  if (Array.isArray(v)) { let changed = false; for (const x of v) changed = stripCookies(x) || changed; return changed }
  if (v === null || typeof v !== 'object') return false
  const o = v as Record<string, unknown>
  let changed = false
  for (const k of Object.keys(o)) {
    if (COOKIE_HEADERS.has(k.toLowerCase()) || k === 'rawCookieLine') { delete o[k]; changed = true } else if (COOKIE_LISTS.has(k) && Array.isArray(o[k]) && (o[k] as unknown[]).length > 0) { o[k] = []; changed = true } else if (RAW_HEADER_TEXT.has(k) && typeof o[k] === 'string') {
      const cleaned = (o[k] as string).split(/\r?\n/).filter(l => !/^\s*(set-)?cookie2?\s*:/i.test(l)).join('\r\n')
      if (cleaned !== o[k]) { o[k] = cleaned; changed = true }
    } else changed = stripCookies(o[k]) || changed
  }
  return changed
}
const ID_PREFIX = Buffer.from('{"id":')

function kindOf (type: unknown): SessionKind {
  return typeof type === 'string' && KINDS.has(type as SessionKind) ? type as SessionKind : 'other'
}

export class ConnectionState {
  readonly sessions = new Map<string, SessionKind>()
  readonly handles = new Set<string>()
  private readonly history = new Map<string, Map<number, string>>()
  private readonly pending = new Map<string, string>() // `${sessionId}:${id}` → method
  private readonly pendingIds = new Map<number, number>() // id → how many pending (fast check)

  constructor (readonly rootKind: SessionKind, private readonly redactCookies = false) {}

  /** Remember an allowed command whose answer we need to read. */
  track (cmd: CdpCommand): void {
    if (!TRACKED.has(cmd.method) || this.pending.size >= MAX_ENTRIES) return
    this.pending.set(`${cmd.sessionId ?? ''}:${cmd.id}`, cmd.method)
    this.pendingIds.set(cmd.id, (this.pendingIds.get(cmd.id) ?? 0) + 1)
  }

  /** Cheap test on the first bytes: does this browser→client frame need parsing? */
  needsParse (buf: Buffer): boolean {
    if (buf.length < 8 || buf[0] !== 0x7b) return false
    if (buf[2] === 0x6d) { // {"m
      for (const p of EVENT_PREFIXES) if (buf.length >= p.length && buf.compare(p, 0, p.length, 0, p.length) === 0) return true
      if (this.redactCookies) for (const p of COOKIE_EVENT_PREFIXES) if (buf.length >= p.length && buf.compare(p, 0, p.length, 0, p.length) === 0) return true
      return false
    }
    if (this.pendingIds.size === 0 || buf.compare(ID_PREFIX, 0, ID_PREFIX.length, 0, ID_PREFIX.length) !== 0) return false
    let id = 0
    let i = ID_PREFIX.length
    const neg = buf[i] === 0x2d
    if (neg) i++
    for (; i < buf.length && i < 20; i++) {
      const c = buf[i] as number
      if (c < 0x30 || c > 0x39) break
      id = id * 10 + (c - 0x30)
    }
    return this.pendingIds.has(neg ? -id : id)
  }

  /**
   * Learn from a browser→client frame that needsParse() selected. Returns the frame to send
   * instead when it had to be rewritten (cookies stripped), else undefined. Never throws.
   */
  observe (text: string, rewrite = true): string | undefined {
    let msg: { id?: number, method?: string, params?: Record<string, any>, result?: Record<string, any>, sessionId?: string }
    try { msg = JSON.parse(text) } catch { return undefined }
    if (msg === null || typeof msg !== 'object') return undefined
    if (typeof msg.method === 'string') {
      if (this.redactCookies && /^(Network|Fetch|Audits)\./.test(msg.method)) {
        return stripCookies(msg.params) ? (rewrite ? JSON.stringify(msg) : text) : undefined
      }
      const p = msg.params ?? {}
      if (msg.method === 'Target.attachedToTarget' && typeof p.sessionId === 'string') this.addSession(p.sessionId, kindOf(p.targetInfo?.type))
      else if (msg.method === 'Target.detachedFromTarget' && typeof p.sessionId === 'string') { this.sessions.delete(p.sessionId); this.history.delete(p.sessionId) }
      else if (msg.method === 'Tracing.tracingComplete' && typeof p.stream === 'string') this.addHandle(p.stream)
      return undefined
    }
    if (typeof msg.id !== 'number') return undefined
    const key = `${msg.sessionId ?? ''}:${msg.id}`
    const method = this.pending.get(key)
    if (method === undefined) return undefined
    this.pending.delete(key)
    const n = (this.pendingIds.get(msg.id) ?? 1) - 1
    if (n <= 0) this.pendingIds.delete(msg.id)
    else this.pendingIds.set(msg.id, n)
    const r = msg.result
    if (r === undefined || r === null) return undefined
    if (method === 'Target.attachToTarget' && typeof r.sessionId === 'string' && !this.sessions.has(r.sessionId)) this.addSession(r.sessionId, 'other')
    else if (method === 'Target.attachToBrowserTarget' && typeof r.sessionId === 'string') this.addSession(r.sessionId, 'browser')
    else if (method === 'Page.getNavigationHistory' && Array.isArray(r.entries)) {
      const entries = new Map<number, string>()
      for (const e of r.entries) if (typeof e?.id === 'number' && typeof e.url === 'string') entries.set(e.id, e.url)
      this.history.set(msg.sessionId ?? '', entries)
    } else if (typeof r.stream === 'string') this.addHandle(r.stream)
    return undefined
  }

  historyUrl (sessionId: string | undefined, entryId: unknown): string | undefined {
    return typeof entryId === 'number' ? this.history.get(sessionId ?? '')?.get(entryId) : undefined
  }

  private addSession (id: string, kind: SessionKind): void {
    if (this.sessions.size < MAX_ENTRIES) this.sessions.set(id, kind)
  }

  private addHandle (h: string): void {
    if (this.handles.size < MAX_ENTRIES) this.handles.add(h)
  }
}
