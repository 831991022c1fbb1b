// The audit trail's hash chain, as pure functions over text lines (docs/audit.md).
// Every line is one JSON object: {seq, time, type, ...fields, prev}. `prev` is the link of
// the line before: SHA-256 of its exact text, or HMAC-SHA-256 with a key from the
// environment (then a writer without the key cannot re-chain a forged file). The first line
// of a chain is a `genesis` with a random nonce; a file that continues a rotated one starts
// with a genesis whose `prev` is the link of the previous file's last line (its seal).
import { createHash, createHmac } from 'node:crypto'

export type ChainAlg = 'sha256' | 'hmac-sha256'

export interface AuditRecord {
  readonly seq: number
  readonly time: string
  readonly type: string
  readonly prev: string | null
  readonly [field: string]: unknown
}

/** The link of one line: what the next line's `prev` must be. */
export function link (line: string, key?: Buffer): string {
  return key === undefined
    ? createHash('sha256').update(line).digest('hex')
    : createHmac('sha256', key).update(line).digest('hex')
}

/** In a keyed chain the genesis proves the writer held the key (a forged lone genesis fails). */
export function genesisKeyCheck (nonce: string, key: Buffer): string {
  return createHmac('sha256', key).update(`hedge-audit-genesis:${nonce}`).digest('hex')
}

// Field names whose values are secrets wherever they appear; a JWT-shaped string is one too.
const SECRET_NAMES = /^(authorization|proxy-authorization|cookie|set-cookie|token|access_token|id_token|ticket|secret|key|hmac|password|signature)$/i
const JWT_SHAPE = /^ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** Deep copy without secrets: audit lines are shipped to other systems. */
export function scrub (v: unknown, depth = 0): unknown {
  if (depth > 8) return '[depth]'
  if (typeof v === 'string') return JWT_SHAPE.test(v) ? '[redacted]' : v
  if (Array.isArray(v)) return v.map(x => scrub(x, depth + 1))
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) out[k] = SECRET_NAMES.test(k) ? '[redacted]' : scrub(x, depth + 1)
    return out
  }
  return v
}

/** One line of text (no newline) for a record: the chain fields are fixed, the rest scrubbed. */
export function formatRecord (seq: number, time: Date, type: string, fields: Record<string, unknown>, prev: string | null): string {
  const { seq: _s, time: _t, type: _y, prev: _p, ...rest } = fields
  return JSON.stringify({ seq, time: time.toISOString(), type, ...(scrub(rest) as Record<string, unknown>), prev })
}

export interface Break { readonly file: string, readonly line: number, readonly reason: string }

export interface VerifyResult {
  readonly ok: boolean
  readonly lines: number
  /** The first line that breaks the chain (1-based line of its file). */
  readonly broken?: Break
  /** The last file ends with a seal record (closed cleanly). */
  readonly sealed: boolean
  /** The first file continues an earlier, absent one (its genesis links to it). */
  readonly continuation: boolean
}

export interface ChainFile { readonly name: string, readonly text: string, readonly expectedSeal?: { seq: number, link: string } }

/**
 * Check a sequence of files (oldest first) as one chain. Any unparsable, reordered,
 * inserted, deleted or modified line breaks it; so does a missing end when the writer left a
 * seal note (`expectedSeal`) saying where the file ended.
 */
export function verifyChain (files: readonly ChainFile[], key?: Buffer): VerifyResult {
  let prevLink: string | null = null
  let expectSeq = -1
  let lines = 0
  let sealed = false
  let continuation = false
  let alg: ChainAlg | undefined
  const fail = (file: string, line: number, reason: string): VerifyResult => ({ ok: false, lines, broken: { file, line, reason }, sealed: false, continuation })
  for (let f = 0; f < files.length; f++) {
    const file = files[f] as ChainFile
    const rows = file.text.split('\n')
    if (rows[rows.length - 1] === '') rows.pop()
    else if (rows.length > 0) return fail(file.name, rows.length, 'last line is incomplete (no newline): truncated')
    if (rows.length === 0) return fail(file.name, 1, 'empty file')
    let lastLink = ''
    let lastSeq = -1
    for (let i = 0; i < rows.length; i++) {
      const text = rows[i] as string
      let rec: AuditRecord
      try { rec = JSON.parse(text) as AuditRecord } catch { return fail(file.name, i + 1, 'not JSON') }
      if (rec === null || typeof rec !== 'object' || Array.isArray(rec) || typeof rec.seq !== 'number' || typeof rec.type !== 'string') {
        return fail(file.name, i + 1, 'not an audit record')
      }
      if (i === 0) {
        if (rec.type !== 'genesis') return fail(file.name, 1, 'a file must start with a genesis record')
        const a = rec.alg
        if (a !== 'sha256' && a !== 'hmac-sha256') return fail(file.name, 1, 'unknown chain algorithm')
        if (alg !== undefined && a !== alg) return fail(file.name, 1, 'chain algorithm changed between files')
        alg = a
        if (a === 'hmac-sha256' && key === undefined) return fail(file.name, 1, 'the chain is keyed: give the key (HEDGE_AUDIT_KEY)')
        if (a === 'hmac-sha256' && rec.keyCheck !== genesisKeyCheck(String(rec.nonce), key as Buffer)) {
          return fail(file.name, 1, 'the genesis was not written with this key')
        }
        if (f === 0) {
          expectSeq = rec.seq
          if (rec.prev !== null) continuation = true
        } else if (rec.prev !== prevLink) return fail(file.name, 1, 'does not continue the previous file')
      } else if (rec.type === 'genesis') return fail(file.name, i + 1, 'a genesis record inside a file')
      if (rec.seq !== expectSeq) return fail(file.name, i + 1, `sequence number ${rec.seq} where ${expectSeq} was due`)
      if (!(i === 0 && f === 0) && rec.prev !== prevLink) return fail(file.name, i + 1, 'does not link to the line before (modified, inserted, deleted or reordered)')
      const k = alg === 'hmac-sha256' ? key : undefined
      prevLink = link(text, k)
      lastLink = prevLink
      lastSeq = rec.seq
      expectSeq++
      lines++
      sealed = rec.type === 'seal'
      if (sealed && i !== rows.length - 1) return fail(file.name, i + 2, 'lines after a seal record')
    }
    if (f < files.length - 1 && !sealed) return fail(file.name, rows.length, 'a rotated file must end with a seal record: truncated')
    if (file.expectedSeal !== undefined && (!sealed || lastSeq !== file.expectedSeal.seq || lastLink !== file.expectedSeal.link)) {
      return fail(file.name, rows.length, `the seal note says the file ends at line seq ${file.expectedSeal.seq}: truncated or altered tail`)
    }
  }
  return { ok: true, lines, sealed, continuation }
}
