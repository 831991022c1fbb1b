// `hedge compare` run as a user runs it, on baseline and hedged, with its invariants:
// in the baseline every attack does real harm (the oracle saw it: the attacks are real);
// in hedged every attack is stopped (none inconclusive) and every workflow its policy
// allows passes. The report files are valid, and the exit status is what CI acts on.
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { validateReport, type Report } from '../../src/compare/report/model.ts'
import { startTestChromium, cdpConnect } from '../helpers/chromium.ts'
import { ATTACKS } from '../../src/compare/attacks/index.ts'

const root = new URL('../..', import.meta.url).pathname
function hedge (args: string[], timeoutMs: number): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    execFile(process.execPath, ['bin/hedge.js', ...args], { cwd: root, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

// A whole comparison (two deployments, the attack catalogue, every workflow) runs here: on a
// loaded 2-core machine it can take longer than tap's default file timeout.
t.setTimeout(1_800_000)

const out = await mkdtemp(join(tmpdir(), 'hedge-compare-test-'))
t.teardown(() => rm(out, { recursive: true, force: true }))

t.test('baseline vs hedged: invariants, valid reports, exit 0', async t => {
  const r = await hedge(['compare', '--deployments', 'baseline,hedged', '--duration', '300ms', '--concurrency', '1', '--out', out], 1_500_000)
  t.equal(r.code, 0, `exit 0\n${r.stdout}\n${r.stderr.slice(-3000)}`)
  const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as Report
  t.same(validateReport(report), [], 'report.json matches its schema')
  t.ok(report.attacks.length >= 15, `${report.attacks.length} attacks`)
  for (const a of report.attacks) {
    const base = a.results.baseline
    const hedged = a.results.hedged
    // gateway-only attacks abuse what only the gateway has: nothing of the baseline's to harm
    if (ATTACKS.find(x => x.id === a.id)?.gatewayOnly === true) t.ok(base?.harm === false, `baseline: ${a.id} has nothing to abuse (${base?.evidence ?? 'no result'})`)
    else t.ok(base?.harm === true, `baseline: ${a.id} did real harm (${base?.evidence ?? 'no result'})`)
    t.ok(hedged?.harm === false && hedged.error === undefined, `hedged: ${a.id} stopped (${hedged?.evidence ?? 'no result'})`)
  }
  t.ok(report.workflows.length > 0, `${report.workflows.length} workflows`)
  for (const w of report.workflows) {
    const h = w.results.hedged
    if (h?.allowed === true) t.ok(h.ok, `hedged: allowed workflow ${w.id} passes (${h.reason ?? ''})`)
    t.equal(w.results.baseline?.ok, true, `baseline: ${w.id} works on the documented sandbox (${w.results.baseline?.reason ?? ''})`)
  }
  t.ok(report.overhead.some(o => o.deployment === 'hedged' && o.target === 'cdp-roundtrip'), 'overhead measured for hedged CDP')
  t.equal(report.verdict.ok, true)
  const md = await readFile(join(out, 'report.md'), 'utf8')
  t.match(md, /kernel-key-read/)

  // the HTML renders in headless Chromium and its screenshot is a real page
  const html = await readFile(join(out, 'report.html'), 'utf8')
  t.notMatch(html, /\b(src|href)=["']?https?:/i, 'self-contained: no network references')
  const chromium = await startTestChromium(t)
  const v = await (await fetch(`${chromium.url}/json/version`)).json() as { webSocketDebuggerUrl: string }
  const cdp = await cdpConnect(v.webSocketDebuggerUrl)
  t.teardown(() => { cdp.close() })
  const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' })
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true })
  const { frameTree } = await cdp.send('Page.getFrameTree', {}, sessionId)
  await cdp.send('Page.setDocumentContent', { frameId: frameTree.frame.id, html }, sessionId)
  const text = await cdp.send('Runtime.evaluate', { expression: 'document.body.innerText', returnByValue: true }, sessionId)
  t.match(text.result.value, /kernel-key-read/, 'the rendered page shows the attack matrix')
  const shot = await cdp.send('Page.captureScreenshot', { format: 'png' }, sessionId)
  t.ok(Buffer.from(shot.data, 'base64').length > 20_000, 'screenshot is not a blank page')
})

t.test('exit 1 when a deployment marked hardened lets an attack through', async t => {
  const r = await hedge(['compare', '--deployments', 'baseline', '--hardened', 'baseline', '--suites', 'attacks', '--only', 'kernel-key-read', '--out', join(out, 'fail')], 300_000)
  t.equal(r.code, 1)
  t.match(r.stdout, /baseline: attack kernel-key-read did harm/)
})
