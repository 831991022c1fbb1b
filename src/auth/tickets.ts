// Single-use CDP tickets. Discovery answers (/json/version, /json/list) carry WebSocket
// URLs; clients such as Puppeteer's `connect({ browserURL })` then open them WITHOUT our
// Authorization header. Instead of putting the bearer token in the URL (where it lands in
// logs and history; docs/threat-model.md "token theft / forgery"), the gateway puts a ticket there: random,
// bound to one target path, short-lived, usable once, and never outliving the token.
//
// Quotas (issue 9, item 9): a `cdp:read` token could mint tickets fast enough to evict every
// other client's unused ones. Now each principal (one token: its tokenId) holds at most
// `maxPerPrincipal` live tickets — issuing more evicts only ITS OWN oldest — and when the
// whole store is full of other principals' live tickets, issuing is refused
// (HEDGE_TICKETS_EXHAUSTED) instead of evicting anybody else's.
import { randomBytes } from 'node:crypto'
import type { Principal } from './jwt.ts'
import { HedgeError } from '../errors/codes.ts'

/** 32 random bytes, base64url: 43 characters. */
const TICKET = /^[A-Za-z0-9_-]{43}$/

interface Entry { readonly principal: Principal, readonly owner: string, readonly target: string, readonly expiresAtMs: number }

export interface TicketStoreOptions {
  ttlSeconds: number
  /** Most outstanding tickets in all; when full of live tickets, issuing is refused (default 10 000). */
  maxEntries?: number
  /** Most outstanding tickets per principal (token); issuing beyond it evicts that principal's oldest (default 64). */
  maxPerPrincipal?: number
  /** Clock in epoch MILLISECONDS (like Date.now). */
  now?: () => number
}

/** Whose quota a ticket counts against: one token (tokenId is a hash of the whole token). */
export function ticketOwner (p: Principal): string { return `${p.tokenId}\u0000${p.subject}` }

export class TicketStore {
  readonly #map = new Map<string, Entry>() // insertion order = issue order (oldest first)
  readonly #byOwner = new Map<string, Set<string>>() // owner → its tickets, oldest first
  readonly #ttlMs: number
  readonly #max: number
  readonly #perPrincipal: number
  readonly #now: () => number

  constructor (o: TicketStoreOptions) {
    if (!Number.isFinite(o.ttlSeconds) || o.ttlSeconds <= 0) throw new Error(`TicketStore: ttlSeconds must be > 0, got ${String(o.ttlSeconds)}`)
    const max = o.maxEntries ?? 10_000
    if (!Number.isInteger(max) || max < 1) throw new Error(`TicketStore: maxEntries must be a positive integer, got ${String(max)}`)
    const per = o.maxPerPrincipal ?? 64
    if (!Number.isInteger(per) || per < 1) throw new Error(`TicketStore: maxPerPrincipal must be a positive integer, got ${String(per)}`)
    this.#ttlMs = o.ttlSeconds * 1000
    this.#max = max
    this.#perPrincipal = per
    this.#now = o.now ?? Date.now
  }

  get size (): number { return this.#map.size }

  /** Live (unexpired, unredeemed) tickets held by `principal`. */
  held (principal: Principal): number { return this.#byOwner.get(ticketOwner(principal))?.size ?? 0 }

  /**
   * A fresh ticket for `principal` on `target` (e.g. '/devtools/page/ID'); the caller canonicalises
   * target. Throws HedgeError HEDGE_TICKETS_EXHAUSTED (rule auth.tickets.capacity) when the
   * store is full of other principals' live tickets.
   */
  issue (principal: Principal, target: string): string {
    if (typeof target !== 'string' || target === '') throw new Error('TicketStore.issue: target must be a non-empty string')
    const now = this.#now()
    this.#sweep(now, false)
    const owner = ticketOwner(principal)
    let mine = this.#byOwner.get(owner)
    while (mine !== undefined && mine.size >= this.#perPrincipal) {
      const oldest = mine.values().next()
      if (oldest.done === true) break
      this.#delete(oldest.value)
      mine = this.#byOwner.get(owner)
    }
    if (this.#map.size >= this.#max) {
      this.#sweep(now, true) // tickets cut short by their token's exp may sit behind live ones
      if (this.#map.size >= this.#max) throw new HedgeError('HEDGE_TICKETS_EXHAUSTED', undefined, 'auth.tickets.capacity')
    }
    const ticket = randomBytes(32).toString('base64url')
    const expiresAtMs = Math.min(now + this.#ttlMs, principal.expiresAt * 1000)
    this.#map.set(ticket, { principal, owner, target, expiresAtMs })
    if (mine === undefined) { mine = new Set(); this.#byOwner.set(owner, mine) }
    mine.add(ticket)
    return ticket
  }

  /**
   * The principal if `ticket` is outstanding, unexpired, issued for exactly `target`, and its
   * token has not expired; null otherwise. Any redeem attempt consumes the ticket, even a
   * failed one (a ticket that leaked and was tried elsewhere is dead for everyone).
   */
  redeem (ticket: string, target: string): Principal | null {
    if (typeof ticket !== 'string' || !TICKET.test(ticket)) return null
    const e = this.#map.get(ticket)
    if (e === undefined) return null
    this.#delete(ticket)
    const now = this.#now()
    if (now >= e.expiresAtMs) return null
    if (now >= e.principal.expiresAt * 1000) return null
    if (e.target !== target) return null
    return e.principal
  }

  #delete (ticket: string): void {
    const e = this.#map.get(ticket)
    if (e === undefined) return
    this.#map.delete(ticket)
    const mine = this.#byOwner.get(e.owner)
    if (mine === undefined) return
    mine.delete(ticket)
    if (mine.size === 0) this.#byOwner.delete(e.owner)
  }

  /**
   * Drop expired tickets. Entries are in issue order and share one TTL, so normally the first
   * live one ends the sweep; `all` looks at every entry (a ticket cut short by its token's
   * exp may linger behind a live one; redeem checks expiry anyway).
   */
  #sweep (now: number, all: boolean): void {
    for (const [k, e] of this.#map) {
      if (now < e.expiresAtMs) { if (all) continue; break }
      this.#delete(k)
    }
  }

  clear (): void { this.#map.clear(); this.#byOwner.clear() }
}
