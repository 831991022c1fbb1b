// Strict JSON ("filter evasion", docs/threat-model.md): what a filter decides on must be exactly what the
// receiver would read. JSON.parse is last-wins on duplicate keys and accepts lone surrogates;
// Chromium's dispatcher errors on a duplicated top-level key but is last-wins inside params.
// So a duplicate anywhere, a lone surrogate anywhere, or excessive nesting is refused here, and
// only a re-serialised value is ever forwarded (CDP commands: src/cdp/protocol.ts).
//
// Design: three linear passes instead of a JS parser. Nothing here may cost more than a
// constant per input character: no regular expression runs over the text (a backtracking
// `\d{300}` cost ~0.8 s per MiB of 299-digit runs and froze every front — issue 9, item 7).
//  1. a scanner over the raw text, one character at a time: tracks nesting depth (refused
//     before JSON.parse ever recurses) and counts ':' outside strings. In valid JSON every
//     key is followed by exactly one ':' and no other ':' sits outside a string, so the count
//     is the number of key tokens in the text. It also notes whether any string may hold a
//     surrogate (raw, or a \uD800-\uDFFF escape) and whether any number may overflow a
//     double (an exponent, or 300+ characters), so pass 3 only checks what can be wrong.
//  2. JSON.parse (native, linear) decides syntax and decodes escapes.
//  3. an iterative walk over the result counts own keys. Duplicates collapse in JSON.parse,
//     so fewer keys than key tokens means a duplicate — including keys that only become
//     equal after escape decoding ("method" / "\u006dethod"). The walk also refuses
//     '__proto__' keys and, when pass 1 said so, ill-formed strings and infinite numbers.
// __proto__: REFUSED (reason 'proto-key') rather than building null-prototype objects.
// JSON.parse already stores it as an own property (no pollution at parse time), but any later
// Object.assign / merge of params would set a prototype; no CDP method needs such a key.
// Numbers: whatever JSON.parse accepts, except those that overflow to ±Infinity (1e400):
// JSON.stringify would re-serialise them as null, so the browser would receive a value other
// than the one checked. Refused with reason 'number-range'.

export type StrictJsonReason = 'not-string' | 'syntax' | 'duplicate-key' | 'depth' | 'lone-surrogate' | 'proto-key' | 'number-range'

export class StrictJsonError extends Error {
  readonly reason: StrictJsonReason
  constructor (reason: StrictJsonReason, message: string) {
    super(message)
    this.name = 'StrictJsonError'
    this.reason = reason
  }
}

export interface StrictJsonOptions {
  /** Deepest nesting of objects/arrays accepted; the top-level container is depth 1. Default 32. */
  maxDepth?: number
}

const wellFormed: (s: string) => boolean = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
  ? s => (s as unknown as { isWellFormed (): boolean }).isWellFormed()
  : s => {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c < 0xd800 || c > 0xdfff) continue
      if (c > 0xdbff) return false
      const n = s.charCodeAt(i + 1) // NaN at the end
      if (!(n >= 0xdc00 && n <= 0xdfff)) return false
      i++
    }
    return true
  }

interface ScanResult { readonly keyTokens: number, readonly strings: boolean, readonly numbers: boolean }

/** The first two hex digits of a \uXXXX escape in D800..DFFF: 'd'/'D', then 8-9, a-f or A-F. */
function isSurrogateEscape (h1: number, h2: number): boolean {
  return (h1 | 0x20) === 100 && (h2 === 56 || h2 === 57 || ((h2 | 0x20) >= 97 && (h2 | 0x20) <= 102))
}

/**
 * Pass 1, one step per character: depth, number of key tokens (':' outside strings), and
 * whether pass 3 must check strings (a surrogate may occur) or numbers (one may overflow).
 * Throws on depth / unterminated string; any other syntax error is JSON.parse's to report.
 */
function scan (text: string, maxDepth: number): ScanResult {
  let depth = 0
  let colons = 0
  let strings = false
  let numbers = false
  const len = text.length
  let i = 0
  while (i < len) {
    const c = text.charCodeAt(i)
    if (c === 34) { // '"': walk to the closing quote
      i++
      for (;;) {
        if (i >= len) throw new StrictJsonError('syntax', 'unterminated string')
        const d = text.charCodeAt(i)
        if (d === 34) break
        if (d === 92) { // backslash: the escaped character is never a closing quote
          if (text.charCodeAt(i + 1) === 117 && isSurrogateEscape(text.charCodeAt(i + 2), text.charCodeAt(i + 3))) strings = true
          i += 2
          continue
        }
        if (d >= 0xd800 && d <= 0xdfff) strings = true
        i++
      }
      i++ // past the closing quote
    } else if (c === 58) {
      colons++
      i++
    } else if (c === 123 || c === 91) {
      if (++depth > maxDepth) throw new StrictJsonError('depth', `nesting deeper than ${maxDepth}`)
      i++
    } else if (c === 125 || c === 93) {
      depth--
      i++
    } else if (c === 45 || (c >= 48 && c <= 57)) { // a number token: [-0-9.eE+]*
      const start = i
      let exp = false
      for (i++; i < len; i++) {
        const d = text.charCodeAt(i)
        if (d === 101 || d === 69) exp = true
        else if (!((d >= 48 && d <= 57) || d === 46 || d === 43 || d === 45)) break
      }
      // Without an exponent a double overflows only from 309 integer digits on.
      if (exp || i - start >= 300) numbers = true
    } else {
      i++
    }
  }
  return { keyTokens: colons, strings, numbers }
}

/**
 * Pass 3: own keys in the tree, with an explicit stack (no recursion); refuses __proto__ and,
 * if asked, ill-formed strings and numbers that overflowed to ±Infinity.
 */
function walk (root: unknown, strings: boolean, numbers: boolean): number {
  const leaf = (v: unknown): void => {
    if (strings && typeof v === 'string' && !wellFormed(v)) throw new StrictJsonError('lone-surrogate', 'lone surrogate in string')
    if (numbers && typeof v === 'number' && !Number.isFinite(v)) throw new StrictJsonError('number-range', 'number out of range')
  }
  const checkLeaves = strings || numbers
  let n = 0
  const stack: object[] = []
  if (typeof root === 'object' && root !== null) stack.push(root)
  else if (checkLeaves) leaf(root)
  while (stack.length > 0) {
    const v = stack.pop() as object
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const e: unknown = v[i]
        if (typeof e === 'object') { if (e !== null) stack.push(e) } else if (checkLeaves) leaf(e)
      }
      continue
    }
    const o = v as Record<string, unknown>
    for (const k in o) {
      n++
      if (k === '__proto__') throw new StrictJsonError('proto-key', '__proto__ key')
      if (strings && !wellFormed(k)) throw new StrictJsonError('lone-surrogate', 'lone surrogate in key')
      const e = o[k]
      if (typeof e === 'object') { if (e !== null) stack.push(e) } else if (checkLeaves) leaf(e)
    }
  }
  return n
}

/** Parse JSON strictly: no duplicate keys (after unescaping), no lone surrogates, no __proto__, bounded depth. */
export function parseStrictJson (text: string, opts?: StrictJsonOptions): unknown {
  if (typeof text !== 'string') throw new StrictJsonError('not-string', 'input is not a string')
  const maxDepth = opts?.maxDepth ?? 32
  if (!Number.isInteger(maxDepth) || maxDepth < 0) throw new TypeError('maxDepth must be a non-negative integer') // NaN would disable the limit
  const { keyTokens, strings, numbers } = scan(text, maxDepth)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new StrictJsonError('syntax', (err as Error).message)
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw new StrictJsonError('number-range', 'number out of range')
  if (keyTokens === 0 && !strings && !numbers) return value
  if (walk(value, strings, numbers) !== keyTokens) throw new StrictJsonError('duplicate-key', 'duplicate key in object')
  return value
}
