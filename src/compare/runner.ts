// Run the comparison: for each deployment in turn (2 cores: one stack at a time), start
// it, run every attack, every workflow and the overhead measurement, stop it. Then the
// ablation (which single layer stops which attack) and the verdict CI acts on.
import type { Logger } from '../logger.ts'
import type { Attack, Fixtures, Workflow } from './types.ts'
import { startDeployment, type DeploymentSpec } from './deployments.ts'
import { createOracle } from './oracle.ts'
import { startFixtures } from './fixtures.ts'
import { measureOverhead } from './overhead.ts'
import { deriveAblation, deriveVerdict, deploymentInfo, machineInfo, type Report } from './report/model.ts'
import { bounded } from '../util/bounded.ts'

export type Suite = 'attacks' | 'workflows' | 'overhead'

export interface CompareOptions {
  /** Deployment specs, built once the fixtures exist (their policies open the fixture sites). */
  deployments: (fx: Fixtures) => DeploymentSpec[]
  /** Fixed fixture ports (0 = chosen by the OS), for attached deployments whose policy must allow them. */
  fixturePorts?: { site?: number, evil?: number }
  attacks: readonly Attack[]
  workflows: readonly Workflow[]
  suites: ReadonlySet<Suite>
  overhead: { durationMs: number, concurrency: number[] }
  attackTimeoutMs?: number
  workflowTimeoutMs?: number
  logger: Logger
  progress: (line: string) => void
  /** Things the suites started lazily and the runner must stop at the end (e.g. the victim browser). */
  cleanups?: Array<() => Promise<void>>
}

export async function runComparison (o: CompareOptions): Promise<Report> {
  const fx = await startFixtures(o.fixturePorts)
  const specs = o.deployments(fx)
  const report: Report = {
    schema: 'hedge-compare/1',
    generatedAt: new Date().toISOString(),
    machine: machineInfo(),
    options: {
      deployments: specs.map(s => s.name),
      suites: [...o.suites],
      overheadDurationMs: o.overhead.durationMs,
      concurrency: o.overhead.concurrency,
    },
    deployments: [],
    attacks: o.attacks.map(a => ({
      id: a.id, category: a.category, description: a.description, attacker: a.attacker, stoppedBy: [...a.stoppedBy], results: {},
    })),
    workflows: o.workflows.map(w => ({ id: w.id, description: w.description, client: w.client, results: {} })),
    overhead: [],
    ablation: [],
    verdict: { ok: true, problems: [] },
  }
  try {
    for (const spec of specs) {
      o.progress(`▶ ${spec.name}: starting`)
      const d = spec.attached ?? await startDeployment(spec, fx, o.logger)
      try {
        report.deployments.push(deploymentInfo(d))
        const oracle = createOracle(d)
        const log = (msg: string): void => { o.progress(`  ${d.name}: ${msg}`) }
        if (o.suites.has('attacks')) {
          for (const [i, a] of o.attacks.entries()) {
            const t0 = performance.now()
            let harm = false
            let evidence: string
            let error: string | undefined
            try {
              const r = await bounded(a.id, a.run({ d, oracle, fixtures: fx, log }), o.attackTimeoutMs ?? 90_000)
              harm = r.harm
              evidence = r.evidence
            } catch (err) {
              // An attack that could not be carried out proves nothing: inconclusive, never "stopped".
              error = (err as Error).message.split('\n')[0] ?? 'error'
              evidence = `attack could not be carried out: ${error}`
            }
            const ms = Math.round(performance.now() - t0)
            ;(report.attacks[i] as Report['attacks'][number]).results[d.name] = { harm, evidence, ms, ...(error !== undefined ? { error } : {}) }
            o.progress(`  ${d.name}: ${harm ? '✗ HARM   ' : error !== undefined ? '⚠ error  ' : '✓ stopped'} ${a.id} (${ms} ms)`)
          }
        }
        if (o.suites.has('workflows')) {
          for (const [i, w] of o.workflows.entries()) {
            const allowed = w.allowedBy(d)
            const t0 = performance.now()
            let ok = true
            let reason: string | undefined
            try { await bounded(w.id, w.run({ d, oracle, fixtures: fx, log }), o.workflowTimeoutMs ?? 120_000) } catch (err) { ok = false; reason = (err as Error).message.split('\n')[0] }
            const ms = Math.round(performance.now() - t0)
            ;(report.workflows[i] as Report['workflows'][number]).results[d.name] = { allowed, ok, ...(reason !== undefined ? { reason } : {}), ms }
            o.progress(`  ${d.name}: ${ok ? '✓ works ' : allowed ? '✗ BROKEN' : '· refused'} ${w.id}${reason !== undefined ? ` — ${reason.slice(0, 100)}` : ''} (${ms} ms)`)
          }
        }
        if (o.suites.has('overhead')) {
          o.progress(`  ${d.name}: measuring overhead`)
          try { report.overhead.push(...await measureOverhead(d, o.overhead)) } catch (err) { report.verdict.problems.push(`${d.name}: overhead measurement failed: ${(err as Error).message}`) }
        }
      } finally {
        await d.stop()
      }
    }
  } finally {
    for (const c of o.cleanups ?? []) await c().catch(() => {})
    await fx.close()
  }
  finish(report)
  return report
}

/** Ablation and verdict, from the results alone (pure; the model's helpers are unit-tested). */
export function finish (report: Report): void {
  report.ablation = deriveAblation(report.attacks, report.deployments)
  const v = deriveVerdict(report.deployments, report.attacks, report.workflows)
  report.verdict = { ok: v.ok && report.verdict.problems.length === 0, problems: [...report.verdict.problems, ...v.problems] }
}
