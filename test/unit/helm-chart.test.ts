// The helm chart (deploy/helm/hedge) rendered without helm (test/helpers/helm-render.ts: the
// template subset the chart uses, failing on anything else) for the ways it is meant to be
// installed: every rendered document validates against the Kubernetes schemas, the pod is the
// plain manifest's in everything security-relevant, the policy loads, the values' guards
// refuse what cannot work, and the gateway container meets Pod Security `restricted` (in the
// plain manifest too) while the sandbox needs exactly what the docs say.
import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import {
  CHART_CASES as CASES, chartVsManifest, HelmRenderError, renderChart, serviceHosts, type RenderOptions,
} from '../helpers/helm-render.ts'
import { parseManifests, podSecurityViolations, referenceProblems, validateAll } from '../helpers/k8s-validate.ts'
import { parsePolicy } from '../../src/policy/load.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const CHART = join(ROOT, 'deploy/helm/hedge')
const K8S = 'deploy/kubernetes/sandbox-with-hedge.yaml'
const manifest = parseManifests(readFileSync(join(ROOT, K8S), 'utf8'), K8S)
const SECRET = 'x'.repeat(48) // the value CHART_CASES uses

const render = (o: RenderOptions): Obj[] => renderChart(CHART, o).flatMap(r => parseManifests(r.text, r.source))
const one = (docs: Obj[], kind: string): Obj => docs.find(d => d.kind === kind) as Obj
const pod = (docs: Obj[]): Obj => one(docs, 'Deployment').spec.template.spec as Obj
const container = (docs: Obj[], name: string): Obj => (pod(docs).containers as Obj[]).find(c => c.name === name) as Obj
const policyOf = (docs: Obj[]): Obj => parse(String(one(docs, 'ConfigMap').data['policy.yaml'])) as Obj

t.test('every install renders, and every rendered document passes schema validation', async t => {
  for (const [label, o, kinds] of CASES) {
    const docs = render(o)
    t.same(docs.map(d => d.kind).sort(), kinds, `${label}: the documents`)
    t.same(await validateAll(docs), [], `${label}: no schema errors, no unknown fields`)
    t.same(referenceProblems(docs), [], `${label}: names, ports, mounts, selectors`)
    const svc = String(one(docs, 'Service').metadata.name)
    const policy = parsePolicy(String(one(docs, 'ConfigMap').data['policy.yaml']), `${label} policy.yaml`, {})
    for (const h of serviceHosts(svc, o.namespace ?? 'default')) t.ok(policy.hosts.allow.includes(h), `${label}: ${h} is an allowed Host`)
    const checksum = one(docs, 'Deployment').spec.template.metadata.annotations['checksum/policy'] as string
    t.match(checksum, /^[0-9a-f]{64}$/, `${label}: the policy checksum rolls the pod`)
  }
})

t.test('the rendered pod is the plain manifest\'s (default values + a jwt secret)', async t => {
  const values = { auth: { jwtSecret: SECRET } }
  for (const e of chartVsManifest(render({ values }), manifest, 'default')) t.same(e.chart, e.manifest, e.what)
  // in another namespace the Service's names follow the release
  for (const e of chartVsManifest(render({ releaseName: 'r1', namespace: 'ns1', values }), manifest, 'ns1')) {
    if (e.what.startsWith('policy')) t.same(e.chart, e.manifest, `r1 in ns1: ${e.what}`)
  }
})

t.test('auth wiring per mode', async t => {
  const hs = render({ values: { auth: { jwtSecret: SECRET } } })
  t.equal(one(hs, 'Secret').stringData.secret, SECRET)
  const secretRef = (docs: Obj[]): Obj =>
    (container(docs, 'gateway').env as Obj[]).find(e => e.name === 'HEDGE_JWT_SECRET')?.valueFrom.secretKeyRef
  t.same(secretRef(hs), { name: 'hedge-jwt', key: 'secret' })
  t.equal(policyOf(hs).auth, undefined, 'HS256: the policy keeps hedged\'s auth')
  const existing = render({ values: { auth: { existingSecret: 'corp-jwt' } } })
  t.equal(secretRef(existing).name, 'corp-jwt')

  const url = render(CASES[2]?.[1] as RenderOptions)
  t.same(policyOf(url).auth, {
    algorithms: ['ES256'], jwksUrl: 'https://idp.example/.well-known/jwks.json', issuer: 'https://idp.example',
  })
  t.notOk(container(url, 'gateway').env.some((e: Obj) => e.name === 'HEDGE_JWT_SECRET'), 'JWKS: no HS256 secret in the environment')
  t.same(one(url, 'NetworkPolicy').spec.egress.at(-1),
    { to: [{ ipBlock: { cidr: '203.0.113.10/32' } }], ports: [{ protocol: 'TCP', port: 443 }] }, 'extraEgress')

  const inline = render(CASES[3]?.[1] as RenderOptions)
  const cm = one(inline, 'ConfigMap')
  t.same(JSON.parse(cm.data['jwks.json']).keys[0].crv, 'Ed25519', 'the JWKS document is in the ConfigMap')
  t.equal(policyOf(inline).auth.jwksFile, '/etc/hedge/jwks.json')
  t.ok((container(inline, 'gateway').volumeMounts as Obj[]).some(m => m.name === 'policy' && m.mountPath === '/etc/hedge'),
    'mounted where jwksFile points')
  t.equal(policyOf(inline).listen.adminPort, 18080, 'policy.overrides merged into the policy')
  t.same((pod(inline).volumes as Obj[]).find(v => v.name === 'workspace'),
    { name: 'workspace', persistentVolumeClaim: { claimName: 'agent-work' } })
})

t.test('values that cannot work refuse to render', async t => {
  const IDP = { jwksUrl: 'https://idp.example/jwks', algorithms: ['ES256'] }
  const refusals: Array<[string, Obj, RegExp]> = [
    ['no secret at all', {}, /set auth\.jwtSecret/],
    ['JWKS without algorithms', { auth: { jwks: '{"keys":[]}' } }, /auth\.algorithms is required/],
    ['JWKS URL and inline JWKS', { auth: { ...IDP, jwks: '{"keys":[]}' }, networkPolicy: { allowWebEgress: true } }, /not both/],
    ['JWKS URL with DNS-only egress', { auth: IDP }, /networkPolicy\.extraEgress/],
  ]
  for (const [label, values, reason] of refusals) t.throws(() => renderChart(CHART, { values }), reason, label)
  t.doesNotThrow(() => renderChart(CHART, { values: { auth: IDP, networkPolicy: { enabled: false } } }),
    'JWKS URL without a NetworkPolicy renders')
})

t.test('Pod Security: the gateway meets restricted; the sandbox needs what the docs say', async t => {
  const installs: Array<[string, Obj[]]> = [
    [K8S, manifest],
    ['chart (defaults)', render({ values: { auth: { jwtSecret: SECRET } } })],
    ['chart (appendOnlyStore=false)', render({ values: { auth: { jwtSecret: SECRET }, sandbox: { appendOnlyStore: false } } })],
  ]
  const sandboxCaps = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL', 'SETGID', 'SETUID', 'SETPCAP']
  for (const [label, docs] of installs) {
    const gw = podSecurityViolations(pod(docs), 'gateway')
    t.same(gw.restricted, [], `${label}: gateway meets restricted`)
    const sc = container(docs, 'gateway').securityContext as Obj
    t.equal(sc.readOnlyRootFilesystem, true, `${label}: gateway has a read-only root filesystem`)
    t.equal(sc.seccompProfile?.type, 'RuntimeDefault', `${label}: gateway's own seccompProfile (restricted even if moved to another pod)`)
    const sb = podSecurityViolations(pod(docs), 'sandbox')
    const immutable = (container(docs, 'sandbox').securityContext.capabilities.add as string[]).includes('LINUX_IMMUTABLE')
    t.same(sb.baseline, immutable ? ['capabilities.add LINUX_IMMUTABLE'] : [],
      `${label}: sandbox vs baseline: only LINUX_IMMUTABLE, when the store is append-only`)
    t.same(sb.restricted.filter(v => !v.startsWith('capabilities.add ')), ['runAsNonRoot is not true', 'runAsUser 0'],
      `${label}: sandbox vs restricted: the root start…`)
    t.same(sb.restricted.filter(v => v.startsWith('capabilities.add ')).map(v => v.slice('capabilities.add '.length)).sort(),
      [...sandboxCaps, ...immutable ? ['LINUX_IMMUTABLE'] : []].sort(), `${label}: …and the documented capabilities`)
  }
  // the checker bites: each of these takes the gateway out of restricted
  const base = (): Obj => structuredClone(pod(manifest))
  const breakers: Array<[string, (p: Obj) => void, RegExp]> = [
    ['allowPrivilegeEscalation unset', p => { delete p.containers[1].securityContext.allowPrivilegeEscalation }, /allowPrivilegeEsc/],
    ['runAsNonRoot unset', p => { delete p.containers[1].securityContext.runAsNonRoot }, /runAsNonRoot/],
    ['capabilities not dropped', p => { p.containers[1].securityContext.capabilities = {} }, /drop lacks ALL/],
    ['a capability added', p => { p.containers[1].securityContext.capabilities.add = ['NET_RAW'] }, /add NET_RAW/],
    ['seccomp unconfined', p => { p.containers[1].securityContext.seccompProfile = { type: 'Unconfined' } }, /seccompProfile Unconfined/],
    ['no seccomp anywhere', p => {
      delete p.containers[1].securityContext.seccompProfile
      delete p.securityContext.seccompProfile
    }, /seccompProfile undefined/],
    ['a hostPath volume', p => { p.volumes.push({ name: 'h', hostPath: { path: '/' } }) }, /hostPath/],
    ['host network', p => { p.hostNetwork = true }, /hostNetwork/],
  ]
  for (const [label, mutate, reason] of breakers) {
    const p = base()
    t.equal(p.containers[1].name, 'gateway')
    mutate(p)
    t.match(podSecurityViolations(p, 'gateway').restricted.join(' | '), reason, label)
  }
})

t.test('probes on the gateway\'s admin port, resource requests for both containers', async t => {
  const adminPort = parsePolicy(String(one(manifest, 'ConfigMap').data['policy.yaml']), K8S, {}).listen.adminPort
  const installs: Array<[string, Obj[]]> = [[K8S, manifest], ['chart', render({ values: { auth: { jwtSecret: SECRET } } })]]
  for (const [label, docs] of installs) {
    const gw = container(docs, 'gateway')
    const admin = (gw.ports as Obj[]).find(p => p.name === 'admin')
    t.equal(admin?.containerPort, adminPort, `${label}: the admin port is the policy's (${adminPort})`)
    for (const probe of ['readinessProbe', 'livenessProbe']) {
      t.equal(gw[probe]?.httpGet?.port, 'admin', `${label}: gateway ${probe} on the admin port`)
    }
    t.same([gw.readinessProbe.httpGet.path, gw.livenessProbe.httpGet.path], ['/readyz', '/healthz'], `${label}: /readyz, /healthz`)
    const sandboxProbe = (container(docs, 'sandbox').livenessProbe?.exec?.command ?? []) as string[]
    t.ok(sandboxProbe.join(' ').includes('/run/hedge/kernel.sock'), `${label}: sandbox probed on the kernel socket`)
    for (const c of pod(docs).containers as Obj[]) {
      const req: Obj = c.resources?.requests ?? {}
      t.ok(req.cpu !== undefined && req.memory !== undefined, `${label}: ${String(c.name)} requests cpu and memory`)
      t.ok(c.resources?.limits?.memory !== undefined, `${label}: ${String(c.name)} has a memory limit`)
    }
  }
})

t.test('the renderer: Go semantics for what the chart uses, an error for anything else', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hedge-helm-render-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: demo\nversion: 1.2.3\nappVersion: "4.5"\n')
  writeFileSync(join(dir, 'values.yaml'), 'a: { b: hello, list: [x, y], map: { k: v }, empty: "", n: 3, big: 1000000 }\n')
  mkdirSync(join(dir, 'templates'))
  const tpl = (body: string, values?: Obj): string => {
    writeFileSync(join(dir, 'templates', 't.yaml'), body)
    return renderChart(dir, { releaseName: 'rel', namespace: 'ns', values }).map(r => r.text).join('')
  }
  const rows: Array<[string, string, string | RegExp, Obj?]> = [
    ['fields and release', '{{ .Values.a.b }} {{ .Release.Name }}/{{ .Release.Namespace }} {{ .Chart.Name }}-{{ .Chart.Version }}',
      'hello rel/ns demo-1.2.3'],
    ['trim markers', 'a \n  {{- .Values.a.b -}} \n  z', 'ahelloz'],
    ['no trim without the space', 'a {{ .Values.a.b }} z', 'a hello z'],
    ['missing value prints nothing', '[{{ .Values.nope }}]', '[]'],
    ['if/else on empty string', '{{ if .Values.a.empty }}yes{{ else }}no{{ end }}', 'no'],
    ['with rebinds the dot', '{{ with .Values.a.map }}{{ .k }}{{ end }}', 'v'],
    ['range over a list', '{{ range .Values.a.list }}<{{ . }}>{{ end }}', '<x><y>'],
    ['range over a map: values by sorted key', '{{ range .Values.m }}{{ . }}{{ end }}', '12', { m: { b: 2, a: 1 } }],
    ['dict', '{{ range (dict) }}{{ end }}', /function "dict" not supported/],
    ['variables and $', '{{ $x := .Values.a.b }}{{ with .Values.a.map }}{{ $x }}{{ $.Values.a.n }}{{ end }}', 'hello3'],
    ['quote, default, printf', '{{ .Values.a.nope | default "d" | quote }} {{ printf "%s-%d" .Values.a.b .Values.a.n }}', '"d" hello-3'],
    ['toYaml | nindent', 'k:{{ toYaml .Values.a.map | nindent 2 }}', 'k:\n  k: v'],
    ['toJson sorts keys', '{{ toJson .Values.a }}', '{"b":"hello","big":1000000,"empty":"","list":["x","y"],"map":{"k":"v"},"n":3}'],
    ['define and include', '{{- define "d" }}[{{ . }}]{{ end -}}{{ include "d" .Values.a.b }}', '[hello]'],
    ['trunc and trimSuffix', '{{ "abcdef-" | trunc 6 | trimSuffix "-" }}|{{ "abc-" | trimSuffix "-" }}', 'abcdef|abc'],
    ['required refuses nil', '{{ required "need it" .Values.nope }}', /need it/],
    ['unknown function', '{{ upper .Values.a.b }}', /function "upper" not supported/],
    ['tpl', '{{ tpl .Values.a.b . }}', /function "tpl" not supported/],
    ['else if', '{{ if .Values.a.b }}1{{ else if .Values.a.n }}2{{ end }}', /else if/],
    ['template action', '{{ template "x" . }}', /action "template" not supported/],
    ['field missing on a built-in object', '{{ .Chart.Nmae }}', /can't evaluate field Nmae/],
    ['field of a missing value', '{{ .Values.nope.deeper }}', /nil pointer/],
    ['printing a map', '{{ .Values.a.map }}', /printing .* not supported/],
    ['printing a number Go prints as 1e+06', '{{ .Values.a.big }}', /printing 1000000 .* not supported/],
    ['printf verb', '{{ printf "%v" .Values.a.b }}', /printf %v/],
    ['toYaml of a YAML 1.1 boolean word', '{{ toYaml (list "yes") }}', /YAML 1\.1/],
    ['unclosed if', '{{ if .Values.a.b }}x', /unclosed if/],
    ['range variables', '{{ range $i, $v := .Values.a.list }}{{ end }}', /cannot lex|variables in range|unexpected/],
  ]
  for (const [label, body, want, values] of rows) {
    let got: string
    try { got = tpl(body, values) } catch (err) {
      t.ok(err instanceof HelmRenderError, `${label}: a HelmRenderError`)
      got = (err as Error).message
    }
    if (typeof want === 'string') t.equal(got, want, label)
    else t.match(got, want, label)
  }
  rmSync(join(dir, 'templates', 't.yaml'))
  writeFileSync(join(dir, 'templates', 'NOTES.txt'), 'hi')
  t.throws(() => renderChart(dir), /NOTES\.txt: not supported/, 'unknown template files refused')
})
