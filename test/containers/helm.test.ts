// The helm chart (deploy/helm/hedge). Rendered with `helm template` where helm is installed
// (it is not on the development machines: neither Debian 12 nor npm ships it), and the
// rendered pod must match deploy/kubernetes/sandbox-with-hedge.yaml — the manifest the pod
// layout test runs for real — in everything that matters for security and wiring.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'
import { ROOT } from './engine.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>
const CHART = join(ROOT, 'deploy/helm/hedge')

t.test('chart metadata and values parse', async t => {
  const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Obj
  t.equal(chart.apiVersion, 'v2')
  t.equal(chart.name, 'hedge')
  const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Obj
  t.equal(values.auth.jwtSecret, '', 'no secret value shipped')
  t.equal(values.networkPolicy.enabled, true)
})

const helm = spawnSync('helm', ['version', '--short'], { encoding: 'utf8', timeout: 20_000 })
if (helm.status !== 0) {
  t.comment('helm: skipped (no helm binary; render with `helm template` where it is installed)')
} else {
  t.test('helm template renders; the pod matches the plain manifest', async t => {
    const r = spawnSync('helm', ['template', 'hedge', CHART, '--namespace', 'default', '--set', `auth.jwtSecret=${'x'.repeat(48)}`], { encoding: 'utf8', timeout: 60_000 })
    t.equal(r.status, 0, r.stderr)
    const docs = parseAllDocuments(r.stdout).map(d => d.toJSON() as Obj).filter(Boolean)
    t.same(docs.map(d => d.kind).sort(), ['ConfigMap', 'Deployment', 'NetworkPolicy', 'Secret', 'Service'])
    const plain = parseAllDocuments(readFileSync(join(ROOT, 'deploy/kubernetes/sandbox-with-hedge.yaml'), 'utf8')).map(d => d.toJSON() as Obj)
    const podOf = (ds: Obj[]): Obj => ds.find(d => d.kind === 'Deployment')!.spec.template.spec
    const rendered = podOf(docs); const manifest = podOf(plain)
    for (const name of ['sandbox', 'gateway']) {
      const a = (rendered.containers as Obj[]).find(c => c.name === name)!
      const b = (manifest.containers as Obj[]).find(c => c.name === name)!
      t.same(a.args, b.args, `${name}: args`)
      t.same({ ...a.securityContext, seccompProfile: undefined }, { ...b.securityContext, seccompProfile: undefined }, `${name}: securityContext`)
      t.same(a.volumeMounts.map((m: Obj) => m.mountPath).sort(), b.volumeMounts.map((m: Obj) => m.mountPath).sort(), `${name}: mounts`)
    }
    const policy = parse(docs.find(d => d.kind === 'ConfigMap')!.data['policy.yaml']) as Obj
    t.ok(policy.hosts.allow.includes('hedge.default.svc.cluster.local'), 'the Service names are allowed Hosts')
  })
}
