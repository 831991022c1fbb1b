// Single-use CDP tickets. Discovery answers (/json/version, /json/list) carry WebSocket
// URLs; clients such as Puppeteer's `connect({ browserURL })` then open them WITHOUT our
// Authorization header. Instead of putting the bearer token in the URL (where it lands in
// logs and history; DESIGN.md "token theft"), the gateway puts a ticket there: random,
// bound to one target path, short-lived, usable once, and never outliving the token.
import { randomBytes } from 'node:crypto'
import type { Principal } from './jwt.ts'

/** 32 random bytes, base64url: 43 characters. */
const TICKET = /^[A-Za-z0-9_-]{43}$/

interface Entry { readonly principal: Principal, readonly target: string, readonly expiresAtMs: number }

export interface TicketStoreOptions {
  ttlSeconds: number
  /** Most outstanding tickets; issuing beyond it evicts the oldest (default 10 000). */
  maxEntries?: number
  /** Clock in epoch MILLISECONDS (like Date.now). */
  now?: () => number
}

export class TicketStore {
  readonly #map = new Map<string, Entry>() // insertion order = issue order (oldest first)
  readonly #ttlMs: number
  readonly #max: number
  readonly #now: () => number

  constructor (o: TicketStoreOptions) {
    if (!Number.isFinite(o.ttlSeconds) || o.ttlSeconds <= 0) throw new Error(`TicketStore: ttlSeconds must be > 0, got ${String(o.ttlSeconds)}`)
    const max = o.maxEntries ?? 10_000
    if (!Number.isInteger(max) || max < 1) throw new Error(`TicketStore: maxEntries must be a positive integer, got ${String(max)}`)
    this.#ttlMs = o.ttlSeconds * 1000
    this.#max = max
    this.#now = o.now ?? Date.now
  }

  get size (): number { return this.#map.size }

  /** A fresh ticket for `principal` on `target` (e.g. '/devtools/page/ID'); the caller canonicalises target. */
  issue (principal: Principal, target: string): string {
    if (typeof target !== 'string' || target === '') throw new Error('TicketStore.issue: target must be a non-empty string')
    const now = this.#now()
    this.#sweep(now)
    const ticket = randomBytes(32).toString('base64url')
    const expiresAtMs = Math.min(now + this.#ttlMs, principal.expiresAt * 1000)
    this.#map.set(ticket, { principal, target, expiresAtMs })
    while (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next()
      if (oldest.done === true) break
      this.#map.delete(oldest.value)
    }
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
    this.#map.delete(ticket)
    const now = this.#now()
    if (now >= e.expiresAtMs) return null
    if (now >= e.principal.expiresAt * 1000) return null
    if (e.target !== target) return null
    return e.principal
  }

  /**
   * Drop expired tickets from the front. Entries are in issue order and share one TTL, so the
   * first live one ends the sweep (a ticket cut short by its token's exp may linger behind a
   * live one until it is redeemed or evicted; redeem checks expiry anyway).
   */
  #sweep (now: number): void {
    for (const [k, e] of this.#map) {
      if (now < e.expiresAtMs) break
      this.#map.delete(k)
    }
  }

  clear (): void { this.#map.clear() }
}
