// The comparison report (`schema: 'hedge-compare/1'`): TypeScript types, the JSON Schema
// they come from (TypeBox, validated with ajv), and the documentation of every field
// (docs/report-schema.md is schema-docs.ts's output; a unit test keeps it in sync).
//
// Conventions that hold everywhere in the report:
//   - `results` maps a deployment name (one of `deployments[].name`) to that deployment's outcome;
//     a deployment an attack or workflow was not run against simply has no entry.
//   - Overhead ratios are "fraction of direct": 1.00 = as fast as talking to the upstream
//     directly, 0.50 = half as fast (latency twice as long / half the throughput). Higher is better.
//   - Durations are milliseconds.
import { cpus, loadavg } from 'node:os'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Ajv, type ErrorObject } from 'ajv'
import { LAYERS, MODES, type LayerName } from '../../policy/schema.ts'
import { TOPOLOGIES, type Topology } from '../../app/topology.ts'
export { TOPOLOGIES, type Topology }
import type { Attack, Workflow, Deployment } from '../types.ts'

export const REPORT_SCHEMA_ID = 'hedge-compare/1'

export const ATTACK_CATEGORIES = [
  'kernel-control', 'kernel-key', 'cross-origin', 'dns-rebinding', 'path-tricks', 'jwt',
  'cdp', 'cdp-evasion', 'browser-pivot', 'paths', 'side-effects', 'exhaustion',
] as const
export const ATTACKERS = ['network', 'web-page', 'rogue-agent', 'page-js'] as const
export const WORKFLOW_CLIENTS = ['kernel', 'playwright', 'puppeteer', 'cdp'] as const
export const OVERHEAD_TARGETS = ['kernel-http', 'cdp-roundtrip'] as const
export type OverheadTarget = typeof OVERHEAD_TARGETS[number]

// Compile-time guards: these lists must stay equal to the harness's own vocabulary.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const sameCategories: Same<typeof ATTACK_CATEGORIES[number], Attack['category']> = true
const sameAttackers: Same<typeof ATTACKERS[number], Attack['attacker']> = true
const sameClients: Same<typeof WORKFLOW_CLIENTS[number], Workflow['client']> = true
void sameCategories; void sameAttackers; void sameClients

const d = (description: string): { description: string } => ({ description })
const lit = <T extends string>(xs: readonly T[], description: string): TSchema => Type.Union(xs.map(x => Type.Literal(x)), d(description))
const Ms = (description: string): TSchema => Type.Number({ minimum: 0, ...d(description) })
const byDeployment = (item: TSchema, description: string): TSchema => Type.Record(Type.String({ minLength: 1 }), item, d(description))

const Layer = lit(LAYERS, 'A protection layer.')
const Mode = lit(MODES, 'How a layer runs: enforce, report-only or off.')

export const MachineSchema = Type.Object({
  node: Type.String(d('Node.js version (`process.version`).')),
  platform: Type.String(d('Platform and architecture, e.g. `linux-x64`.')),
  cpus: Type.Integer({ minimum: 1, ...d('Logical CPUs (the machine may be shared: read overheads as ratios).') }),
  loadavg: Type.Array(Type.Number({ minimum: 0 }), { minItems: 3, maxItems: 3, ...d('1, 5 and 15 minute load averages when the run started.') }),
}, { additionalProperties: false, title: 'Machine', ...d('Where the run happened.') })

export const SUITES = ['attacks', 'workflows', 'overhead'] as const
export type Suite = typeof SUITES[number]

export const OptionsSchema = Type.Object({
  deployments: Type.Array(Type.String({ minLength: 1 }), d('Deployment names requested, in report order.')),
  suites: Type.Array(lit(SUITES, 'A suite.'), { uniqueItems: true, ...d('Suites run: `attacks`, `workflows`, `overhead`.') }),
  overheadDurationMs: Type.Integer({ minimum: 1, ...d('Overhead: measuring time per row (split over interleaved rounds, half direct, half via).') }),
  concurrency: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, ...d('Overhead: requests in flight for each row.') }),
  only: Type.Optional(Type.Array(Type.String({ minLength: 1 }), d('Only attacks and workflows whose id contains one of these words were run.'))),
}, { additionalProperties: false, title: 'Options', ...d('How the run was asked for.') })

export const DeploymentInfoSchema = Type.Object({
  name: Type.String({ minLength: 1, ...d('Deployment name: the key used in every `results` map.') }),
  hardened: Type.Boolean(d('Any harm against it fails the run.')),
  policy: Type.String({ minLength: 1, ...d('Name of the policy it runs.') }),
  layers: Type.Object(Object.fromEntries(LAYERS.map(l => [l, Mode])), { additionalProperties: false, title: 'Layers', ...d('Mode of every layer.') }),
  topology: lit(TOPOLOGIES, '`documented`: the sandbox alone (8888/9223 reachable); `gateway`: gateway in front, kernel still on loopback TCP; ' +
    '`hedged`: gateway + kernel on a unix socket + Chromium through the egress guard.'),
}, { additionalProperties: false, title: 'Deployment', ...d('One running stack the suite was run against.') })

export const AttackResultSchema = Type.Object({
  harm: Type.Boolean(d('Real harm happened, as judged by the oracle (not by a status code).')),
  evidence: Type.String(d('One line: what the oracle saw, or what stopped the attack. Untrusted text (may contain anything).')),
  ms: Ms('Time the attack took.'),
  error: Type.Optional(Type.String(d('The attack could not be carried out (harness failure): the outcome is inconclusive.'))),
}, { additionalProperties: false, title: 'AttackResult', ...d('One attack against one deployment.') })

export const AttackSchema = Type.Object({
  id: Type.String({ minLength: 1, ...d('Stable attack id.') }),
  category: lit(ATTACK_CATEGORIES, 'What kind of attack.'),
  description: Type.String(d('What the attack tries.')),
  attacker: lit(ATTACKERS, 'Who attacks: anyone on the network, a web page in a browser, a rogue agent holding a token, or JavaScript in the sandbox\'s own browser.'),
  stoppedBy: Type.Array(Layer, d('Layers expected to stop it.')),
  results: byDeployment(AttackResultSchema, 'deployment name → AttackResult.'),
}, { additionalProperties: false, title: 'Attack', ...d('One attack and its outcome on each deployment.') })

export const WorkflowResultSchema = Type.Object({
  allowed: Type.Boolean(d('The deployment\'s policy means to allow this workflow (a failure then breaks the run).')),
  ok: Type.Boolean(d('The workflow completed.')),
  reason: Type.Optional(Type.String(d('Why it failed (or was not run). Untrusted text.'))),
  ms: Ms('Time the workflow took.'),
}, { additionalProperties: false, title: 'WorkflowResult', ...d('One workflow on one deployment.') })

export const WorkflowSchema = Type.Object({
  id: Type.String({ minLength: 1, ...d('Stable workflow id.') }),
  description: Type.String(d('What a legitimate client does.')),
  client: lit(WORKFLOW_CLIENTS, 'The client that does it.'),
  results: byDeployment(WorkflowResultSchema, 'deployment name → WorkflowResult.'),
}, { additionalProperties: false, title: 'Workflow', ...d('One legitimate workflow and whether it still works on each deployment.') })

export const LatencyStatsSchema = Type.Object({
  p50Ms: Ms('Median latency (median over rounds of each round\'s median).'),
  p99Ms: Ms('99th percentile latency (median over rounds).'),
  perSecond: Type.Number({ minimum: 0, ...d('Successful requests per second (median over rounds).') }),
  n: Type.Integer({ minimum: 0, ...d('Successful requests measured, all rounds.') }),
  errors: Type.Integer({ minimum: 0, ...d('Failed requests (non-2xx, CDP error answers, timeouts), all rounds; not in the latencies.') }),
}, { additionalProperties: false, title: 'LatencyStats', ...d('Timings of one path.') })

export const OverheadRowSchema = Type.Object({
  deployment: Type.String({ minLength: 1, ...d('Deployment measured.') }),
  target: lit(OVERHEAD_TARGETS, '`kernel-http`: GET /health on the kernel API; `cdp-roundtrip`: `Browser.getVersion` over a DevTools WebSocket.'),
  concurrency: Type.Integer({ minimum: 1, ...d('Requests in flight (HTTP: keep-alive connections; CDP: messages in flight on one WebSocket).') }),
  rounds: Type.Integer({ minimum: 1, ...d('Interleaved rounds (each: a direct run and a via run back to back, order alternating).') }),
  direct: LatencyStatsSchema,
  via: LatencyStatsSchema,
  ratio: Type.Object({
    p50: Type.Number({ minimum: 0, ...d('direct p50 / via p50 (median of per-round ratios).') }),
    p99: Type.Number({ minimum: 0, ...d('direct p99 / via p99 (median of per-round ratios).') }),
    throughput: Type.Number({ minimum: 0, ...d('via per second / direct per second (median of per-round ratios).') }),
  }, { additionalProperties: false, title: 'Ratio', ...d('Fraction of direct performance: 1.00 = as fast as direct, higher is better.') }),
  note: Type.Optional(Type.String(d('Anything that qualifies the numbers (e.g. rate-limited answers).'))),
}, {
  additionalProperties: false,
  title: 'OverheadRow',
  ...d('Cost of one deployment\'s front for one target and concurrency. `direct` talks to the upstream itself (the kernel server, Chromium); ' +
    '`via` goes through what the network reaches (`endpoints`). A measurement, never an assertion.'),
})

export const AblationRowSchema = Type.Object({
  attack: Type.String({ minLength: 1, ...d('Attack id.') }),
  stoppedByLayers: Type.Array(Layer, d('Layers whose single-layer deployment (`only-<layer>`) stopped it.')),
  redundant: Type.Boolean(d('Two or more layers stop it on their own (defence in depth).')),
}, { additionalProperties: false, title: 'AblationRow', ...d('Which single layer stops which attack (compare with the attack\'s `stoppedBy`).') })

export const VerdictSchema = Type.Object({
  ok: Type.Boolean(d('No problem found: no harm on a hardened deployment, every allowed workflow passed.')),
  problems: Type.Array(Type.String(), d('One line per problem.')),
}, { additionalProperties: false, title: 'Verdict', ...d('The run\'s outcome.') })

export const ReportSchema = Type.Object({
  schema: Type.Literal(REPORT_SCHEMA_ID, d('Format identifier; bumped on any incompatible change.')),
  generatedAt: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$', ...d('ISO 8601 UTC time the report was written.') }),
  machine: MachineSchema,
  options: OptionsSchema,
  deployments: Type.Array(DeploymentInfoSchema, d('Deployments, in column order.')),
  attacks: Type.Array(AttackSchema, d('Attacks, in catalogue order.')),
  workflows: Type.Array(WorkflowSchema, d('Legitimate workflows.')),
  overhead: Type.Array(OverheadRowSchema, d('Overhead measurements (empty when not measured).')),
  ablation: Type.Array(AblationRowSchema, d('Single-layer ablation (empty without `only-*` deployments).')),
  verdict: VerdictSchema,
}, { additionalProperties: false, title: 'Report', ...d('A `hedge compare` run.') })

// Types written out (rather than Static<>) so they read well in editors; the test and the
// `satisfies` checks below tie them to the schema.
export type LayerModes = Record<LayerName, typeof MODES[number]>
export interface Machine { node: string, platform: string, cpus: number, loadavg: number[] }
export interface ReportOptions {
  deployments: string[]
  suites: Suite[]
  overheadDurationMs: number
  concurrency: number[]
  only?: string[]
}
export interface DeploymentInfo { name: string, hardened: boolean, policy: string, layers: LayerModes, topology: Topology }
export interface AttackResult { harm: boolean, evidence: string, ms: number, error?: string }
export interface AttackRow { id: string, category: Attack['category'], description: string, attacker: Attack['attacker'], stoppedBy: LayerName[], results: Record<string, AttackResult> }
export interface WorkflowResult { allowed: boolean, ok: boolean, reason?: string, ms: number }
export interface WorkflowRow { id: string, description: string, client: Workflow['client'], results: Record<string, WorkflowResult> }
export interface LatencyStats { p50Ms: number, p99Ms: number, perSecond: number, n: number, errors: number }
export interface OverheadRow {
  deployment: string
  target: OverheadTarget
  concurrency: number
  rounds: number
  direct: LatencyStats
  via: LatencyStats
  ratio: { p50: number, p99: number, throughput: number }
  note?: string
}
export interface AblationRow { attack: string, stoppedByLayers: LayerName[], redundant: boolean }
export interface Verdict { ok: boolean, problems: string[] }
export interface Report {
  schema: typeof REPORT_SCHEMA_ID
  generatedAt: string
  machine: Machine
  options: ReportOptions
  deployments: DeploymentInfo[]
  attacks: AttackRow[]
  workflows: WorkflowRow[]
  overhead: OverheadRow[]
  ablation: AblationRow[]
  verdict: Verdict
}

// Both directions assignable, shallowly: a field added on one side only fails to compile.
type Keys<T> = keyof T
const sameReportKeys: Same<Keys<Report>, Keys<Static<typeof ReportSchema>>> = true
const sameRowKeys: Same<Keys<OverheadRow>, Keys<Static<typeof OverheadRowSchema>>> = true
const sameOptionKeys: Same<Keys<ReportOptions>, Keys<Static<typeof OptionsSchema>>> = true
const sameAttackKeys: Same<Keys<AttackRow>, Keys<Static<typeof AttackSchema>>> = true
void sameReportKeys; void sameRowKeys; void sameOptionKeys; void sameAttackKeys

// ---------------------------------------------------------------------------
// Validation

const ajv = new Ajv({ allErrors: true, strict: false })
const validateSchema = ajv.compile(ReportSchema)

function errorLine (e: ErrorObject): string {
  const at = e.instancePath === '' ? '' : e.instancePath
  if (e.keyword === 'required') return `${at}/${String((e.params as { missingProperty: string }).missingProperty)}: is required`
  if (e.keyword === 'additionalProperties') return `${at}/${String((e.params as { additionalProperty: string }).additionalProperty)}: is not a known field`
  if (e.keyword === 'const') return `${at || '/'}: must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`
  return `${at || '/'}: ${e.message ?? 'invalid'}`
}

/** Problems with `r` as a report, each starting with its JSON pointer; [] when valid. */
export function validateReport (r: unknown): string[] {
  if (!validateSchema(r)) {
    // Unions report every branch; keep the most specific lines (drop the generic "must match a schema in anyOf").
    const errs = (validateSchema.errors ?? []).filter(e => e.keyword !== 'anyOf')
    return [...new Set((errs.length > 0 ? errs : validateSchema.errors ?? []).map(errorLine))]
  }
  const rep = r as Report
  const out: string[] = []
  const names = new Set<string>()
  rep.deployments.forEach((dep, i) => { if (names.has(dep.name)) out.push(`/deployments/${i}/name: duplicate deployment "${dep.name}"`); names.add(dep.name) })
  const checkKeys = (results: Record<string, unknown>, at: string): void => {
    for (const k of Object.keys(results)) if (!names.has(k)) out.push(`${at}/results/${ptr(k)}: no deployment named "${k}"`)
  }
  const ids = new Set<string>()
  rep.attacks.forEach((a, i) => {
    if (ids.has(a.id)) out.push(`/attacks/${i}/id: duplicate attack "${a.id}"`)
    ids.add(a.id)
    checkKeys(a.results, `/attacks/${i}`)
  })
  rep.workflows.forEach((w, i) => { checkKeys(w.results, `/workflows/${i}`) })
  rep.overhead.forEach((o, i) => { if (!names.has(o.deployment)) out.push(`/overhead/${i}/deployment: no deployment named "${o.deployment}"`) })
  rep.ablation.forEach((a, i) => { if (!ids.has(a.attack)) out.push(`/ablation/${i}/attack: no attack named "${a.attack}"`) })
  if (rep.verdict.ok !== (rep.verdict.problems.length === 0)) out.push('/verdict/ok: must be true exactly when problems is empty')
  return out
}

function ptr (k: string): string { return k.replace(/~/g, '~0').replace(/\//g, '~1') }

// ---------------------------------------------------------------------------
// Helpers for whoever assembles a report

export function machineInfo (): Machine {
  const [a = 0, b = 0, c = 0] = loadavg()
  return { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: Math.max(1, cpus().length), loadavg: [a, b, c].map(x => Math.round(x * 100) / 100) }
}

/** The topology the deployment was started in (recorded, never re-derived from its layers). */
export function topologyOf (d: Pick<Deployment, 'topology'>): Topology {
  return d.topology
}

export function deploymentInfo (d: Deployment): DeploymentInfo {
  return { name: d.name, hardened: d.hardened, policy: d.policy.name, layers: { ...d.layers }, topology: topologyOf(d) }
}

/** Stopped = an outcome without harm that was actually carried out (an error is inconclusive). */
export function stopped (r: AttackResult | undefined): boolean { return r !== undefined && !r.harm && r.error === undefined }

/** The ablation table from the `only-<layer>` deployments' results (empty when there are none). */
export function deriveAblation (attacks: readonly AttackRow[], deployments: readonly DeploymentInfo[]): AblationRow[] {
  const single = LAYERS.filter(l => deployments.some(dep => dep.name === `only-${l}`))
  if (single.length === 0) return []
  return attacks.map(a => {
    const by = single.filter(l => stopped(a.results[`only-${l}`]))
    return { attack: a.id, stoppedByLayers: by, redundant: by.length >= 2 }
  })
}

/** The standard verdict: harm or an inconclusive attack on a hardened deployment, an allowed workflow failing. */
export function deriveVerdict (
  deployments: readonly DeploymentInfo[], attacks: readonly AttackRow[], workflows: readonly WorkflowRow[],
): Verdict {
  const problems: string[] = []
  for (const dep of deployments.filter(x => x.hardened)) {
    for (const a of attacks) {
      const r = a.results[dep.name]
      if (r === undefined) continue
      if (r.harm) problems.push(`${dep.name}: attack ${a.id} did harm: ${oneLine(r.evidence)}`)
      else if (r.error !== undefined) problems.push(`${dep.name}: attack ${a.id} was inconclusive: ${oneLine(r.error)}`)
    }
  }
  for (const w of workflows) {
    for (const dep of deployments) {
      const r = w.results[dep.name]
      if (r !== undefined && r.allowed && !r.ok) problems.push(`${dep.name}: workflow ${w.id} failed: ${oneLine(r.reason ?? 'no reason given')}`)
    }
  }
  return { ok: problems.length === 0, problems }
}

/** One line of at most `max` characters, with control and bidi-override characters blanked (untrusted text). */
export function oneLine (s: string, max = 300): string {
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\s]+/g, ' ').trim()
  return t.length > max ? `${t.slice(0, max - 1)}…` : t
}
