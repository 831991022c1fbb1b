// The topology default comes from the policy's NAME only: no layer switch (file or
// HEDGE_LAYER_* override) moves it. And each topology's shape, as a table.
import t from 'tap'
import { loadPolicy, parsePolicy } from '../../src/policy/load.ts'
import { defaultTopology, isTopology, SHAPES, TOPOLOGIES, type Topology } from '../../src/app/topology.ts'
import { onlyLayer } from '../../src/compare/deployments.ts'
import { LAYERS } from '../../src/policy/schema.ts'

const allOff = Object.fromEntries(LAYERS.map(l => [`HEDGE_LAYER_${l.toUpperCase().replace(/-/g, '_')}`, 'off']))
const allOn = Object.fromEntries(LAYERS.map(l => [`HEDGE_LAYER_${l.toUpperCase().replace(/-/g, '_')}`, 'enforce']))

// [shipped policy, layer overrides, expected default topology]
const SHIPPED: Array<[string, NodeJS.ProcessEnv, Topology]> = [
  ['baseline', {}, 'documented'],
  ['baseline', { HEDGE_LAYER_EGRESS: 'enforce' }, 'documented'],
  ['baseline', allOn, 'documented'],
  ['hedged', {}, 'hedged'],
  ['hedged', { HEDGE_LAYER_EGRESS: 'off' }, 'hedged'], // the trap of issue #11
  ['hedged', { HEDGE_LAYER_EGRESS: 'report-only' }, 'hedged'],
  ['hedged', { HEDGE_LAYER_AUTH: 'off' }, 'hedged'],
  ['hedged', allOff, 'hedged'],
  ['hedged-report-only', {}, 'hedged'],
  ['hedged-report-only', { HEDGE_LAYER_EGRESS: 'off' }, 'hedged'],
  ['strict', {}, 'hedged'],
  ['strict', allOff, 'hedged'],
]

// [policy file text, expected]: names decide, contents do not
const FILES: Array<[string, Topology]> = [
  ['version: 1\nname: baseline\n', 'documented'],
  ['version: 1\nname: mine\nlayers: { host: off, origin: off, auth: off, routes: off, body: off, cdp-filter: off, egress: off }\n', 'hedged'],
  ['version: 1\nextends: baseline\nname: baseline-plus\n', 'hedged'],
  ['version: 1\nextends: hedged\nname: baseline\n', 'documented'],
]

t.test('shipped policies: the default ignores every layer switch', async t => {
  for (const [name, env, want] of SHIPPED) t.equal(defaultTopology(loadPolicy(name, env).name), want, `${name} ${JSON.stringify(env)}`)
})

t.test('policy files: the name decides, the layers do not', async t => {
  for (const [text, want] of FILES) t.equal(defaultTopology(parsePolicy(text, 'test.yaml', {}).name), want, JSON.stringify(text))
})

t.test('the shapes', async t => {
  t.same([...TOPOLOGIES], ['documented', 'gateway', 'hedged'])
  t.same(SHAPES.documented, { kernel: 'tcp', forwarder: true, egressGuard: false, identities: 'shared', browserHardening: 'off' })
  t.same(SHAPES.gateway, { kernel: 'tcp', forwarder: false, egressGuard: false, identities: 'shared', browserHardening: 'off' })
  t.same(SHAPES.hedged, { kernel: 'unix', forwarder: false, egressGuard: true, identities: 'separate', browserHardening: 'hedged' })
  for (const s of TOPOLOGIES) t.ok(isTopology(s), s)
  for (const s of ['', 'Hedged', 'baseline', 'off', undefined, null, 1]) t.notOk(isTopology(s), String(s))
})

t.test('the ablation states its topology explicitly', async t => {
  const base = loadPolicy('hedged', {})
  for (const l of LAYERS) t.equal(onlyLayer(base, l).topology, l === 'egress' ? 'hedged' : 'gateway', `only-${l}`)
})
