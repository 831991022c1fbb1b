// The helm chart (deploy/helm/hedge) rendered by the real `helm template` where helm is
// installed (it is not on the development machines: neither Debian 12 nor npm ships it; there
// test/unit/helm-chart.test.ts renders it with test/helpers/helm-render.ts). For each install
// mode: every document passes schema validation, the output is what the repository's renderer
// produces (so the unit test's renderer is checked against helm itself), and the pod matches
// deploy/kubernetes/sandbox-with-hedge.yaml — the manifest the pod layout test runs for real.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { ROOT } from './engine.ts'
import { CHART_CASES, chartVsManifest, renderChart } from '../helpers/helm-render.ts'
import { parseManifests, validateAll } from '../helpers/k8s-validate.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>
const CHART = join(ROOT, 'deploy/helm/hedge')
const K8S = 'deploy/kubernetes/sandbox-with-hedge.yaml'

t.test('chart metadata and values parse', async t => {
  const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Obj
  t.equal(chart.apiVersion, 'v2')
  t.equal(chart.name, 'hedge')
  const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Obj
  t.equal(values.auth.jwtSecret, '', 'no secret value shipped')
  t.equal(values.networkPolicy.enabled, true)
})

/** Documents without what differs by construction: the checksum of the ConfigMap's text
 *  (toYaml's layout may differ between Go's yaml and ours while the YAML means the same). */
const comparable = (docs: Obj[]): Obj[] => docs.map(d => {
  const c = structuredClone(d)
  if (c.kind === 'Deployment') delete c.spec?.template?.metadata?.annotations?.['checksum/policy']
  return c
}).sort((a, b) => `${String(a.kind)}/${String(a.metadata?.name)}`.localeCompare(`${String(b.kind)}/${String(b.metadata?.name)}`))

const helm = spawnSync('helm', ['version', '--short'], { encoding: 'utf8', timeout: 20_000 })
if (helm.status !== 0) {
  t.comment('helm: skipped (no helm binary; test/unit/helm-chart.test.ts renders the chart without it)')
} else {
  const dir = mkdtempSync(join(tmpdir(), 'hedge-helm-values-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const manifest = parseManifests(readFileSync(join(ROOT, K8S), 'utf8'), K8S)

  t.test('helm template: each install mode renders, validates, and equals the repository renderer', async t => {
    for (const [i, [label, o, kinds]] of CHART_CASES.entries()) {
      const file = join(dir, `values-${i}.json`) // JSON is YAML: helm reads it with -f
      writeFileSync(file, JSON.stringify(o.values ?? {}))
      const release = o.releaseName ?? 'hedge'
      const ns = o.namespace ?? 'default'
      const r = spawnSync('helm', ['template', release, CHART, '--namespace', ns, '-f', file], { encoding: 'utf8', timeout: 60_000 })
      t.equal(r.status, 0, `${label}: ${r.stderr}`)
      const docs = parseManifests(r.stdout, `helm template (${label})`)
      t.same(docs.map(d => d.kind).sort(), kinds, `${label}: the documents`)
      t.same(await validateAll(docs), [], `${label}: schema validation`)
      const ours = renderChart(CHART, o).flatMap(x => parseManifests(x.text, x.source))
      t.same(comparable(ours), comparable(docs), `${label}: test/helpers/helm-render.ts renders what helm renders`)
    }
  })

  t.test('helm template: the pod matches the plain manifest', async t => {
    const file = join(dir, 'values-secret.json')
    writeFileSync(file, JSON.stringify({ auth: { jwtSecret: 'x'.repeat(48) } }))
    const r = spawnSync('helm', ['template', 'hedge', CHART, '--namespace', 'default', '-f', file], { encoding: 'utf8', timeout: 60_000 })
    t.equal(r.status, 0, r.stderr)
    for (const e of chartVsManifest(parseManifests(r.stdout, 'helm template'), manifest, 'default')) t.same(e.chart, e.manifest, e.what)
  })
}
