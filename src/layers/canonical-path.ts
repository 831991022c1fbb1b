// Canonical request-target check for the kernel front ("filter evasion", docs/threat-model.md).
// The gateway matches routes on the raw path and forwards the raw path, so a path is
// accepted only when every parser behind us (uvicorn, Starlette, FastAPI) must read it the
// same way the route table does. Nothing is normalised: anything that a normaliser would
// change is REJECTED with a stable reason, so there is no second interpretation to exploit.
//
// Accepted: origin-form (RFC 9112 §3.2.1) '/' segment*, raw pchar minus ';' (RFC 3986 §3.3),
// and %XX only for printable ASCII that is not unreserved and not '/', '\', '%', ';'
// (e.g. %20, %3f, %23 stay possible for values in a path segment).
// Rejected on purpose:
// - percent-encoded unreserved characters (%6b for 'k', %2e for '.'): a legitimate client
//   never encodes them (RFC 3986 §2.3 says they are equivalent to the raw character), and
//   allowing them would make '/%6bernel/x' reach '/kernel/x' past a literal route match.
// - a trailing slash is kept as is ('/health/' stays distinct and will not match '/health').
// The query is returned raw and not interpreted here, but raw controls, spaces, non-ASCII
// and '#' are rejected in it too (llhttp would normally refuse them already).

export type PathRejectReason =
  | 'empty'
  | 'too-long'
  | 'asterisk-form'
  | 'absolute-form'
  | 'not-origin-form'
  | 'fragment'
  | 'control-char'
  | 'non-ascii'
  | 'backslash'
  | 'encoded-slash'
  | 'encoded-dot'
  | 'encoded-unreserved'
  | 'double-encoding'
  | 'encoded-control'
  | 'encoded-non-ascii'
  | 'encoded-semicolon'
  | 'bad-percent-encoding'
  | 'path-parameter'
  | 'dot-segment'
  | 'empty-segment'
  | 'invalid-char'

export type CanonicalPath =
  | { readonly ok: true, readonly path: string, readonly query: string }
  | { readonly ok: false, readonly reason: PathRejectReason }

export interface CanonicalPathOptions {
  /** Longest request-target accepted (default 8192, as common servers do). */
  maxLength?: number
}

// Character classes for raw bytes < 128.
const OK = 0
const BAD = 1 // invalid in a path
const PCT = 2
const SLASH = 3
const QMARK = 4
const HASH = 5
const SEMI = 6
const BSLASH = 7
const CTRL = 8
const DOT = 9

const RAW = new Uint8Array(128).fill(BAD)
for (let c = 0; c < 32; c++) RAW[c] = CTRL
RAW[127] = CTRL
for (const ch of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~!$&'()*+,=:@") RAW[ch.charCodeAt(0)] = OK
RAW[46] = DOT
RAW[37] = PCT
RAW[47] = SLASH
RAW[63] = QMARK
RAW[35] = HASH
RAW[59] = SEMI
RAW[92] = BSLASH

// What a decoded %XX byte (< 128) means.
const ENC = new Array<PathRejectReason | null>(128).fill(null)
for (let c = 0; c < 32; c++) ENC[c] = 'encoded-control'
ENC[127] = 'encoded-control'
for (const ch of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~') ENC[ch.charCodeAt(0)] = 'encoded-unreserved'
ENC[46] = 'encoded-dot'
ENC[47] = 'encoded-slash'
ENC[92] = 'backslash'
ENC[37] = 'double-encoding'
ENC[59] = 'encoded-semicolon'

const REJECT = new Map<PathRejectReason, CanonicalPath>()
function reject (reason: PathRejectReason): CanonicalPath {
  let r = REJECT.get(reason)
  if (r === undefined) { r = Object.freeze({ ok: false, reason }); REJECT.set(reason, r) }
  return r
}

function hex (c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  const l = c | 0x20
  if (l >= 97 && l <= 102) return l - 87
  return -1
}

/** Check a raw HTTP request-target; accept only canonical origin-form, never normalise. */
export function canonicalisePath (rawTarget: string, opts?: CanonicalPathOptions): CanonicalPath {
  const len = rawTarget.length
  if (len === 0) return reject('empty')
  if (opts !== undefined && opts.maxLength !== undefined && !(opts.maxLength >= 0)) throw new TypeError('maxLength must be a non-negative number')
  if (len > (opts?.maxLength ?? 8192)) return reject('too-long')
  const first = rawTarget.charCodeAt(0)
  if (first !== 47) {
    if (rawTarget === '*') return reject('asterisk-form')
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(rawTarget)) return reject('absolute-form')
    return reject('not-origin-form')
  }

  let segStart = 1 // index after the last '/'
  let onlyDots = true // current segment so far consists of raw '.' only
  let i = 1
  for (; i < len; i++) {
    const c = rawTarget.charCodeAt(i)
    if (c >= 128) return reject('non-ascii')
    switch (RAW[c]) {
      case OK: onlyDots = false; break
      case DOT: break
      case SLASH:
        if (i === segStart) return reject('empty-segment')
        if (onlyDots) return reject('dot-segment')
        segStart = i + 1
        onlyDots = true
        break
      case PCT: {
        const h = i + 2 < len ? hex(rawTarget.charCodeAt(i + 1)) : -1
        const l = h >= 0 ? hex(rawTarget.charCodeAt(i + 2)) : -1
        if (l < 0) return reject('bad-percent-encoding')
        const b = (h << 4) | l
        if (b >= 128) return reject('encoded-non-ascii')
        const why = ENC[b]
        if (why != null) return reject(why)
        onlyDots = false
        i += 2
        break
      }
      case QMARK: break
      case HASH: return reject('fragment')
      case SEMI: return reject('path-parameter')
      case BSLASH: return reject('backslash')
      case CTRL: return reject('control-char')
      default: return reject('invalid-char')
    }
    if (c === 63) break // '?': the path ends here
  }
  // the last segment: '' (trailing slash) is fine, '.', '..', '...' are not
  if (onlyDots && i > segStart) return reject('dot-segment')
  if (i >= len) return { ok: true, path: rawTarget, query: '' }

  // query: raw, not interpreted; only refuse what no server should see in a request line
  for (let j = i + 1; j < len; j++) {
    const c = rawTarget.charCodeAt(j)
    if (c >= 128) return reject('non-ascii')
    if (c < 32 || c === 127) return reject('control-char')
    if (c === 32) return reject('invalid-char')
    if (c === 35) return reject('fragment')
    if (c === 92) return reject('backslash')
  }
  return { ok: true, path: rawTarget.slice(0, i), query: rawTarget.slice(i + 1) }
}
