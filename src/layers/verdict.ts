// One decision vocabulary for every layer and every front. A check returns a Verdict (or
// null = nothing to object to); `enforce(mode, verdict)` turns it into an outcome by the
// layer's mode; `judge()` is the one place that logs and counts a decision. The fronts
// only act on the outcome: 'deny' → answer with the verdict's code, 'would-deny' and
// 'pass' → carry on (report-only forwards what it would have refused).
import type { ErrorCode } from '../errors/codes.ts'
import { HedgeError } from '../errors/codes.ts'
import type { LayerMode, LayerName } from '../policy/schema.ts'
import type { Logger } from '../logger.ts'
import { countDecision, metrics } from '../metrics.ts'
import { decisions } from '../audit/decisions.ts'
import { audit } from '../audit/trail.ts'

export interface Verdict {
  readonly layer: LayerName
  readonly code: ErrorCode
  /** A stable rule name; may carry a detail after ':' (the detail goes to logs only). */
  readonly rule: string
  readonly message?: string
}

export type Outcome = 'pass' | 'deny' | 'would-deny'

/** Pure: what a verdict means under a layer mode. */
export function enforce (mode: LayerMode, verdict: Verdict | null): Outcome {
  if (verdict === null || mode === 'off') return 'pass'
  return mode === 'enforce' ? 'deny' : 'would-deny'
}

export type Front = 'kernel' | 'cdp' | 'egress' | 'admin'

/** Where a decision is reported: the logger (or a rate-limited writer) and fields naming the request. */
export interface DecisionContext {
  readonly front: Front
  readonly log: Logger | ((level: 'warn' | 'info', entry: Record<string, unknown>, msg: string) => void)
  readonly fields?: Record<string, unknown>
}

/** enforce() + the one log line and counter of a refusal or would-refusal. Passes are not logged here. */
export function judge (mode: LayerMode, verdict: Verdict | null, ctx: DecisionContext): Outcome {
  const outcome = enforce(mode, verdict)
  if (outcome === 'pass' || verdict === null) return outcome
  metrics.inc('hedge_denials_total', { layer: verdict.layer, rule: verdict.rule, mode })
  countDecision(ctx.front, verdict.layer, verdict.rule, outcome === 'deny' ? 'denied' : 'would_deny')
  const entry = { event: outcome === 'deny' ? 'deny' : 'would-deny', front: ctx.front, layer: verdict.layer, rule: verdict.rule, code: verdict.code, ...ctx.fields }
  const msg = outcome === 'deny' ? `denied by ${verdict.rule}` : `would deny by ${verdict.rule} (report-only)`
  const level = outcome === 'deny' ? 'warn' : 'info'
  const f = ctx.fields ?? {}
  const what = [f.method, f.url ?? f.target].filter(x => typeof x === 'string').join(' ')
  audit.record(outcome === 'deny' ? 'deny' : 'would-deny', { front: ctx.front, layer: verdict.layer, rule: verdict.rule, code: verdict.code, ...f })
  decisions.publish({
    time: new Date().toISOString(), front: ctx.front, layer: verdict.layer, rule: verdict.rule, decision: outcome === 'deny' ? 'denied' : 'would-deny',
    ...(typeof f.subject === 'string' ? { principal: f.subject } : {}), ...(what !== '' ? { what } : {}),
  })
  if (typeof ctx.log === 'function') ctx.log(level, entry, msg)
  else ctx.log[level](entry, msg)
  return outcome
}

/** For request/response fronts: a 'deny' becomes the HedgeError the error renderer answers with. */
export function judgeOrThrow (mode: LayerMode, verdict: Verdict | null, ctx: DecisionContext): Outcome {
  const outcome = judge(mode, verdict, ctx)
  if (outcome === 'deny' && verdict !== null) throw new HedgeError(verdict.code, verdict.message, verdict.rule)
  return outcome
}
