// Prometheus metrics through prom-client (one registry of our own, never the global one).
// Label values come only from closed sets: a rule label is the rule's *id* (the part before
// any ':' detail, e.g. `url.scheme` for `url.scheme:x0`), and at most MAX_RULE_IDS distinct
// ids are ever labelled (anything beyond is `other`), so no client can mint series. The
// offending value (the scheme, the port, the method) goes to the log line, never a label.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export const register = new Registry()
collectDefaultMetrics({ register })

const MAX_RULE_IDS = 150
const RULE_ID = /^[a-z][a-zA-Z0-9-]*(\.[a-zA-Z0-9-]+){0,4}$/
const seenRules = new Set<string>()

/** The closed-set label for a rule name: its id, or `other` when malformed or over the cap. */
export function ruleId (rule: string): string {
  const id = rule.split(/[:(\s]/, 1)[0] ?? ''
  if (!RULE_ID.test(id) || id.length > 48) return 'other'
  if (seenRules.has(id)) return id
  if (seenRules.size >= MAX_RULE_IDS) return 'other'
  seenRules.add(id)
  return id
}

const FRONTS = new Set(['kernel', 'cdp', 'egress', 'admin'])
const closed = (v: string, set: ReadonlySet<string>): string => set.has(v) ? v : 'other'
const LAYERS = new Set(['host', 'origin', 'auth', 'routes', 'body', 'cdp-filter', 'egress', 'listener'])
const MODES = new Set(['off', 'report-only', 'enforce'])
const LISTENERS = new Set(['kernel', 'cdp', 'egress', 'admin'])

const decisions = new Counter({
  name: 'hedge_decisions_total',
  help: 'Decisions by front, layer, rule id and outcome (allowed, denied, would_deny).',
  labelNames: ['front', 'layer', 'rule', 'outcome'] as const,
  registers: [register],
})
const denials = new Counter({
  name: 'hedge_denials_total',
  help: 'Refusals and report-only would-be refusals by layer, rule id and layer mode.',
  labelNames: ['layer', 'rule', 'mode'] as const,
  registers: [register],
})
const connectionsRefused = new Counter({
  name: 'hedge_connections_refused_total',
  help: 'Connections refused by a listener guard (caps, per-source limits), by listener and rule id.',
  labelNames: ['listener', 'rule'] as const,
  registers: [register],
})
const connectionsClosed = new Counter({
  name: 'hedge_connections_closed_total',
  help: 'Connections closed by a listener guard (timeouts), by listener and rule id.',
  labelNames: ['listener', 'rule'] as const,
  registers: [register],
})
const redactions = new Counter({
  name: 'hedge_cdp_redactions_total',
  help: 'CDP events whose cookies were stripped (or would have been, in report-only).',
  labelNames: ['rule', 'mode'] as const,
  registers: [register],
})
export const addedLatency = new Histogram({
  name: 'hedge_gateway_added_seconds',
  help: 'Time the gateway itself spends on a request or CDP command, upstream time excluded.',
  labelNames: ['front'] as const,
  buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
  registers: [register],
})
export const upstreamLatency = new Histogram({
  name: 'hedge_upstream_seconds',
  help: 'Upstream time: kernel request, CDP command round trip, egress connect.',
  labelNames: ['front'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30],
  registers: [register],
})
const buildInfo = new Gauge({
  name: 'hedge_build_info',
  help: 'Always 1; labels name the build.',
  labelNames: ['version', 'node'] as const,
  registers: [register],
})
const policyInfo = new Gauge({
  name: 'hedge_policy_info',
  help: 'Always 1 for the policy in force; labels name it and the SHA-256 of its canonical form.',
  labelNames: ['policy', 'sha256'] as const,
  registers: [register],
})

export type Outcome = 'allowed' | 'denied' | 'would_deny'

export function countDecision (front: string, layer: string, rule: string, outcome: Outcome): void {
  decisions.inc({ front: closed(front, FRONTS), layer: closed(layer, LAYERS), rule: ruleId(rule), outcome })
}

type CounterName = 'hedge_denials_total' | 'hedge_connections_refused_total' | 'hedge_connections_closed_total' | 'hedge_cdp_redactions_total'

/** Increment one of the declared counters; labels are reduced to their closed sets. */
function inc (name: CounterName, labels: Record<string, string>): void {
  const rule = ruleId(labels.rule ?? '')
  switch (name) {
    case 'hedge_denials_total':
      denials.inc({ layer: closed(labels.layer ?? '', LAYERS), rule, mode: closed(labels.mode ?? '', MODES) }); return
    case 'hedge_connections_refused_total':
      connectionsRefused.inc({ listener: closed(labels.listener ?? '', LISTENERS), rule }); return
    case 'hedge_connections_closed_total':
      connectionsClosed.inc({ listener: closed(labels.listener ?? '', LISTENERS), rule }); return
    case 'hedge_cdp_redactions_total':
      redactions.inc({ rule, mode: closed(labels.mode ?? '', MODES) })
  }
}

/** Gauges whose value is read at scrape time (open connections, tunnels, tickets, caches). */
export function liveGauge (name: string, help: string, read: () => number): void {
  if (register.getSingleMetric(name) !== undefined) register.removeSingleMetric(name)
  const g = new Gauge({ name, help, registers: [register], collect () { g.set(read()) } })
}

export function setPolicyInfo (policy: string, sha256: string): void {
  policyInfo.reset()
  policyInfo.set({ policy, sha256 }, 1)
}

buildInfo.set({ version: process.env.npm_package_version ?? '0.1.0', node: process.version }, 1)

/** The facade the code calls (kept small on purpose). */
export const metrics = {
  inc,
  /** The Prometheus text exposition. */
  render: async (): Promise<string> => await register.metrics(),
  contentType: register.contentType,
  /** Number of series currently exported (for the cardinality test and reports). */
  seriesCount: async (): Promise<number> => (await register.getMetricsAsJSON()).reduce((n, m) => n + ((m as { values?: unknown[] }).values?.length ?? 0), 0),
}
