// What the client must not read in browser→client events, whatever it may do otherwise:
// cookies (request/response headers, cookie lists, raw Set-Cookie lines) in Network, Fetch
// and Audits events, which would hand it httpOnly session cookies even with the cookie-reading
// methods denied (policy cdp.redactCookies). Pure functions over a parsed event; the relay
// selects frames (mayCarryCookies), parses them, and sends the redacted event instead.

/** Events that can carry cookies, by their first bytes (Chromium writes `{"method":` first). */
const COOKIE_EVENT_PREFIXES = ['{"method":"Network.', '{"method":"Fetch.', '{"method":"Audits.issueAdded"'].map(s => Buffer.from(s))
const COOKIE_METHOD = /^(Network|Fetch|Audits)\./
const COOKIE_HEADERS = new Set(['cookie', 'set-cookie', 'cookie2', 'set-cookie2'])
const COOKIE_LISTS = new Set(['associatedCookies', 'blockedCookies', 'exemptedCookies', 'includedCookies'])
const RAW_HEADER_TEXT = new Set(['headersText', 'requestHeadersText'])

export interface CdpEvent { readonly method: string, readonly params?: unknown, readonly sessionId?: string }

/** Cheap test on the first bytes: may this browser→client frame carry cookies? */
export function mayCarryCookies (buf: Buffer): boolean {
  if (buf.length < 8 || buf[0] !== 0x7b || buf[2] !== 0x6d) return false // {"m
  for (const p of COOKIE_EVENT_PREFIXES) if (buf.length >= p.length && buf.compare(p, 0, p.length, 0, p.length) === 0) return true
  return false
}

/** A header given as {name, value} (Fetch's HeaderEntry, Network's request/response header arrays). */
function isCookieEntry (v: unknown): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const name = (v as Record<string, unknown>).name
  return typeof name === 'string' && COOKIE_HEADERS.has(name.trim().toLowerCase())
}

/** An own data property, whatever the key (never the __proto__ setter). */
function put (o: Record<string, unknown>, k: string, value: unknown): void {
  Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true })
}

/**
 * `v` without cookies. Pure: the input is never changed; what holds no cookie is returned
 * as the same reference (so `stripCookies(v) === v` means nothing was removed), and only the
 * objects and arrays on the way to a removed cookie are copied.
 */
export function stripCookies<T> (v: T): T {
  if (Array.isArray(v)) {
    let out: unknown[] | undefined
    for (let i = 0; i < v.length; i++) {
      const e: unknown = v[i]
      if (isCookieEntry(e)) { out ??= v.slice(0, i); continue }
      const s = stripCookies(e)
      if (s !== e) out ??= v.slice(0, i)
      out?.push(s)
    }
    return (out ?? v) as T
  }
  if (v === null || typeof v !== 'object') return v
  const o = v as Record<string, unknown>
  let out: Record<string, unknown> | undefined
  const copy = (): Record<string, unknown> => (out ??= { ...o })
  for (const k of Object.keys(o)) {
    const e = o[k]
    if (COOKIE_HEADERS.has(k.toLowerCase()) || k === 'rawCookieLine') delete copy()[k]
    else if (COOKIE_LISTS.has(k) && Array.isArray(e) && e.length > 0) put(copy(), k, [])
    else if (RAW_HEADER_TEXT.has(k) && typeof e === 'string') {
      const cleaned = e.split(/\r?\n/).filter(l => !/^\s*(set-)?cookie2?\s*:/i.test(l)).join('\r\n')
      if (cleaned !== e) put(copy(), k, cleaned)
    } else {
      const s = stripCookies(e)
      if (s !== e) put(copy(), k, s)
    }
  }
  return (out ?? o) as T
}

/** The event without its cookies, or undefined when it carried none (send the original bytes). */
export function redactCookies (event: CdpEvent): CdpEvent | undefined {
  if (!COOKIE_METHOD.test(event.method)) return undefined
  const params = stripCookies(event.params)
  return params === event.params ? undefined : { ...event, params }
}
