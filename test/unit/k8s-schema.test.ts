// The plain Kubernetes manifest against the API's OpenAPI schemas (kubernetes-models), with
// unknown fields refused as the API server's strict field validation does; and near misses
// proving the validator bites: each broken copy must be rejected for the reason given.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseManifests, referenceProblems, validateAll, validateObject } from '../helpers/k8s-validate.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const K8S = 'deploy/kubernetes/sandbox-with-hedge.yaml'
const docs = parseManifests(readFileSync(join(ROOT, K8S), 'utf8'), K8S)

t.test(`${K8S}: every document validates against its kind's schema`, async t => {
  t.same(docs.map(d => d.kind).sort(), ['ConfigMap', 'Deployment', 'NetworkPolicy', 'Service'], 'the documents it has (none skipped)')
  t.same(await validateAll(docs), [], 'no schema errors, no unknown fields')
})

const deployment = (): Obj => structuredClone(docs.find(d => d.kind === 'Deployment') as Obj)
const container = (d: Obj, name: string): Obj => (d.spec.template.spec.containers as Obj[]).find(c => c.name === name) as Obj
const of = (kind: string): Obj => structuredClone(docs.find(d => d.kind === kind) as Obj)
const kind = (ds: Obj[], k: string): Obj => ds.find(d => d.kind === k) as Obj
const dep = (ds: Obj[]): Obj => kind(ds, 'Deployment')

/** A broken copy of a document and the problem it must be rejected for. */
const NEAR_MISSES: Array<[string, () => Obj, RegExp]> = [
  ['misspelt field under securityContext', () => {
    const d = deployment(); const sc = container(d, 'gateway').securityContext as Obj
    sc.runAsNonRot = sc.runAsNonRoot; delete sc.runAsNonRoot
    return d
  }, /unknown field \/spec\/template\/spec\/containers\/1\/securityContext\/runAsNonRot$/],
  ['capabilities.drop misspelt', () => {
    const d = deployment(); const caps = container(d, 'sandbox').securityContext.capabilities as Obj
    caps.dorp = caps.drop; delete caps.drop
    return d
  }, /unknown field .*\/capabilities\/dorp$/],
  ['a string where an int belongs (runAsUser)', () => {
    const d = deployment(); container(d, 'gateway').securityContext.runAsUser = '10001'
    return d
  }, /securityContext\/runAsUser must be integer/],
  ['a string where an int belongs (probe periodSeconds)', () => {
    const d = deployment(); container(d, 'gateway').readinessProbe.periodSeconds = '5'
    return d
  }, /readinessProbe\/periodSeconds must be integer/],
  ['a string where a bool belongs', () => {
    const d = deployment(); container(d, 'gateway').securityContext.readOnlyRootFilesystem = 'true'
    return d
  }, /readOnlyRootFilesystem must be boolean/],
  ['missing required field: container name', () => {
    const d = deployment(); delete container(d, 'gateway').name
    return d
  }, /containers\/1 must have required property name/],
  ['missing required field: Deployment selector', () => {
    const d = deployment(); delete d.spec.selector
    return d
  }, /data\/spec must have required property selector/],
  ['missing required field: Service port', () => {
    const s = of('Service'); delete s.spec.ports[0].port
    return s
  }, /ports\/0 must have required property port/],
  ['bad enum value: seccompProfile type', () => {
    const d = deployment(); d.spec.template.spec.securityContext.seccompProfile.type = 'Runtimedefault'
    return d
  }, /seccompProfile\/type must be equal to one of the allowed values/],
  ['misplaced field: volumeMounts at pod level', () => {
    const d = deployment(); d.spec.template.spec.volumeMounts = container(d, 'gateway').volumeMounts
    return d
  }, /unknown field \/spec\/template\/spec\/volumeMounts$/],
  ['a number in a ConfigMap\'s data', () => {
    const c = of('ConfigMap'); c.data.answer = 42
    return c
  }, /data\/data\/answer must be string/],
  ['NetworkPolicy: misspelt policyTypes', () => {
    const n = of('NetworkPolicy'); n.spec.policyType = n.spec.policyTypes; delete n.spec.policyTypes
    return n
  }, /unknown field \/spec\/policyType$/],
  ['unknown kind (typo)', () => ({ ...deployment(), kind: 'Deploymnet' }), /unknown kind apps\/v1 Deploymnet/],
  ['unknown kind (wrong group)', () => ({ ...of('NetworkPolicy'), apiVersion: 'extensions/v1' }), /unknown kind extensions\/v1 Netw/],
  ['unknown kind (a CRD)', () => ({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor' }), /unknown kind/],
  ['nested type posing as a kind', () => ({ apiVersion: 'v1', kind: 'Container', name: 'x' }), /unknown kind v1 Container/],
]

t.test('near misses are rejected, each for its own reason', async t => {
  for (const [what, make, reason] of NEAR_MISSES) {
    const problems = await validateObject(make())
    t.ok(problems.some(p => reason.test(p)), `${what}: ${problems.join(' | ') || 'accepted'}`)
  }
})

t.test('validateAll reports an unknown kind rather than skipping it', async t => {
  const all = [...docs, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }]
  const bad = await validateAll(all)
  t.same(bad.map(b => b.kind), ['Widget'])
})

t.test('references the schema cannot see: names, ports, mounts, selectors', async t => {
  t.same(referenceProblems(docs), [], K8S)
  const broken: Array<[string, (ds: Obj[]) => void, RegExp]> = [
    ['a mount of an undeclared volume', ds => { container(dep(ds), 'gateway').volumeMounts[0].name = 'kernel-sock' },
      /unknown volume kernel-sock/],
    ['a probe on an undeclared port', ds => { container(dep(ds), 'gateway').readinessProbe.httpGet.port = 'admn' }, /undeclared port/],
    ['a Service targetPort no container declares', ds => { kind(ds, 'Service').spec.ports[0].targetPort = 'kernal' },
      /no container port kernal/],
    ['a port name over 15 characters', ds => { container(dep(ds), 'gateway').ports[2].name = 'administration-port' }, /invalid port name/],
    ['an upper-case object name', ds => { kind(ds, 'ConfigMap').metadata.name = 'Hedge-Policy' }, /invalid name/],
    ['the policy ConfigMap missing', ds => { ds.splice(ds.findIndex(d => d.kind === 'ConfigMap'), 1) }, /no ConfigMap hedge-policy/],
    ['a NetworkPolicy selecting other pods', ds => { kind(ds, 'NetworkPolicy').spec.podSelector.matchLabels = { app: 'x' } },
      /does not select/],
  ]
  for (const [what, mutate, reason] of broken) {
    const copy = structuredClone(docs)
    mutate(copy)
    t.match(referenceProblems(copy).join(' | '), reason, what)
  }
})
