// The comparison's legitimate workflows against three real deployments: baseline (every
// layer off), hedged and strict. Where the policy means to allow a workflow it must pass;
// where it does not (strict: no execute/reset/interrupt, no automation) it must fail quickly
// with an error that names the rule or error code. The shared browser must not collect
// pages, and no Chromium is left behind. Only loopback is ever contacted.
import t from 'tap'
import { waitUntil } from '../../src/util/wait.ts'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { startFixtures } from '../../src/compare/fixtures.ts'
import { startDeployment, withFixtures } from '../../src/compare/deployments.ts'
import { createOracle } from '../../src/compare/oracle.ts'
import { loadPolicy } from '../../src/policy/load.ts'
import { silentLogger } from '../../src/logger.ts'
import { bounded, httpCall } from '../../src/compare/cdp-client.ts'
import { KERNEL_WORKFLOWS } from '../../src/compare/workflows/kernel.ts'
import { BROWSER_WORKFLOWS } from '../../src/compare/workflows/browser.ts'
import { INPUT_WORKFLOWS } from '../../src/compare/workflows/browser-input.ts'
import type { Deployment, Workflow, WorkflowContext } from '../../src/compare/types.ts'

const WORKFLOW_MS = 150_000
const REFUSAL_MS = 30_000 // a refused workflow fails fast, it does not hang until a timeout
const WORKFLOWS: Workflow[] = [...KERNEL_WORKFLOWS, ...BROWSER_WORKFLOWS, ...INPUT_WORKFLOWS]

function chromiumRoot (url: string): string {
  const port = new URL(url).port
  const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' })
  const pid = /pid=(\d+)/.exec(out)?.[1]
  if (pid === undefined) throw new Error(`no process listens on ${port}`)
  const dir = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').find(a => a.startsWith('--user-data-dir='))?.slice('--user-data-dir='.length)
  if (dir === undefined) throw new Error('no --user-data-dir')
  return dir.replace(/\/profile\/?$/, '')
}

function processesNaming (needle: string): number[] {
  try { return execFileSync('pgrep', ['-f', needle], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number) } catch { return [] }
}

async function pageCount (d: Deployment): Promise<number> {
  const a = await httpCall(`${d.internals.chromium}/json/list`, { timeoutMs: 5000 })
  return (a.json as Array<{ type: string }>).filter(x => x.type === 'page').length
}

const fx = await startFixtures()
t.teardown(() => fx.close())
const deployments: Deployment[] = []
const roots: string[] = []
for (const [name, hardened] of [['baseline', false], ['hedged', true], ['strict', true]] as const) {
  const d = await startDeployment({ name, policy: withFixtures(loadPolicy(name), fx), hardened }, fx, silentLogger)
  deployments.push(d)
  t.teardown(() => d.stop())
  roots.push(chromiumRoot(d.internals.chromium))
}
const [baseline, hedged, strict] = deployments as [Deployment, Deployment, Deployment]

t.test('what each policy means to allow', async t => {
  const allowed = (d: Deployment): string[] => WORKFLOWS.filter(w => w.allowedBy(d)).map(w => w.id)
  t.same(allowed(baseline), WORKFLOWS.map(w => w.id), 'baseline: everything')
  t.same(allowed(hedged), WORKFLOWS.map(w => w.id), 'hedged: everything')
  t.same(allowed(strict), ['kernel-status', 'cdp-observer-screenshot'], 'strict: observers only')
})

for (const d of [baseline, hedged, strict]) {
  t.test(d.name, async t => {
    const ctx: WorkflowContext = { d, oracle: createOracle(d), fixtures: fx, log: () => {} }
    const pagesBefore = await pageCount(d)
    for (const w of WORKFLOWS) {
      const started = Date.now()
      const err = await bounded(`${w.id} on ${d.name}`, w.run(ctx), WORKFLOW_MS).then(() => undefined, (e: unknown) => e as Error)
      const took = Date.now() - started
      if (w.allowedBy(d)) {
        t.equal(err, undefined, `${w.id} passes (${took} ms)${err !== undefined ? `: ${err.message}` : ''}`)
      } else {
        t.ok(err, `${w.id} is refused`)
        t.ok(took < REFUSAL_MS, `${w.id} fails fast (${took} ms)`)
        t.match(err?.message ?? '', /\[cdp\.[^\]]+\]|HEDGE_[A-Z_]+/, `${w.id}: the error names the rule or code (${(err?.message ?? '').split('\n')[0] ?? ''})`)
      }
    }
    // A client's own browser context (tenancy isolated) is disposed by Chromium shortly after it leaves.
    const settled = await waitUntil('pages of closed clients to go', async () => await pageCount(d) <= pagesBefore, 15_000, 200).then(() => true, () => false)
    t.ok(settled, 'no pages left behind in the shared browser')
  })
}

t.test('teardown leaves no Chromium behind', async t => {
  for (const d of deployments.splice(0)) await d.stop()
  for (const root of roots) t.same(processesNaming(root), [], `no process left under ${root}`)
})
