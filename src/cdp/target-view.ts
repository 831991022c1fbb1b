// What one relayed connection may see of the browser's targets: every target's type, URL
// and browser context (learned from the browser's own Target events and answers, never from
// the client), which contexts belong to this connection, and whether the client asked for
// target discovery. Pure state: the relay feeds it frames and executes what it returns.
//
// Tenancy `isolated` (the default): a browser connection gets a disposable browser context of
// its own, created by the gateway; the client sees and reaches only targets in its own
// contexts, so cookies, storage, service workers and downloads die with the connection and
// no client can read or drive another's pages. `shared`: every context is visible; only the
// target rules (type, URL scheme) apply. See docs/cdp-model.md.
import { judgeTarget, isTargetInfo, type TargetInfo, type TargetRules, type TargetVerdict } from './targets.ts'

export type Tenancy = 'isolated' | 'shared'

/**
 * Contexts claimed by connections, across the whole CDP front. A released context stays
 * claimed for a while: Chromium disposes of it only after the connection has closed, and
 * until then its pages must not show up in anyone's list (ids are random and never reused).
 */
export class ContextRegistry {
  private readonly owners = new Map<string, { count: number, retiredAt?: number }>()
  constructor (private readonly retireMs = 60_000, private readonly maxRetired = 10_000) {}
  claim (ctx: string): void {
    const e = this.owners.get(ctx)
    if (e === undefined || e.retiredAt !== undefined) this.owners.set(ctx, { count: 1 }); else e.count++
  }

  release (ctx: string): void {
    const e = this.owners.get(ctx)
    if (e === undefined || e.retiredAt !== undefined) return
    if (--e.count > 0) return
    e.retiredAt = Date.now()
    this.prune()
  }

  isClaimed (ctx: string | undefined): boolean { return ctx !== undefined && this.owners.has(ctx) }

  /** Forget retired contexts older than retireMs, and the oldest ones beyond maxRetired. */
  private prune (): void {
    const now = Date.now()
    let retired = 0
    for (const e of this.owners.values()) if (e.retiredAt !== undefined) retired++
    for (const [ctx, e] of this.owners) { // insertion order: oldest first
      if (e.retiredAt === undefined) continue
      if (now - e.retiredAt < this.retireMs && retired <= this.maxRetired) break
      this.owners.delete(ctx); retired--
    }
  }
}

export interface TargetViewOptions {
  readonly rules: TargetRules
  readonly tenancy: Tenancy
  readonly registry: ContextRegistry
}

/** A target filter entry as Target.setDiscoverTargets / setAutoAttach take it. */
interface FilterEntry { type?: string, exclude?: boolean }
const DEFAULT_FILTER: FilterEntry[] = [{ type: 'browser', exclude: true }, { type: 'tab', exclude: true }, {}]

/** Chromium's TargetFilter semantics: the first entry whose type matches decides; no match excludes. */
export function matchesFilter (filter: readonly FilterEntry[] | undefined, type: string): boolean {
  for (const e of filter ?? DEFAULT_FILTER) if (e.type === undefined || e.type === type) return e.exclude !== true
  return false
}

export function parseFilter (v: unknown): FilterEntry[] | undefined | null {
  if (v === undefined) return undefined
  if (!Array.isArray(v) || v.length > 64) return null
  const out: FilterEntry[] = []
  for (const e of v) {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) return null
    const { type, exclude, ...rest } = e as Record<string, unknown>
    if (Object.keys(rest).length > 0 || (type !== undefined && typeof type !== 'string') || (exclude !== undefined && typeof exclude !== 'boolean')) return null
    out.push({ ...(type !== undefined ? { type: type as string } : {}), ...(exclude !== undefined ? { exclude: exclude as boolean } : {}) })
  }
  return out
}

const MAX_TARGETS = 10_000

export class TargetView {
  readonly targets = new Map<string, TargetInfo>()
  /** Contexts this connection owns (isolated): the gateway's own first, then those the client created. */
  readonly own = new Set<string>()
  gatewayContext: string | undefined
  /** The client's own Target.setDiscoverTargets wish (the gateway keeps discovery on for itself). */
  discover: { readonly filter: FilterEntry[] | undefined } | undefined

  constructor (readonly o: TargetViewOptions, readonly rootKind: string) {}

  /** Learn (or update) a target from something the browser said. */
  learn (info: unknown): TargetInfo | undefined {
    if (!isTargetInfo(info)) return undefined
    if (this.targets.size >= MAX_TARGETS && !this.targets.has(info.targetId)) return undefined
    this.targets.set(info.targetId, info)
    return info
  }

  forget (targetId: string): void { this.targets.delete(targetId) }

  claim (ctx: string, gateway = false): void {
    if (this.own.has(ctx)) return
    this.own.add(ctx)
    this.o.registry.claim(ctx)
    if (gateway) this.gatewayContext = ctx
  }

  releaseAll (): void {
    for (const c of this.own) this.o.registry.release(c)
    this.own.clear()
  }

  /** May this connection see and reach `info`? */
  judge (info: TargetInfo | undefined): TargetVerdict {
    if (info === undefined) return { allowed: false, rule: 'cdp.targets.unknown', message: 'target not known to the gateway' }
    if (info.type === 'browser') return this.rootKind === 'browser' ? { allowed: true } : { allowed: false, rule: 'cdp.builtin:browser-escalation', message: 'a page connection cannot reach the browser target' }
    const v = judgeTarget(this.o.rules, info)
    if (!v.allowed || this.o.tenancy === 'shared') return v
    const ctx = typeof info.browserContextId === 'string' ? info.browserContextId : undefined
    // A page socket lives in an unclaimed context (checked at the upgrade); a browser connection only in its own.
    const mine = this.rootKind === 'browser' ? ctx !== undefined && this.own.has(ctx) : !this.o.registry.isClaimed(ctx)
    return mine ? v : { allowed: false, rule: 'cdp.tenancy.context', message: 'target belongs to another client\'s browser context' }
  }

  judgeId (targetId: unknown): TargetVerdict {
    return this.judge(typeof targetId === 'string' ? this.targets.get(targetId) : undefined)
  }

  /** Pages open in this connection's own contexts. */
  ownPages (): number {
    let n = 0
    for (const t of this.targets.values()) if (t.type === 'page' && typeof t.browserContextId === 'string' && this.own.has(t.browserContextId)) n++
    return n
  }

  /** Is a browser context one the client may name (isolated: its own; shared: any)? */
  contextAllowed (ctx: unknown): boolean {
    return this.o.tenancy === 'shared' || (typeof ctx === 'string' && this.own.has(ctx))
  }

  /** The client's discovery wants this target's events? */
  discovered (info: TargetInfo): boolean {
    return this.discover !== undefined && matchesFilter(this.discover.filter, info.type) && this.judge(info).allowed
  }

  /** Target.targetCreated events for every visible target, as Chromium sends them when discovery is switched on. */
  createdEvents (): string[] {
    const out: string[] = []
    for (const info of this.targets.values()) if (this.discovered(info)) out.push(JSON.stringify({ method: 'Target.targetCreated', params: { targetInfo: info } }))
    return out
  }
}
