// measureOverhead against a real hedged deployment (kernel on a unix socket, Chromium behind
// the egress guard, CDP token on discovery and upgrade), with tiny durations: the rows have
// the report's shape and every request on both paths succeeded. Numbers are not asserted
// (a measurement, on a shared machine). Loopback only.
import t from 'tap'
import { Ajv } from 'ajv'
import { loadPolicy } from '../../src/policy/load.ts'
import { silentLogger } from '../../src/logger.ts'
import { startFixtures } from '../../src/compare/fixtures.ts'
import { startDeployment, withFixtures } from '../../src/compare/deployments.ts'
import { measureOverhead } from '../../src/compare/overhead.ts'
import { OverheadRowSchema } from '../../src/compare/report/model.ts'

const fx = await startFixtures()
t.teardown(() => fx.close())
const d = await startDeployment({ name: 'hedged', policy: withFixtures(loadPolicy('hedged', {}), fx), hardened: false }, fx, silentLogger)
t.teardown(() => d.stop())

t.test('kernel-http and cdp-roundtrip rows, direct and via, no failed request', async t => {
  t.ok(d.internals.kernel.startsWith('unix:'), 'direct kernel path is the unix socket')
  const lines: string[] = []
  const rows = await measureOverhead(d, { durationMs: 240, concurrency: [1, 4], rounds: 2, progress: l => lines.push(l) })
  const validate = new Ajv({ strict: false }).compile(OverheadRowSchema)
  t.same(rows.map(r => `${r.target}×${r.concurrency}`), ['kernel-http×1', 'kernel-http×4', 'cdp-roundtrip×1', 'cdp-roundtrip×4'])
  for (const r of rows) {
    t.ok(validate(r), `${r.target}×${r.concurrency} matches the schema ${JSON.stringify(validate.errors)}`)
    t.equal(r.deployment, 'hedged')
    t.equal(r.rounds, 2)
    t.ok(r.direct.n > 0 && r.via.n > 0, `${r.target}×${r.concurrency}: requests measured (direct ${r.direct.n}, via ${r.via.n})`)
    t.equal(r.direct.errors + r.via.errors, 0, `${r.target}×${r.concurrency}: no failures ${r.note ?? ''}`)
    t.ok(r.ratio.throughput > 0 && r.ratio.p50 > 0, 'ratios computed')
  }
  t.equal(lines.length, 4, 'one progress line per row')
})

t.test('a bad option is an error, not a silent empty measurement', async t => {
  await t.rejects(measureOverhead(d, { durationMs: 0, concurrency: [1] }), /durationMs/)
  await t.rejects(measureOverhead(d, { durationMs: 50, concurrency: [0], targets: ['kernel-http'] }), /concurrency/)
})
