// report.md: the same facts as the HTML, for a pull request or a terminal pager. Every
// string that came from a run (evidence, reasons, problems) is untrusted: it is flattened
// to one line, HTML-escaped (Markdown renderers pass raw HTML through) and pipe-escaped.
import { LAYERS } from '../../policy/schema.ts'
import type { AttackResult, DeploymentInfo, Report, WorkflowResult } from './model.ts'
import { oneLine, stopped } from './model.ts'

/** Safe inside a Markdown table cell or list item: one line, no HTML, no table breaks, no emphasis/link tricks. */
export function mdText (s: string, max = 300): string {
  return oneLine(s, max)
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|#])/g, '\\$1')
}

/** An identifier as inline code (code spans show HTML and backslashes literally, so only backticks and pipes matter). */
export function code (s: string): string {
  return `\`${oneLine(s, 120).replace(/`/g, "'").replace(/\|/g, '\\|')}\``
}

const MODE_MARK = { enforce: 'on', 'report-only': 'report', off: '–' } as const

export function attackMark (r: AttackResult | undefined): string {
  if (r === undefined) return '·'
  if (r.error !== undefined) return '⚠️ error'
  return r.harm ? '❌ harm' : '✅ stopped'
}

export function workflowMark (r: WorkflowResult | undefined): string {
  if (r === undefined) return '·'
  if (!r.allowed) return 'n/a'
  return r.ok ? 'pass' : `**fail** (${mdText(r.reason ?? 'no reason given', 120)})`
}

function row (cells: string[]): string { return `| ${cells.join(' | ')} |` }
function head (cells: string[], align?: string[]): string[] { return [row(cells), row(cells.map((_c, i) => align?.[i] ?? '---'))] }
const fx = (x: number, d = 2): string => x.toFixed(d)

function deploymentsSection (deps: readonly DeploymentInfo[]): string[] {
  return [
    '## Deployments', '',
    ...head(['deployment', 'policy', 'topology', 'hardened', ...LAYERS]),
    ...deps.map(d => row([code(d.name), mdText(d.policy), d.topology, d.hardened ? 'yes' : '', ...LAYERS.map(l => MODE_MARK[d.layers[l]])])),
    '', 'Layers: on = enforce, report = report-only (decides and logs, forwards anyway), – = off.',
  ]
}

function attacksSection (r: Report): string[] {
  if (r.attacks.length === 0) return []
  const names = r.deployments.map(d => d.name)
  const out = [
    '## Attacks', '',
    '✅ stopped (the oracle saw no harm) · ❌ harm (it got through) · ⚠️ error (inconclusive) · · not run', '',
    ...head(['attack', 'category', 'attacker', 'expected stop', ...names.map(n => code(n))]),
    ...r.attacks.map(a => row([code(a.id), a.category, a.attacker, a.stoppedBy.join(', ') || '–', ...names.map(n => attackMark(a.results[n]))])),
    row(['**stopped**', '', '', '', ...names.map(n => `**${r.attacks.filter(a => stopped(a.results[n])).length}/${r.attacks.filter(a => a.results[n] !== undefined).length}**`)]),
  ]
  out.push('', '<details><summary>Evidence</summary>', '')
  for (const a of r.attacks) {
    out.push(`- ${code(a.id)} — ${mdText(a.description, 200)}`)
    for (const n of names) {
      const res = a.results[n]
      if (res === undefined) continue
      out.push(`  - ${code(n)} ${attackMark(res)} (${Math.round(res.ms)} ms): ${mdText(res.error ?? res.evidence)}`)
    }
  }
  out.push('', '</details>')
  return out
}

function workflowsSection (r: Report): string[] {
  if (r.workflows.length === 0) return []
  const names = r.deployments.map(d => d.name).filter(n => r.workflows.some(w => w.results[n] !== undefined))
  return [
    '## Workflows', '',
    'pass · **fail** (reason): broken although the policy allows it · n/a: the policy does not mean to allow it · · not run', '',
    ...head(['workflow', 'client', ...names.map(n => code(n))]),
    ...r.workflows.map(w => row([`${code(w.id)} ${mdText(w.description, 120)}`, w.client, ...names.map(n => workflowMark(w.results[n]))])),
  ]
}

function overheadSection (r: Report): string[] {
  if (r.overhead.length === 0) return []
  const out = [
    '## Overhead', '',
    'Ratios are fractions of direct performance (1.00 = as fast as talking to the upstream directly; higher is better), medians of interleaved rounds. ' +
    '`kernel-http`: GET /health; `cdp-roundtrip`: Browser.getVersion over a DevTools WebSocket. Absolute numbers depend on a shared machine; the ratios are what travel.', '',
    ...head(
      ['deployment', 'target', 'in flight', 'p50 ms (direct → via)', 'p99 ms (direct → via)', 'per s (direct → via)', 'ratio p50', 'ratio p99', 'ratio throughput'],
      ['---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
    ),
    ...r.overhead.map(o => row([code(o.deployment), o.target, String(o.concurrency),
      `${fx(o.direct.p50Ms, 3)} → ${fx(o.via.p50Ms, 3)}`, `${fx(o.direct.p99Ms, 3)} → ${fx(o.via.p99Ms, 3)}`, `${fx(o.direct.perSecond, 0)} → ${fx(o.via.perSecond, 0)}`,
      fx(o.ratio.p50), fx(o.ratio.p99), `**${fx(o.ratio.throughput)}**`])),
  ]
  const notes = r.overhead.filter(o => o.note !== undefined)
  if (notes.length > 0) out.push('', ...notes.map(o => `- ${code(o.deployment)} ${o.target} ×${o.concurrency}: ${mdText(o.note ?? '')}`))
  return out
}

function ablationSection (r: Report): string[] {
  if (r.ablation.length === 0) return []
  const expected = new Map(r.attacks.map(a => [a.id, a.stoppedBy]))
  const out = [
    '## Ablation', '',
    'Each `only-<layer>` deployment runs one layer alone. Which layer stops which attack on its own, and which attacks several layers stop (redundant: defence in depth).', '',
    ...head(['attack', 'expected', 'stopped alone by', 'redundant']),
    ...r.ablation.map(a => row([code(a.attack), (expected.get(a.attack) ?? []).join(', ') || '–', a.stoppedByLayers.join(', ') || '**none alone**', a.redundant ? 'yes' : ''])),
  ]
  const alone = r.ablation.filter(a => a.stoppedByLayers.length === 0).map(a => code(a.attack))
  const single = r.ablation.filter(a => a.stoppedByLayers.length === 1).map(a => `${code(a.attack)} (${a.stoppedByLayers[0] ?? ''})`)
  const layersUsed = new Set(r.ablation.flatMap(a => a.stoppedByLayers))
  const tested = LAYERS.filter(l => r.deployments.some(d => d.name === `only-${l}`))
  const idle = tested.filter(l => !layersUsed.has(l))
  out.push('')
  out.push(`- Redundant (stopped by two or more layers alone): ${r.ablation.filter(a => a.redundant).length} of ${r.ablation.length}.`)
  if (single.length > 0) out.push(`- One layer only: ${single.join(', ')}.`)
  if (alone.length > 0) out.push(`- No single layer stops: ${alone.join(', ')} (a combination does, or nothing does).`)
  if (idle.length > 0) out.push(`- Layers that stop nothing alone in this catalogue: ${idle.join(', ')}.`)
  return out
}

export function renderMarkdown (report: Report): string {
  const m = report.machine
  const out: string[] = [
    `# hedge compare — ${report.verdict.ok ? '✅ OK' : `❌ ${report.verdict.problems.length} problem(s)`}`, '',
    `Generated ${mdText(report.generatedAt)} · node ${mdText(m.node)} · ${mdText(m.platform)} · ${m.cpus} CPUs · load ${m.loadavg.map(x => x.toFixed(2)).join(' ')} · schema \`${report.schema}\``,
    '', ...deploymentsSection(report.deployments),
  ]
  for (const sec of [attacksSection(report), workflowsSection(report), overheadSection(report), ablationSection(report)]) if (sec.length > 0) out.push('', ...sec)
  out.push('', '## Verdict', '')
  if (report.verdict.ok) out.push('OK: no hardened deployment let an attack through, and every workflow its policy allows passed.')
  else out.push(...report.verdict.problems.map(p => `- ${mdText(p, 400)}`))
  return out.join('\n') + '\n'
}
