// The terminal view: one progress line per step while the comparison runs, and a compact
// fixed-width summary at the end. Colours only on a TTY (and never with NO_COLOR).
import type { AttackResult, OverheadRow, Report, WorkflowResult } from './model.ts'
import { oneLine, stopped } from './model.ts'

export interface Style { readonly color: boolean }

/** Colour is for people: only when stdout is a terminal and NO_COLOR is unset. */
export function defaultStyle (stream: { isTTY?: boolean } = process.stdout): Style {
  return { color: stream.isTTY === true && (process.env.NO_COLOR ?? '') === '' }
}

const SGR = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const
function paint (s: Style, c: keyof typeof SGR, text: string): string { return s.color ? `\x1b[${SGR[c]}m${text}\x1b[0m` : text }

/** One line with control characters blanked (escape sequences in evidence must not drive the terminal). */
export function clean (text: string, max = 120): string { return oneLine(text, max) }

/** Pad to a width counted in code points (the marks used here are all single-width). */
function pad (text: string, width: number, right = false): string {
  const n = [...text].length
  if (n >= width) return text
  return right ? ' '.repeat(width - n) + text : text + ' '.repeat(width - n)
}

/** Write one progress line (stderr by default, so stdout stays the summary). */
export function progress (line: string, stream: NodeJS.WritableStream = process.stderr): void {
  stream.write(clean(line, 400) + '\n')
}

export function attackLine (deployment: string, id: string, r: AttackResult, s: Style = defaultStyle(process.stderr)): string {
  const mark = r.error !== undefined ? paint(s, 'yellow', '? error  ') : r.harm ? paint(s, 'red', '✗ HARM   ') : paint(s, 'green', '✓ stopped')
  return `  ${deployment}: ${mark} ${id} (${Math.round(r.ms)} ms) ${paint(s, 'dim', clean(r.error ?? r.evidence, 100))}`
}

function table (head: string[], rows: string[][], rightFrom = 99): string {
  const widths = head.map((h, i) => Math.max([...h].length, ...rows.map(r => [...(r[i] ?? '')].length)))
  const line = (cells: string[]): string => '  ' + cells.map((c, i) => pad(c, widths[i] ?? 0, i >= rightFrom)).join('  ').trimEnd()
  return [line(head), line(widths.map(w => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

const f = (x: number, digits = 2): string => x.toFixed(digits)

/** Fixed-width overhead table (also used by `hedge bench`). */
export function formatOverheadTable (rows: readonly OverheadRow[]): string {
  if (rows.length === 0) return '  (no overhead measured)'
  return table(
    ['deployment', 'target', 'conc', 'p50 ms direct', 'via', 'p99 ms direct', 'via', '/s direct', 'via', 'ratio p50', 'p99', 'throughput'],
    rows.map(r => [r.deployment, r.target, String(r.concurrency),
      f(r.direct.p50Ms, 3), f(r.via.p50Ms, 3), f(r.direct.p99Ms, 3), f(r.via.p99Ms, 3),
      f(r.direct.perSecond, 0), f(r.via.perSecond, 0), f(r.ratio.p50), f(r.ratio.p99), f(r.ratio.throughput) + (r.via.errors + r.direct.errors > 0 ? ' !' : '')]),
    2)
}

/** The end-of-run summary: attacks × deployments, workflows, overhead, ablation, verdict. Plain text. */
export function renderSummary (report: Report, s: Style = defaultStyle()): string {
  const names = report.deployments.map(d => d.name)
  const out: string[] = []
  out.push(paint(s, 'bold', `hedge compare — ${report.verdict.ok ? 'OK' : 'PROBLEMS'}`) +
    `  (${report.generatedAt}, ${report.machine.cpus} CPUs, load ${report.machine.loadavg.map(x => x.toFixed(2)).join(' ')})`)
  const mark = (r: AttackResult | undefined): string => r === undefined ? '-' : r.error !== undefined ? '?' : r.harm ? 'HARM' : 'ok'
  if (report.attacks.length > 0) {
    out.push('', `attacks (ok = stopped, HARM = got through, ? = inconclusive, - = not run)`)
    const rows = report.attacks.map(a => [a.id, ...names.map(n => mark(a.results[n]))])
    let t = table(['attack', ...names], rows)
    if (s.color) t = t.replace(/ HARM\b/g, ' ' + paint(s, 'red', 'HARM'))
    out.push(t)
    const counts = names.map(n => `${n} ${report.attacks.filter(a => stopped(a.results[n])).length}/${report.attacks.filter(a => a.results[n] !== undefined).length}`)
    out.push(`  stopped: ${counts.join(', ')}`)
  }
  if (report.workflows.length > 0) {
    out.push('', 'workflows (pass, FAIL = broken although allowed, n/a = the policy does not allow it, - = not run)')
    const cell = (r: WorkflowResult | undefined): string => r === undefined ? '-' : !r.allowed ? 'n/a' : r.ok ? 'pass' : 'FAIL'
    const ran = names.filter(n => report.workflows.some(w => w.results[n] !== undefined))
    out.push(table(['workflow', ...ran], report.workflows.map(w => [w.id, ...ran.map(n => cell(w.results[n]))])))
  }
  if (report.overhead.length > 0) {
    out.push('', 'overhead (ratio = fraction of direct, 1.00 = as fast as direct)')
    out.push(formatOverheadTable(report.overhead))
  }
  if (report.ablation.length > 0) {
    out.push('', 'ablation (single layer on, all others off)')
    out.push(table(['attack', 'stopped alone by', 'redundant'], report.ablation.map(a => [
      a.attack, a.stoppedByLayers.length === 0 ? '(none alone)' : a.stoppedByLayers.join(', '), a.redundant ? 'yes' : '',
    ])))
  }
  out.push('', report.verdict.ok ? paint(s, 'green', 'verdict: OK') : paint(s, 'red', `verdict: ${report.verdict.problems.length} problem(s)`))
  for (const p of report.verdict.problems) out.push(`  - ${clean(p, 200)}`)
  return out.join('\n') + '\n'
}
