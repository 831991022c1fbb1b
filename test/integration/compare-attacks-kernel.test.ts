// The kernel, web, JWT and pivot attacks of `hedge compare`, against the real stacks: each
// must do real harm to the documented baseline (the oracle sees it: marker gone, canary
// written, key read) — that is what makes it an attack — and none may get through the
// hedged deployment. One deployment at a time (2 cores); one shared victim browser.
import t from 'tap'
import { startFixtures } from '../../src/compare/fixtures.ts'
import { startDeployment, withFixtures } from '../../src/compare/deployments.ts'
import { createOracle } from '../../src/compare/oracle.ts'
import { loadPolicy } from '../../src/policy/load.ts'
import { silentLogger } from '../../src/logger.ts'
import type { Attack } from '../../src/compare/types.ts'
import { KERNEL_ATTACKS } from '../../src/compare/attacks/kernel.ts'
import { WEB_ATTACKS } from '../../src/compare/attacks/web.ts'
import { JWT_ATTACKS } from '../../src/compare/attacks/jwt.ts'
import { PIVOT_ATTACKS } from '../../src/compare/attacks/pivot.ts'
import { closeVictimBrowser } from '../../src/compare/attacks/victim-browser.ts'

const ATTACKS: Attack[] = [...KERNEL_ATTACKS, ...WEB_ATTACKS, ...JWT_ATTACKS, ...PIVOT_ATTACKS]

const fx = await startFixtures()
t.teardown(() => fx.close())
t.teardown(closeVictimBrowser)

t.test('the catalogue is well formed', async t => {
  const ids = ATTACKS.map(a => a.id)
  t.equal(new Set(ids).size, ids.length, 'ids are unique')
  for (const a of ATTACKS) {
    t.match(a.id, /^[a-z0-9]+(-[a-z0-9]+)*$/, `${a.id}: kebab-case`)
    t.ok(a.stoppedBy.length > 0, `${a.id}: names the layers that stop it`)
    t.notMatch(a.description, /\n/, `${a.id}: one-line description`)
  }
})

for (const [name, hardened] of [['baseline', false], ['hedged', true]] as const) {
  t.test(`${name}: ${hardened ? 'every attack is stopped' : 'every attack does real harm'}`, async t => {
    const d = await startDeployment({ name, policy: withFixtures(loadPolicy(name), fx), hardened }, fx, silentLogger)
    t.teardown(() => d.stop())
    const oracle = createOracle(d)
    for (const a of ATTACKS) {
      const r = await a.run({ d, oracle, fixtures: fx, log: () => {} })
      t.equal(r.harm, !hardened, `${a.id}: ${r.evidence}`)
      t.notMatch(r.evidence, /\n/, `${a.id}: evidence is one line`)
    }
  })
}
