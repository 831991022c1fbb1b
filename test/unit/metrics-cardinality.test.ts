// Label values are a closed set: attacker-chosen rule details (a scheme, a port) never mint
// series. The live replay of the two reported attacks is in the integration suite; this is
// the decision itself, as a table.
import t from 'tap'
import { countDecision, metrics, ruleId } from '../../src/metrics.ts'

t.test('rule ids: the detail after ":" or "(" never reaches a label', async t => {
  const rows: Array<[string, string]> = [
    ['url.scheme:x0', 'url.scheme'],
    ['egress.port:8080', 'egress.port'],
    ['listen.headersTimeout(tls-handshake)', 'listen.headersTimeout'],
    ['hosts.allow', 'hosts.allow'],
    ['cdp.parse:duplicate-key', 'cdp.parse'],
    ['Evil"label\n', 'other'],
    ['', 'other'],
    ['a'.repeat(60), 'other'],
  ]
  for (const [rule, id] of rows) t.equal(ruleId(rule), id, JSON.stringify(rule))
})

t.test('5,000 attacker-chosen schemes and ports keep the series bounded', async t => {
  const before = await metrics.seriesCount()
  for (let i = 0; i < 5000; i++) {
    countDecision('cdp', 'cdp-filter', `url.scheme:x${i}`, 'denied')
    countDecision('egress', 'egress', `egress.port:${i}`, 'denied')
    metrics.inc('hedge_denials_total', { layer: 'cdp-filter', rule: `url.scheme:x${i}`, mode: 'enforce' })
    countDecision(`front${i}`, `layer${i}`, `r${i}.x`, 'denied') // even a caller bug is capped
  }
  const after = await metrics.seriesCount()
  t.ok(after - before < 300, `series grew by ${after - before}`)
  t.ok(after < 300, `${after} series in total`)
  const text = await metrics.render()
  t.notMatch(text, /x4999|:4999/, 'no offending value in the exposition')
  t.match(text, /# HELP hedge_decisions_total /)
  t.match(text, /hedge_decisions_total\{front="cdp",layer="cdp-filter",rule="url.scheme",outcome="denied"\} 5000/)
  t.match(text, /process_cpu_seconds_total/, 'default process metrics')
  t.match(text, /hedge_build_info\{/)
})
