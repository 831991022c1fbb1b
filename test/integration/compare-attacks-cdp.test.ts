// The comparison's CDP attacks and filter evasions against two real deployments: the
// documented baseline (9223 forwarder, no auth) must suffer real harm from every one, and
// `hedged` must stop every one — judged by the oracle, not by status codes. CDP_GAP_ATTACKS
// are the two this suite first found hedged did NOT stop (httpOnly cookies in Network/Fetch
// events; an isolated-world init script reaching the main world): kept as regressions.
// Only loopback is ever contacted; no Chromium is left behind.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { startFixtures } from '../../src/compare/fixtures.ts'
import { startDeployment, withFixtures } from '../../src/compare/deployments.ts'
import { createOracle } from '../../src/compare/oracle.ts'
import { loadPolicy } from '../../src/policy/load.ts'
import { silentLogger } from '../../src/logger.ts'
import { bounded } from '../../src/compare/cdp-client.ts'
import { CDP_ATTACKS } from '../../src/compare/attacks/cdp.ts'
import { CDP_EVASION_ATTACKS, CDP_GAP_ATTACKS } from '../../src/compare/attacks/cdp-evasion.ts'
import type { Attack, AttackContext, AttackOutcome, Deployment, Fixtures } from '../../src/compare/types.ts'

const ATTACK_MS = 150_000

/** The private root of the Chromium answering on `url` (its --user-data-dir's parent), to find strays later. */
function chromiumRoot (url: string): string {
  const port = new URL(url).port
  const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' })
  const pid = /pid=(\d+)/.exec(out)?.[1]
  if (pid === undefined) throw new Error(`no process listens on ${port}`)
  const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  const dir = cmd.find(a => a.startsWith('--user-data-dir='))?.slice('--user-data-dir='.length)
  if (dir === undefined) throw new Error('no --user-data-dir')
  return dir.replace(/\/profile\/?$/, '')
}

/** Live processes whose command line names `needle`. */
function processesNaming (needle: string): number[] {
  try { return execFileSync('pgrep', ['-f', needle], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number) } catch { return [] }
}

const fx = await startFixtures()
t.teardown(() => fx.close())
const deployments: Deployment[] = []
const roots: string[] = []
async function deploy (name: 'baseline' | 'hedged', hardened: boolean, f: Fixtures): Promise<Deployment> {
  const d = await startDeployment({ name, policy: withFixtures(loadPolicy(name), f), hardened }, f, silentLogger)
  deployments.push(d)
  t.teardown(() => d.stop())
  roots.push(chromiumRoot(d.internals.chromium))
  return d
}
const baseline = await deploy('baseline', false, fx)
const hedged = await deploy('hedged', true, fx)

const ctxOf = (d: Deployment): AttackContext => ({ d, oracle: createOracle(d), fixtures: fx, log: () => {} })
const run = async (a: Attack, d: Deployment): Promise<AttackOutcome> => await bounded(`${a.id} on ${d.name}`, a.run(ctxOf(d)), ATTACK_MS)

t.test('catalogue shape', async t => {
  const all = [...CDP_ATTACKS, ...CDP_EVASION_ATTACKS, ...CDP_GAP_ATTACKS]
  t.equal(new Set(all.map(a => a.id)).size, all.length, 'ids are unique')
  for (const a of all) {
    t.ok(['network', 'rogue-agent'].includes(a.attacker), `${a.id}: attacker ${a.attacker}`)
    t.ok(a.stoppedBy.length > 0, `${a.id}: names the layers that stop it`)
    t.match(a.category, /^cdp(-evasion)?$/, `${a.id}: category`)
  }
  t.same(CDP_ATTACKS.find(a => a.id === 'cdp-eval-unauthenticated')?.stoppedBy, ['auth'])
})

for (const a of [...CDP_ATTACKS, ...CDP_EVASION_ATTACKS]) {
  t.test(a.id, async t => {
    const b = await run(a, baseline)
    t.ok(b.harm, `baseline: harm — ${b.evidence}`)
    t.notOk(b.evidence.includes('\n'), 'evidence is one line')
    const h = await run(a, hedged)
    t.notOk(h.harm, `hedged: stopped — ${h.evidence}`)
    t.notOk(h.evidence.includes('\n'), 'evidence is one line')
  })
}

for (const a of CDP_GAP_ATTACKS) {
  t.test(`regression (was a gap): ${a.id}`, async t => {
    const b = await run(a, baseline)
    t.ok(b.harm, `baseline: harm — ${b.evidence}`)
    const h = await run(a, hedged)
    t.notOk(h.harm, `hedged: stopped — ${h.evidence}`)
  })
}

t.test('the browsers are still up and serving after the attacks (closes were restarted)', async t => {
  for (const d of deployments) t.ok(await createOracle(d).browserId(), `${d.name}: Chromium answers`)
})

t.test('teardown leaves no Chromium behind', async t => {
  for (const d of deployments.splice(0)) await d.stop()
  for (const root of roots) t.same(processesNaming(root), [], `no process left under ${root}`)
})
