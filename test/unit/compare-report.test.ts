// The report: schema validation with paths, the derived ablation and verdict, and the three
// renderers (Markdown, HTML, terminal) on a hand-made report carrying hostile evidence.
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { fakeReport, NASTY } from '../helpers/fake-report.ts'
import { reportSchemaDocs } from '../../src/compare/report/schema-docs.ts'
import { validateReport, deriveAblation, deriveVerdict, type Report } from '../../src/compare/report/model.ts'
import { renderMarkdown, mdText } from '../../src/compare/report/markdown.ts'
import { renderHtml, esc } from '../../src/compare/report/html.ts'
import { renderSummary, attackLine, formatOverheadTable } from '../../src/compare/report/terminal.ts'
import { median, percentile, measureOverhead } from '../../src/compare/overhead.ts'
import type { Deployment } from '../../src/compare/types.ts'

const clone = (): Report => JSON.parse(JSON.stringify(fakeReport())) as Report

t.test('the fake report is valid, also after a JSON round trip', async t => {
  t.same(validateReport(fakeReport()), [])
  t.same(validateReport(JSON.parse(JSON.stringify(fakeReport()))), [])
})

t.test('a broken report fails with the path of each mistake', async t => {
  const cases: Array<[string, (r: any) => void, RegExp]> = [
    ['wrong type', r => { r.attacks[0].results.hedged.harm = 'no' }, /^\/attacks\/0\/results\/hedged\/harm: must be boolean$/],
    ['missing field', r => { delete r.verdict }, /^\/verdict: is required$/],
    ['unknown field', r => { r.workflows[1].results.hedged.extra = 1 }, /^\/workflows\/1\/results\/hedged\/extra: is not a known field$/],
    ['wrong schema id', r => { r.schema = 'hedge-compare/2' }, /^\/schema: must be "hedge-compare\/1"$/],
    ['bad layer mode', r => { r.deployments[1].layers.auth = 'on' }, /^\/deployments\/1\/layers\/auth: /],
    ['bad date', r => { r.generatedAt = 'yesterday' }, /^\/generatedAt: /],
    ['negative time', r => { r.overhead[0].via.p50Ms = -1 }, /^\/overhead\/0\/via\/p50Ms: must be >= 0$/],
    ['unknown deployment in results', r => { r.attacks[2].results['no/such'] = { harm: false, evidence: '', ms: 1 } }, /^\/attacks\/2\/results\/no~1such: no deployment named "no\/such"$/],
    ['overhead for an unknown deployment', r => { r.overhead[0].deployment = 'ghost' }, /^\/overhead\/0\/deployment: no deployment named "ghost"$/],
    ['duplicate attack id', r => { r.attacks[1].id = r.attacks[0].id; r.ablation = [] }, /^\/attacks\/1\/id: duplicate attack/],
    ['verdict inconsistent', r => { r.verdict.ok = true }, /^\/verdict\/ok: /],
    ['unknown layer in ablation', r => { r.ablation[0].stoppedByLayers = ['firewall'] }, /^\/ablation\/0\/stoppedByLayers\/0: /],
  ]
  for (const [name, breakIt, expected] of cases) {
    const r = clone()
    breakIt(r)
    const errs = validateReport(r)
    t.ok(errs.some(e => expected.test(e)), `${name}: ${JSON.stringify(errs)}`)
  }
  t.match(validateReport(null)[0], /^\/: must be object/)
})

t.test('ablation and verdict are derived from the results', async t => {
  const r = fakeReport()
  const by = Object.fromEntries(deriveAblation(r.attacks, r.deployments).map(a => [a.attack, a]))
  t.same(by['kernel-reset-unauthenticated']?.stoppedByLayers, ['auth'])
  t.same(by['cross-origin-execute']?.stoppedByLayers, ['origin', 'auth'])
  t.equal(by['cross-origin-execute']?.redundant, true)
  t.same(by['jwt-alg-none']?.stoppedByLayers, ['auth'], 'a deployment an attack did not run against stops nothing')
  t.same(deriveAblation(r.attacks, r.deployments.filter(d => !d.name.startsWith('only-'))), [], 'no single-layer deployments, no ablation')
  const v = deriveVerdict(r.deployments, r.attacks, r.workflows)
  t.equal(v.ok, false)
  t.match(v.problems.join('\n'), /strict: attack jwt-alg-none was inconclusive/)
  t.match(v.problems.join('\n'), /strict: workflow playwright-browse failed/)
  t.notMatch(v.problems.join('\n'), /baseline/, 'harm on a deployment not marked hardened is not a problem')
  t.notMatch(v.problems.join('\n'), /kernel-execute/, 'a workflow the policy does not allow is not a problem')
})

t.test('docs/report-schema.md is generated from the schema and up to date', async t => {
  const file = fileURLToPath(new URL('../../docs/report-schema.md', import.meta.url))
  const want = reportSchemaDocs()
  if (process.env.HEDGE_WRITE_DOCS === '1') writeFileSync(file, want)
  t.equal(readFileSync(file, 'utf8'), want, 'stale: regenerate with HEDGE_WRITE_DOCS=1 npx tap test/unit/compare-report.test.ts')
  const titles = [
    'Report', 'Machine', 'Options', 'Deployment', 'Layers', 'Attack', 'AttackResult',
    'Workflow', 'WorkflowResult', 'OverheadRow', 'LatencyStats', 'Ratio', 'AblationRow', 'Verdict',
  ]
  for (const title of titles) t.match(want, new RegExp(`^## ${title}$`, 'm'))
})

t.test('markdown: every matrix, hostile strings neutralised', async t => {
  const md = renderMarkdown(fakeReport())
  t.match(md, /^# hedge compare — ❌ 2 problem\(s\)/)
  for (const h of ['## Deployments', '## Attacks', '## Workflows', '## Overhead', '## Ablation', '## Verdict']) t.match(md, h)
  t.notMatch(md, /<script/i, 'no raw HTML from evidence')
  t.match(md, /&lt;script&gt;/)
  t.notMatch(md, /\u001b/, 'no terminal escapes')
  t.match(md, /\| `kernel-reset-unauthenticated` \| kernel-control \| network \| auth, routes \| ❌ harm \| ✅ stopped \| ✅ stopped \|/)
  t.match(md, /⚠️ error/)
  t.match(md, /\*\*fail\*\* \(page\.goto: net::ERR\\_TUNNEL\\_CONNECTION\\_FAILED/)
  t.match(md, /\| n\/a \|/)
  t.match(md, /No single layer stops|One layer only/)
  // every table row has as many cells as its header (no pipe from evidence broke a row)
  const cells = (line: string): number => line.replace(/\\\|/g, '').split('|').length
  const lines = md.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (!(lines[i] ?? '').startsWith('| ')) continue
    let h = i
    while (h > 0 && (lines[h - 1] ?? '').startsWith('|')) h--
    t.equal(cells(lines[i] ?? ''), cells(lines[h] ?? ''), `row ${i} has the header's cell count`)
  }
  t.equal(mdText('a|b<c>`d`\nx'), 'a\\|b&lt;c&gt;\\`d\\` x')
})

t.test('html: self-contained, everything escaped, charts drawn', async t => {
  const html = renderHtml(fakeReport())
  t.match(html, /^<!doctype html>/)
  t.match(html, /Content-Security-Policy" content="default-src 'none'/)
  t.notMatch(html, /<script/i, 'no script element, not even from evidence')
  t.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/, 'evidence escaped')
  t.notMatch(html, /\s(?:src|href|xlink:href|action|poster|srcset|background)\s*=/i, 'no resource or link attributes at all')
  t.notMatch(html, /url\(|@import|@font-face/i, 'no CSS that could fetch anything')
  t.notMatch(html.replace(/<[^>]*>/g, m => m.replace(/title="[^"]*"|aria-label="[^"]*"/g, '')), /<[^>]*https?:/i, 'URLs appear only as text (evidence, descriptions), never inside a tag')
  t.notMatch(html, /\u001b/)
  t.ok((html.match(/<svg /g) ?? []).length >= 4, 'ratio and latency charts')
  t.match(html, /target ×1: 0\.85/)
  t.match(html, /<td class="c bad" title="[^"]*">✗ harm<\/td>/)
  t.match(html, /⚠ error/)
  t.equal(esc('<a href="x">\'&'), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;')
})

t.test('terminal: fixed-width, no colour unless asked, escapes stripped', async t => {
  const r = fakeReport()
  const plain = renderSummary(r, { color: false })
  t.notMatch(plain, /\u001b/)
  t.match(plain, /^hedge compare — PROBLEMS/)
  t.match(plain, /kernel-reset-unauthenticated\s+HARM\s+ok\s+ok/)
  t.match(plain, /verdict: 2 problem\(s\)/)
  const coloured = renderSummary(r, { color: true })
  t.match(coloured, /\u001b\[31mHARM\u001b\[0m/)
  const line = attackLine('baseline', 'x', { harm: true, evidence: NASTY, ms: 3 }, { color: false })
  t.notMatch(line, /[\u0000-\u001f]/, 'control characters from evidence never reach the terminal')
  const table = formatOverheadTable(r.overhead).split('\n')
  t.equal(new Set(table.map(l => l.indexOf('kernel-http') >= 0 ? l.indexOf('kernel-http') : null).filter(x => x !== null)).size, 1, 'columns line up')
})

t.test('overhead statistics helpers', async t => {
  t.equal(median([3, 1, 2]), 2)
  t.equal(median([4, 1, 2, 3]), 2.5)
  t.equal(median([]), 0)
  const xs = Array.from({ length: 100 }, (_v, i) => i + 1)
  t.equal(percentile(xs, 0.5), 50)
  t.equal(percentile(xs, 0.99), 99)
  t.equal(percentile([7], 0.99), 7)
})

t.test('overhead against nothing: failures are counted and explained, never thrown or hidden', async t => {
  const closed = 'http://127.0.0.1:1' // connection refused, on loopback
  const d = { name: 'nothing', internals: { kernel: closed, chromium: closed }, endpoints: { kernel: closed, cdp: closed }, token: async () => null } as unknown as Deployment
  const rows = await measureOverhead(d, { durationMs: 40, concurrency: [1], rounds: 1 })
  t.equal(rows.length, 2)
  const [http, cdp] = rows
  t.equal(http?.direct.n, 0)
  t.ok((http?.direct.errors ?? 0) > 0 && (http?.via.errors ?? 0) > 0, 'refused requests counted as errors')
  t.match(http?.note, /direct: \d+ failed request\(s\), first: .*ECONNREFUSED/)
  t.equal(http?.ratio.throughput, 0)
  t.match(cdp?.note, /^not measured: /)
  const r = fakeReport()
  r.overhead = rows
  r.deployments.push({ ...r.deployments[0] as Report['deployments'][number], name: 'nothing' })
  t.same(validateReport(r), [], 'such rows still fit the schema')
})
