// Connection slots per token and per subject (issue 9, item 9): the CDP front counted per
// `sub`, and every development token shares one subject, so a limited token could take all
// the slots. A connection now takes one slot of its token (tokenId, small cap) AND one of
// its subject (larger cap); without authentication it takes one of its source address.
// The CDP front calls acquire() before dialling Chromium and release() when the relay closes.
import type { Principal } from '../auth/jwt.ts'

export interface QuotaLimits {
  /** Connections one token may hold open (and one source address, when auth is off). */
  readonly perToken: number
  /** Connections all tokens of one subject may hold open together (≥ perToken). */
  readonly perSubject: number
}

export type Acquired = { readonly ok: true, readonly release: () => void } | { readonly ok: false, readonly rule: string }

export class ConnectionQuota {
  readonly #counts = new Map<string, number>()
  readonly #limits: QuotaLimits

  constructor (limits: QuotaLimits) {
    for (const k of ['perToken', 'perSubject'] as const) {
      if (!Number.isInteger(limits[k]) || limits[k] < 1) throw new TypeError(`ConnectionQuota: ${k} must be a positive integer, got ${String(limits[k])}`)
    }
    this.#limits = limits
  }

  /** Slots in use under a key ('tok:<tokenId>', 'sub:<subject>', 'addr:<address>'), for tests and metrics. */
  used (key: string): number { return this.#counts.get(key) ?? 0 }

  /** One slot for `principal` (or `source` when there is none); the release function is idempotent. */
  acquire (principal: Pick<Principal, 'subject' | 'tokenId'> | undefined, source: string): Acquired {
    const want: Array<[string, number, string]> = principal === undefined
      ? [[`addr:${source}`, this.#limits.perToken, 'cdp.maxConnectionsPerSource']]
      : [[`tok:${principal.tokenId}`, this.#limits.perToken, 'cdp.maxConnectionsPerToken'], [`sub:${principal.subject}`, this.#limits.perSubject, 'cdp.maxConnectionsPerSubject']]
    for (const [key, cap, rule] of want) if ((this.#counts.get(key) ?? 0) >= cap) return { ok: false, rule }
    for (const [key] of want) this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1)
    let released = false
    return {
      ok: true,
      release: () => {
        if (released) return
        released = true
        for (const [key] of want) {
          const n = (this.#counts.get(key) ?? 1) - 1
          if (n <= 0) this.#counts.delete(key); else this.#counts.set(key, n)
        }
      },
    }
  }
}
