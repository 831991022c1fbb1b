import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parse, str, helpText, UsageError, type FlagSpecs } from './args.ts'
import { loadPolicy } from '../policy/load.ts'
import { LAYERS, type LayerName } from '../policy/schema.ts'
import { createLogger } from '../logger.ts'
import { runComparison, type Suite } from '../compare/runner.ts'
import { withFixtures, onlyLayer, attachDeployment, type DeploymentSpec } from '../compare/deployments.ts'
import { parseReadyLine, type ReadReadyLine } from '../app/ready-line.ts'
import { ATTACKS, attackCleanups } from '../compare/attacks/index.ts'
import { WORKFLOWS } from '../compare/workflows/index.ts'
import { renderMarkdown } from '../compare/report/markdown.ts'
import { renderHtml } from '../compare/report/html.ts'
import { renderSummary } from '../compare/report/terminal.ts'
import { validateReport } from '../compare/report/model.ts'
import { parseDuration } from './duration.ts'
import type { Command } from './args.ts'

const FLAGS: FlagSpecs = {
  deployments: { type: 'string', help: 'comma-separated policy names or files, each run as one deployment ("" with --attach: none)', default: 'baseline,hedged' },
  attach: { type: 'string', multiple: true, help: 'measure an already-running stack: a file holding the "ready {json}" line hedge up printed (repeatable; same machine: oracles use its sandbox)' },
  'fixture-ports': { type: 'string', help: 'SITE,EVIL fixed ports for the stand-in web sites (an attached gateway\'s policy must allow them)', default: '0,0 (chosen by the OS)' },
  layers: { type: 'string', help: `ablation: add one deployment per layer with only that layer on (${LAYERS.join(', ')}, or "all")` },
  'ablation-base': { type: 'string', help: 'policy the single-layer deployments are cut from', default: 'hedged' },
  hardened: { type: 'string', help: 'deployments that must stop every attack (default: those whose layers all enforce)' },
  suites: { type: 'string', help: 'attacks, workflows, overhead', default: 'attacks,workflows,overhead' },
  only: { type: 'string', help: 'run only attacks/workflows whose id contains one of these comma-separated words' },
  duration: { type: 'string', help: 'overhead: measuring time per target and round (e.g. 2s, 500ms)', default: '2s' },
  concurrency: { type: 'string', help: 'overhead: comma-separated requests in flight', default: '1,16' },
  out: { type: 'string', help: 'directory for report.json, report.md and report.html', default: 'reports/compare-<timestamp>' },
}
const HELP = helpText('hedge compare [--deployments baseline,hedged,…] [--layers auth,egress,…|all] [--out DIR]',
  'The A/B comparison: start each deployment locally (loopback only), run the attack catalogue (oracles judge\n' +
  'real harm), the legitimate agent workflows and the overhead measurement against each, then write\n' +
  'report.json, report.md and a self-contained report.html. Exit status 1 when a hardened deployment lets an\n' +
  'attack through or a workflow its policy allows fails.', FLAGS)

export const command: Command = {
  async run (argv) {
    if (argv.includes('--help')) { process.stdout.write(HELP); return 0 }
    const p = parse(argv, FLAGS)
    const hardenedArg = str(p, 'hardened')
    const hardened = (name: string, allEnforce: boolean): boolean => hardenedArg === undefined ? allEnforce : hardenedArg.split(',').includes(name)
    const attachFiles = (p.values.attach as string[] | undefined) ?? []
    const depArg = p.values.deployments
    const names = (typeof depArg === 'string' ? depArg : attachFiles.length > 0 ? '' : 'baseline,hedged').split(',').map(s => s.trim()).filter(Boolean)
    const attached = await Promise.all(attachFiles.map(async (f, i) => {
      const text = await readFile(f, 'utf8').catch(() => { throw new UsageError(`--attach: cannot read ${f}`) })
      let ready: ReadReadyLine
      try { ready = parseReadyLine(text) } catch (err) { throw new UsageError(`--attach: ${f}: ${(err as Error).message}`) }
      const pol = loadPolicy(ready.policyFile ?? ready.policy ?? 'baseline')
      const name = `attached-${i + 1}-${pol.name}`
      const isHardened = hardened(name, LAYERS.every(l => pol.layers[l] === 'enforce'))
      return { name, policy: pol, hardened: isHardened, attached: await attachDeployment(name, ready, pol, isHardened) }
    }))
    const fp = (str(p, 'fixture-ports') ?? '0,0').split(',').map(s => Number(s.trim()))
    if (fp.length !== 2 || fp.some(n => !Number.isInteger(n) || n < 0 || n > 65535)) throw new UsageError('--fixture-ports: SITE,EVIL port numbers (0 = chosen by the OS)')
    const policies = names.map(n => loadPolicy(n))
    const layerArg = str(p, 'layers')
    const layers: LayerName[] = layerArg === undefined ? [] : layerArg === 'all' ? [...LAYERS] : layerArg.split(',').map(s => s.trim()) as LayerName[]
    for (const l of layers) if (!(LAYERS as readonly string[]).includes(l)) throw new UsageError(`--layers: unknown layer "${l}" (one of: ${LAYERS.join(', ')}, all)`)
    const base = loadPolicy(str(p, 'ablation-base') ?? 'hedged')
    const suites = new Set((str(p, 'suites') ?? 'attacks,workflows,overhead').split(',').map(s => s.trim()))
    for (const s of suites) if (!['attacks', 'workflows', 'overhead'].includes(s)) throw new UsageError(`--suites: unknown suite "${s}"`)
    let durationMs: number
    try { durationMs = parseDuration(str(p, 'duration') ?? '2s') } catch (err) { throw new UsageError(`--duration: ${(err as Error).message}`) }
    const concurrency = (str(p, 'concurrency') ?? '1,16').split(',').map(s => Number(s.trim()))
    if (concurrency.some(c => !Number.isInteger(c) || c < 1 || c > 256)) throw new UsageError('--concurrency: whole numbers from 1 to 256')
    const only = str(p, 'only')?.split(',').map(s => s.trim()).filter(Boolean)
    const pick = <T extends { id: string }>(xs: readonly T[]): T[] => only === undefined ? [...xs] : xs.filter(x => only.some(w => x.id.includes(w)))
    const out = resolve(str(p, 'out') ?? join('reports', `compare-${new Date().toISOString().replace(/[:.]/g, '-')}`))

    const logger = createLogger({ level: process.env.HEDGE_LOG_LEVEL ?? 'error' }, process.stderr)
    const report = await runComparison({
      deployments: fx => {
        const specs: DeploymentSpec[] = policies.map(pol => ({ name: pol.name, policy: withFixtures(pol, fx), hardened: hardened(pol.name, LAYERS.every(l => pol.layers[l] === 'enforce')) }))
        for (const l of layers) { const s = onlyLayer(base, l); specs.push({ ...s, policy: withFixtures(s.policy, fx), hardened: hardened(s.name, false) }) }
        return [...specs, ...attached]
      },
      fixturePorts: { site: fp[0] as number, evil: fp[1] as number },
      attacks: pick(ATTACKS),
      workflows: pick(WORKFLOWS),
      suites: suites as Set<Suite>,
      overhead: { durationMs, concurrency },
      logger,
      progress: line => { process.stderr.write(line + '\n') },
      cleanups: attackCleanups,
    })
    const problems = validateReport(report)
    if (problems.length > 0) report.verdict.problems.push(...problems.map(x => `report schema: ${x}`))
    await mkdir(out, { recursive: true })
    await writeFile(join(out, 'report.json'), JSON.stringify(report, null, 2) + '\n')
    await writeFile(join(out, 'report.md'), renderMarkdown(report))
    await writeFile(join(out, 'report.html'), renderHtml(report))
    process.stdout.write(renderSummary(report) + `\nreports: ${join(out, 'report.{json,md,html}')}\n`)
    return report.verdict.ok && problems.length === 0 ? 0 : 1
  },
}
