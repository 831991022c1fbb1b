// report.html: ONE self-contained file — inline CSS, inline SVG drawn here, no script, no
// font, image or stylesheet from anywhere (a Content-Security-Policy says so too, so even a
// mistake in escaping could not load or run anything). Every string from the report goes
// through esc(): evidence is attacker-influenced text.
import { LAYERS, type LayerName } from '../../policy/schema.ts'
import type { AttackResult, OverheadRow, Report, WorkflowResult } from './model.ts'
import { oneLine, stopped } from './model.ts'

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
/** Escape for HTML text and (quoted) attribute values. */
export function esc (s: unknown): string {
  return String(s).replace(/[&<>"']/g, c => ESC[c] ?? c).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\ufffd')
}

const CSS = `
:root{--ok:#1a7f37;--ok-bg:#dafbe1;--bad:#cf222e;--bad-bg:#ffebe9;--warn:#9a6700;--warn-bg:#fff8c5;--mute:#57606a;--line:#d0d7de;--bg:#f6f8fa;--ink:#1f2328;--via:#0969da;--direct:#8c959f}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#fff}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
.meta,.hint{color:var(--mute);font-size:12.5px}.hint{margin:4px 0 10px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-size:14px;font-weight:600;vertical-align:middle;margin-left:8px}
.badge.ok{background:var(--ok-bg);color:var(--ok)}.badge.bad{background:var(--bad-bg);color:var(--bad)}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:170px;background:var(--bg)}
.card b{display:block;font-size:15px}.card .n{font-size:20px;font-weight:600}.card .n.ok{color:var(--ok)}.card .n.bad{color:var(--bad)}
table{border-collapse:collapse;margin:6px 0;font-size:13px}th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.c{text-align:center;white-space:nowrap;font-weight:600}td.ok{background:var(--ok-bg);color:var(--ok)}td.bad{background:var(--bad-bg);color:var(--bad)}
td.warn{background:var(--warn-bg);color:var(--warn)}td.num,td.nw{white-space:nowrap}` +
`.why{display:block;white-space:normal;font-weight:400;font-size:12px;max-width:260px;margin:2px auto 0;overflow-wrap:anywhere}` +
`td.na{color:var(--mute);background:#fafbfc;font-weight:400}td.exp{box-shadow:inset 0 0 0 2px #8c959f}
.mode-enforce{color:var(--ok);font-weight:600}.mode-report-only{color:var(--warn)}.mode-off{color:#afb8c1}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--bg);padding:1px 4px;border-radius:4px}
details{margin:8px 0}summary{cursor:pointer;color:var(--via)}ul.ev{margin:6px 0;padding-left:20px}ul.ev li{margin:2px 0}ul.ev ul{padding-left:18px}
.ev .t{color:var(--mute)}.charts{display:flex;flex-wrap:wrap;gap:18px}svg{font:11px system-ui,-apple-system,"Segoe UI",Arial,sans-serif;background:#fff;border:1px solid var(--line);border-radius:6px}
.problems li{color:var(--bad)}
`

const fx = (x: number, d = 2): string => Number.isFinite(x) ? x.toFixed(d) : '–'

function attackCell (r: AttackResult | undefined): string {
  if (r === undefined) return '<td class="c na">·</td>'
  const title = esc(oneLine(r.error ?? r.evidence, 500))
  if (r.error !== undefined) return `<td class="c warn" title="${title}">⚠ error</td>`
  return r.harm ? `<td class="c bad" title="${title}">✗ harm</td>` : `<td class="c ok" title="${title}">✓ stopped</td>`
}

function workflowCell (r: WorkflowResult | undefined): string {
  if (r === undefined) return '<td class="c na">·</td>'
  if (!r.allowed) return `<td class="c na" title="${esc(oneLine(r.reason ?? 'not allowed by this policy', 300))}">n/a</td>`
  if (r.ok) return '<td class="c ok">pass</td>'
  return `<td class="c bad" title="${esc(oneLine(r.reason ?? '', 500))}">fail<span class="why">${esc(oneLine(r.reason ?? 'no reason given', 120))}</span></td>`
}

function cards (r: Report): string {
  const out = r.deployments.map(d => {
    const ran = r.attacks.filter(a => a.results[d.name] !== undefined)
    const st = ran.filter(a => stopped(a.results[d.name])).length
    const harm = ran.filter(a => a.results[d.name]?.harm === true).length
    const wf = r.workflows.map(w => w.results[d.name]).filter((x): x is WorkflowResult => x !== undefined && x.allowed)
    const seq = r.overhead.find(o => o.deployment === d.name && o.target === 'cdp-roundtrip' && o.concurrency === 1)
    return `<div class="card"><b>${esc(d.name)}</b><span class="meta">${esc(d.topology)}${d.hardened ? ' · hardened' : ''}</span>` +
      (ran.length > 0 ? `<div><span class="n ${harm > 0 ? 'bad' : 'ok'}">${st}/${ran.length}</span> attacks stopped</div>` : '') +
      (wf.length > 0 ? `<div>${wf.filter(x => x.ok).length}/${wf.length} allowed workflows pass</div>` : '') +
      (seq !== undefined ? `<div>CDP sequential: ${fx(seq.ratio.throughput)} of direct</div>` : '') + '</div>'
  })
  return `<div class="cards">${out.join('')}</div>`
}

function deploymentsTable (r: Report): string {
  return `<table><tr><th>deployment</th><th>policy</th><th>topology</th><th>hardened</th>${LAYERS.map(l => `<th>${l}</th>`).join('')}</tr>` +
    r.deployments.map(d => `<tr><td><code>${esc(d.name)}</code></td><td>${esc(d.policy)}</td><td>${esc(d.topology)}</td><td>${d.hardened ? 'yes' : ''}</td>` +
      LAYERS.map(l => `<td class="mode-${d.layers[l]}">${d.layers[l] === 'enforce' ? 'on' : d.layers[l] === 'report-only' ? 'report' : 'off'}</td>`).join('') + '</tr>').join('') + '</table>'
}

function attacksSection (r: Report): string {
  if (r.attacks.length === 0) return ''
  const names = r.deployments.map(d => d.name)
  const rows = r.attacks.map(a => `<tr><td><code>${esc(a.id)}</code><br><span class="meta">${esc(a.category)} · ${esc(a.attacker)}</span></td>` +
    `<td class="meta">${esc(a.stoppedBy.join(', ') || '–')}</td>${names.map(n => attackCell(a.results[n])).join('')}</tr>`)
  const total = `<tr><th colspan="2">stopped</th>${names.map(n =>
    `<th class="num">${r.attacks.filter(a => stopped(a.results[n])).length}/${r.attacks.filter(a => a.results[n] !== undefined).length}</th>`).join('')}</tr>`
  const ev = r.attacks.map(a => `<li><code>${esc(a.id)}</code> — ${esc(oneLine(a.description, 240))}<ul>${names.filter(n => a.results[n] !== undefined).map(n => {
    const x = a.results[n] as AttackResult
    return `<li><b>${esc(n)}</b> ${x.error !== undefined ? '⚠ error' : x.harm ? '✗ harm' : '✓ stopped'} ` +
      `<span class="t">(${Math.round(x.ms)} ms)</span>: ${esc(oneLine(x.error ?? x.evidence, 600))}</li>`
  }).join('')}</ul></li>`)
  return '<h2>Attacks</h2><p class="hint">Harm is judged by an oracle looking behind the gateway (state reset, code run, key or file read), not by status codes. Hover a cell for its evidence.</p>' +
    `<table><tr><th>attack</th><th>expected stop</th>${names.map(n => `<th>${esc(n)}</th>`).join('')}</tr>${rows.join('')}${total}</table>` +
    `<details><summary>Evidence for every cell</summary><ul class="ev">${ev.join('')}</ul></details>`
}

function workflowsSection (r: Report): string {
  if (r.workflows.length === 0) return ''
  const names = r.deployments.map(d => d.name).filter(n => r.workflows.some(w => w.results[n] !== undefined))
  return '<h2>Workflows</h2><p class="hint">pass · fail (broken although the policy allows it) · n/a (the policy does not mean to allow it)</p>' +
    `<table><tr><th>workflow</th><th>client</th>${names.map(n => `<th>${esc(n)}</th>`).join('')}</tr>` +
    r.workflows.map(w => `<tr><td><code>${esc(w.id)}</code><br><span class="meta">${esc(oneLine(w.description, 160))}</span></td>` +
      `<td>${esc(w.client)}</td>${names.map(n => workflowCell(w.results[n])).join('')}</tr>`).join('') + '</table>'
}

// ---------------------------------------------------------------------------
// Charts (inline SVG, no xmlns needed inside HTML)

const RATIO_COLORS = { p50: '#0969da', p99: '#8250df', throughput: '#1a7f37' } as const

/** Axis ticks 0..max with a 1/2/2.5/5 × 10^k step, about `n` of them. */
export function ticks (max: number, n = 5): number[] {
  const raw = Math.max(max, 1e-6) / n
  const k = 10 ** Math.floor(Math.log10(raw))
  const step = ([1, 2, 2.5, 5, 10].find(m => m * k >= raw) ?? 10) * k
  const count = Math.ceil(max / step - 1e-9)
  return Array.from({ length: Math.max(1, count) + 1 }, (_v, i) => Math.round(i * step * 1e6) / 1e6)
}
const tickLabel = (v: number, step: number): string =>
  fx(v, step >= 1 ? 0 : step >= 0.1 ? (Math.round(step * 10) === step * 10 ? 1 : 2) : 3)

function ratioChart (target: string, rows: readonly OverheadRow[]): string {
  const left = 130; const width = 540; const barH = 9; const gap = 3; const groupGap = 14; const top = 48
  const plotW = width - left - 60
  const ts = ticks(Math.max(1.2, ...rows.flatMap(o => [o.ratio.p50, o.ratio.p99, o.ratio.throughput])))
  const xMax = ts[ts.length - 1] ?? 1
  const x = (v: number): number => left + (Math.min(v, xMax) / xMax) * plotW
  const groupH = 3 * barH + 2 * gap
  const height = top + rows.length * (groupH + groupGap) + 26
  const parts: string[] = [`<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(`${target}: ratios to direct`)}">`,
    `<text x="10" y="18" font-size="13" font-weight="600">${esc(target)} — fraction of direct (higher is better)</text>`]
  for (const t of ts) {
    parts.push(`<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${height - 22}" stroke="#eaeef2"/>` +
      `<text x="${x(t)}" y="${height - 8}" text-anchor="middle" fill="#57606a">${fx(t, 2)}</text>`)
  }
  parts.push(`<line x1="${x(1)}" y1="${top - 10}" x2="${x(1)}" y2="${height - 22}" stroke="#1f2328" stroke-dasharray="4 3"/><text x="${x(1) + 4}" y="${top - 12}" fill="#1f2328">direct = 1</text>`)
  if (target === 'cdp-roundtrip') {
    parts.push(`<line x1="${x(0.85)}" y1="${top - 10}" x2="${x(0.85)}" y2="${height - 22}" stroke="#bf8700" stroke-dasharray="2 2"/>` +
      `<text x="${x(0.85) - 4}" y="${top - 12}" text-anchor="end" fill="#9a6700">target ×1: 0.85</text>`)
  }
  rows.forEach((o, i) => {
    const y0 = top + i * (groupH + groupGap)
    parts.push(`<text x="${left - 8}" y="${y0 + groupH / 2 + 4}" text-anchor="end">${esc(o.deployment)} ×${o.concurrency}</text>`)
    ;(['p50', 'p99', 'throughput'] as const).forEach((k, j) => {
      const y = y0 + j * (barH + gap)
      const v = o.ratio[k]
      parts.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x(v) - left).toFixed(1)}" height="${barH}" fill="${RATIO_COLORS[k]}" rx="1.5">` +
        `<title>${esc(`${o.deployment} ×${o.concurrency} ${k}: ${fx(v)}`)}</title></rect>` +
        `<text x="${(x(v) + 4).toFixed(1)}" y="${y + barH - 1}" fill="#57606a" font-size="10">${fx(v)}</text>`)
    })
  })
  parts.push('</svg>')
  return parts.join('')
}

function latencyChart (target: string, concurrency: number, rows: readonly OverheadRow[]): string {
  const left = 130; const width = 540; const barH = 10; const top = 34; const groupH = 2 * barH + 4; const groupGap = 12
  const plotW = width - left - 80
  const ts = ticks(Math.max(0.001, ...rows.flatMap(o => [o.direct.p99Ms, o.via.p99Ms])), 4)
  const xMax = ts[ts.length - 1] ?? 1
  const step = ts[1] ?? xMax
  const x = (v: number): number => left + (Math.min(v, xMax) / xMax) * plotW
  const height = top + rows.length * (groupH + groupGap) + 26
  const parts = [`<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(`${target} latency, ${concurrency} in flight`)}">`,
    `<text x="10" y="18" font-size="13" font-weight="600">${esc(target)} ×${concurrency}: latency, ms (p50 / p99)</text>`,
    `<rect x="${width - 110}" y="9" width="10" height="8" fill="#8c959f"/><text x="${width - 96}" y="17">direct</text>` +
    `<rect x="${width - 52}" y="9" width="10" height="8" fill="#0969da"/><text x="${width - 38}" y="17">via</text>`]
  for (const t of ts) {
    parts.push(`<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${height - 22}" stroke="#eaeef2"/>` +
      `<text x="${x(t)}" y="${height - 8}" text-anchor="middle" fill="#57606a">${tickLabel(t, step)}</text>`)
  }
  rows.forEach((o, i) => {
    const y0 = top + i * (groupH + groupGap)
    parts.push(`<text x="${left - 8}" y="${y0 + groupH / 2 + 4}" text-anchor="end">${esc(o.deployment)}</text>`)
    ;([['direct', o.direct, 'var(--direct)'], ['via', o.via, 'var(--via)']] as const).forEach(([side, s], j) => {
      const y = y0 + j * (barH + 4)
      // bar = p50, whisker = p99
      parts.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x(s.p50Ms) - left).toFixed(1)}" height="${barH}" ` +
        `fill="${s === o.direct ? '#8c959f' : '#0969da'}" rx="1.5"><title>${esc(`${o.deployment} ${side}: p50 ${fx(s.p50Ms, 3)} ms, p99 ${fx(s.p99Ms, 3)} ms`)}</title></rect>`)
      parts.push(`<line x1="${x(s.p50Ms).toFixed(1)}" y1="${y + barH / 2}" x2="${x(s.p99Ms).toFixed(1)}" y2="${y + barH / 2}" stroke="#57606a"/>` +
        `<line x1="${x(s.p99Ms).toFixed(1)}" y1="${y + 1}" x2="${x(s.p99Ms).toFixed(1)}" y2="${y + barH - 1}" stroke="#57606a"/>`)
      parts.push(`<text x="${(x(s.p99Ms) + 4).toFixed(1)}" y="${y + barH - 1}" fill="#57606a" font-size="10">${fx(s.p50Ms, s.p50Ms < 10 ? 2 : 1)} / ${fx(s.p99Ms, s.p99Ms < 10 ? 2 : 1)}</text>`)
    })
  })
  parts.push('</svg>')
  return parts.join('')
}

function overheadSection (r: Report): string {
  if (r.overhead.length === 0) return ''
  const targets = [...new Set(r.overhead.map(o => o.target))]
  const ratioCharts = targets.map(t => ratioChart(t, r.overhead.filter(o => o.target === t)))
  const latency = targets.flatMap(t => [...new Set(r.overhead.filter(o => o.target === t).map(o => o.concurrency))]
    .map(c => latencyChart(t, c, r.overhead.filter(o => o.target === t && o.concurrency === c))))
  const legend = (Object.entries(RATIO_COLORS) as Array<[string, string]>).map(([k, c]) =>
    `<span style="display:inline-block;width:10px;height:10px;background:${c};margin:0 4px 0 12px;border-radius:2px"></span>` +
    `${k === 'throughput' ? 'throughput' : `${k} latency`}`).join('')
  const table = '<table><tr><th>deployment</th><th>target</th><th class="num">in flight</th>' +
    '<th class="num">p50 ms direct → via</th><th class="num">p99 ms direct → via</th><th class="num">per s direct → via</th>' +
    '<th class="num">ratio p50</th><th class="num">ratio p99</th><th class="num">ratio throughput</th><th>note</th></tr>' +
    r.overhead.map(o => `<tr><td><code>${esc(o.deployment)}</code></td><td class="nw">${esc(o.target)}</td><td class="num">${o.concurrency}</td>` +
      `<td class="num">${fx(o.direct.p50Ms, 3)} → ${fx(o.via.p50Ms, 3)}</td><td class="num">${fx(o.direct.p99Ms, 3)} → ${fx(o.via.p99Ms, 3)}</td>` +
      `<td class="num">${fx(o.direct.perSecond, 0)} → ${fx(o.via.perSecond, 0)}</td>` +
      `<td class="num">${fx(o.ratio.p50)}</td><td class="num">${fx(o.ratio.p99)}</td><td class="num"><b>${fx(o.ratio.throughput)}</b></td>` +
      `<td class="meta">${esc(oneLine(o.note ?? '', 200))}</td></tr>`).join('') + '</table>'
  return '<h2>Overhead</h2><p class="hint">Each ratio is a fraction of direct performance: 1.00 = as fast as talking to the upstream directly. ' +
    'Medians of interleaved rounds on a shared machine: the ratios travel, the absolute numbers do not. ' +
    '<code>kernel-http</code>: GET /health; <code>cdp-roundtrip</code>: Browser.getVersion over a DevTools WebSocket.</p>' +
    `<div class="meta">${legend}</div><div class="charts">${ratioCharts.join('')}</div><p class="hint">Latency: bar = p50, whisker = p99.</p><div class="charts">${latency.join('')}</div>${table}`
}

function ablationSection (r: Report): string {
  if (r.ablation.length === 0) return ''
  const tested = LAYERS.filter(l => r.deployments.some(d => d.name === `only-${l}`))
  const expected = new Map(r.attacks.map(a => [a.id, new Set<LayerName>(a.stoppedBy)]))
  const rows = r.ablation.map(a => `<tr><td><code>${esc(a.attack)}</code></td>${tested.map(l => {
    const exp = expected.get(a.attack)?.has(l) === true ? ' exp' : ''
    return a.stoppedByLayers.includes(l) ? `<td class="c ok${exp}">✓</td>` : `<td class="c na${exp}"></td>`
  }).join('')}<td class="c ${a.stoppedByLayers.length === 0 ? 'bad' : ''}">${a.stoppedByLayers.length === 0 ? 'none alone' : a.redundant ? 'redundant' : 'one layer'}</td></tr>`)
  const idle = tested.filter(l => !r.ablation.some(a => a.stoppedByLayers.includes(l)))
  return '<h2>Ablation</h2><p class="hint">One deployment per layer with only that layer on. ✓ = that layer alone stops the attack; ' +
    'a framed cell is a layer the catalogue expects to stop it. Redundant = two or more layers stop it alone (defence in depth).</p>' +
    `<table><tr><th>attack</th>${tested.map(l => `<th>${l}</th>`).join('')}<th>alone</th></tr>${rows.join('')}</table>` +
    `<p>${r.ablation.filter(a => a.redundant).length} of ${r.ablation.length} attacks are stopped by more than one layer alone; ` +
    `${r.ablation.filter(a => a.stoppedByLayers.length === 0).length} by no single layer.` +
    (idle.length > 0 ? ` Layers that stop nothing alone here: ${idle.map(l => `<code>${l}</code>`).join(', ')}.` : '') + '</p>'
}

export function renderHtml (report: Report): string {
  const m = report.machine
  const ok = report.verdict.ok
  const verdict = ok
    ? '<p>No hardened deployment let an attack through, and every workflow its policy allows passed.</p>'
    : `<ul class="problems">${report.verdict.problems.map(p => `<li>${esc(oneLine(p, 600))}</li>`).join('')}</ul>`
  return '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">' +
    `<title>hedge compare — ${ok ? 'OK' : 'problems'}</title><style>${CSS}</style></head><body><main>` +
    `<h1>hedge compare<span class="badge ${ok ? 'ok' : 'bad'}">${ok ? '✓ OK' : `✗ ${report.verdict.problems.length} problem${report.verdict.problems.length === 1 ? '' : 's'}`}</span></h1>` +
    `<div class="meta">${esc(report.generatedAt)} · node ${esc(m.node)} · ${esc(m.platform)} · ${m.cpus} CPUs · ` +
    `load ${m.loadavg.map(x => fx(x)).join(' ')} · schema <code>${esc(report.schema)}</code></div>` +
    cards(report) + '<h2>Deployments</h2>' + deploymentsTable(report) +
    attacksSection(report) + workflowsSection(report) + overheadSection(report) + ablationSection(report) +
    `<h2>Verdict</h2>${verdict}</main></body></html>\n`
}
