// The process's audit trail: a no-op until the gateway opens it (one gateway per process,
// as with the metrics registry). Fronts call `audit.record(type, fields)`; the writer
// chains, rotates and seals (log.ts). Record types and fields: docs/audit.md.
import { openAuditTrail, type AuditOptions, type AuditWriter } from './log.ts'

let writer: AuditWriter | undefined
let lines = 0

// A flood of refusals (one client hammering a denied method) must not become a disk-write
// flood: past BUDGET_PER_SECOND lines in one second, refusals are counted per rule and
// written as one `suppressed` record when the next second begins. Nothing is lost silently.
const BUDGET_PER_SECOND = 500
let windowStart = 0
let inWindow = 0
let suppressed = new Map<string, number>()

function flushSuppressed (): void {
  if (suppressed.size === 0 || writer === undefined) return
  const byRule = Object.fromEntries(suppressed)
  const count = [...suppressed.values()].reduce((a, b) => a + b, 0)
  suppressed = new Map()
  writer.record('suppressed', { count, byRule, reason: `more than ${BUDGET_PER_SECOND} refusals in one second` })
  lines++
}

export const audit = {
  open (o: AuditOptions, onError: (err: Error) => void): AuditWriter {
    writer?.close()
    writer = openAuditTrail(o, onError)
    lines = 1
    return writer
  },
  record (type: string, fields: Record<string, unknown> = {}): void {
    if (writer === undefined) return
    const now = Date.now()
    if (now - windowStart >= 1000) { flushSuppressed(); windowStart = now; inWindow = 0 }
    if (++inWindow > BUDGET_PER_SECOND && (type === 'deny' || type === 'would-deny')) {
      const rule = typeof fields.rule === 'string' ? fields.rule.split(':', 1)[0] as string : 'other'
      if (suppressed.size < 200 || suppressed.has(rule)) suppressed.set(rule, (suppressed.get(rule) ?? 0) + 1)
      else suppressed.set('other', (suppressed.get('other') ?? 0) + 1)
      return
    }
    writer.record(type, fields)
    lines++
  },
  close (): void {
    flushSuppressed()
    writer?.close()
    writer = undefined
  },
  get path (): string | undefined { return writer?.path },
  /** Lines written since the trail was opened (reports). */
  get lines (): number { return lines },
}
