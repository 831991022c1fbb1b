// The audit trail's writer: one JSON line per security-relevant event, appended to a file
// in the gateway's own directory (never the agent's workspace), chained (chain.ts), rotated
// by size with the chain carried into the next file, sealed on close. Writes are synchronous
// so lines keep the order of the events and survive a crash of the process right after.
import {
  closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync,
} from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { formatRecord, genesisKeyCheck, link, type ChainAlg } from './chain.ts'

export interface AuditOptions {
  /** Folder of the trail: `audit.jsonl` is the current file, `audit.N.jsonl` the rotated ones (1 = oldest). */
  readonly dir: string
  /** Rotate when the current file reaches this size. */
  readonly maxBytes?: number
  /** Keep at most this many rotated files (the oldest is removed; the chain still verifies from the next). */
  readonly maxFiles?: number
  /** HMAC key (HEDGE_AUDIT_KEY); without one the links are plain SHA-256. */
  readonly key?: Buffer
  readonly now?: () => Date
}

export interface AuditWriter {
  readonly path: string
  /** Append one event. Never throws: a trail that cannot be written is reported once through onError. */
  record: (type: string, fields?: Record<string, unknown>) => void
  /** Write the seal record and the seal note; further records are dropped. */
  close: () => void
  readonly genesisLink: string
}

export const CURRENT = 'audit.jsonl'
export const SEAL_NOTE = 'audit.jsonl.seal'

export function rotatedName (n: number): string { return `audit.${n}.jsonl` }

/** The rotated files of a trail folder, oldest first, then the current one. */
export function trailFiles (dir: string): string[] {
  const rotated = readdirSync(dir)
    .map(n => /^audit\.(\d{1,9})\.jsonl$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map(m => join(dir, m[0]))
  return existsSync(join(dir, CURRENT)) ? [...rotated, join(dir, CURRENT)] : rotated
}

export function openAuditTrail (o: AuditOptions, onError: (err: Error) => void = () => {}): AuditWriter {
  const maxBytes = o.maxBytes ?? 64 * 1024 * 1024
  const maxFiles = o.maxFiles ?? 20
  const now = o.now ?? (() => new Date())
  const alg: ChainAlg = o.key === undefined ? 'sha256' : 'hmac-sha256'
  mkdirSync(o.dir, { recursive: true, mode: 0o700 })
  const path = join(o.dir, CURRENT)
  // An existing current file is rotated away. After a clean close its seal note lets the new
  // file continue the chain; after a crash there is none, and the new chain starts afresh
  // (verifying the folder then reports the unsealed file: its tail may be lost).
  let nextIndex = 1 + Math.max(0, ...trailFiles(o.dir).map(f => Number(/audit\.(\d+)\.jsonl$/.exec(f)?.[1] ?? 0)))
  let carried: { seq: number, link: string } | undefined
  if (existsSync(path)) {
    try {
      const note = JSON.parse(readFileSync(join(o.dir, SEAL_NOTE), 'utf8')) as { seq?: unknown, link?: unknown }
      if (typeof note.seq === 'number' && typeof note.link === 'string') carried = { seq: note.seq, link: note.link }
    } catch { /* no note: the last run did not close cleanly */ }
    renameSync(path, join(o.dir, rotatedName(nextIndex++)))
  }
  rmSync(join(o.dir, SEAL_NOTE), { force: true })

  let fd = -1
  let bytes = 0
  let seq = carried !== undefined ? carried.seq + 1 : 0
  let prev: string | null = null
  let closed = false
  let failed = false

  const write = (type: string, fields: Record<string, unknown>): void => {
    const line = formatRecord(seq, now(), type, fields, prev) + '\n'
    writeSync(fd, line)
    bytes += Buffer.byteLength(line)
    prev = link(line.slice(0, -1), o.key)
    seq++
  }
  const begin = (prevFileLink: string | null): string => {
    fd = openSync(path, 'a', 0o600)
    bytes = 0
    const nonce = randomBytes(16).toString('hex')
    prev = prevFileLink
    write('genesis', { alg, nonce, ...(o.key !== undefined ? { keyCheck: genesisKeyCheck(nonce, o.key) } : {}) })
    return prev as string
  }
  const seal = (reason: 'close' | 'rotate'): void => {
    write('seal', { reason })
    fsyncSync(fd)
    closeSync(fd)
  }
  const rotate = (): void => {
    seal('rotate')
    renameSync(path, join(o.dir, rotatedName(nextIndex++)))
    const rotated = trailFiles(o.dir).filter(f => !f.endsWith(CURRENT))
    for (const old of rotated.slice(0, Math.max(0, rotated.length - maxFiles))) rmSync(old, { force: true })
    begin(prev)
  }

  const genesisLink = begin(carried?.link ?? null)
  return {
    path,
    genesisLink,
    record (type, fields = {}) {
      if (closed || failed) return
      try {
        write(type, fields)
        if (bytes >= maxBytes) rotate()
      } catch (err) {
        failed = true
        onError(err as Error)
      }
    },
    close () {
      if (closed) return
      closed = true
      if (failed) return
      try {
        seal('close')
        writeFileSync(join(o.dir, SEAL_NOTE), JSON.stringify({ seq: seq - 1, link: prev }) + '\n', { mode: 0o600 })
      } catch (err) { onError(err as Error) }
    },
  }
}

/** Size of a trail folder's files, for reports. */
export function trailBytes (dir: string): number {
  return trailFiles(dir).reduce((n, f) => n + statSync(f).size, 0)
}
