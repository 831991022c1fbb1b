// `hedge bench`: what the gateway costs, as ratios against direct connections measured in
// the same run (NOTES.md "Costs measured here"), plus the CPU per message of the CDP
// filter path and per JWT verification. Starts the loopback fixtures and ONE deployment,
// measures, stops everything. Informational: exit status 0 whatever the numbers say.
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pino } from 'pino'
import { parse, str, helpText, UsageError, type FlagSpecs } from './args.ts'
import { parseDuration } from './duration.ts'
import { loadPolicy } from '../policy/load.ts'
import { REDACT_PATHS } from '../logger.ts'
import { startFixtures } from '../compare/fixtures.ts'
import { startDeployment, withFixtures } from '../compare/deployments.ts'
import { measureOverhead } from '../compare/overhead.ts'
import { deploymentInfo, machineInfo, OVERHEAD_TARGETS, type DeploymentInfo, type Machine, type OverheadRow, type OverheadTarget } from '../compare/report/model.ts'
import { formatOverheadTable } from '../compare/report/terminal.ts'
import { compileCdpFilter } from '../cdp/filter.ts'
import { decide } from '../cdp/decide.ts'
import { ConnectionState } from '../cdp/sessions.ts'
import { parseCdpCommand, serialiseCdpCommand } from '../cdp/protocol.ts'
import { createVerifier } from '../auth/jwt.ts'
import { mintToken } from '../auth/mint.ts'
import type { Policy } from '../policy/schema.ts'
import type { Command } from './args.ts'

/** The issue's target for the filtered CDP relay: sequential round trips at ≥ 0.85 of direct throughput. */
export const CDP_RELAY_TARGET = 0.85

const FLAGS: FlagSpecs = {
  policy: { type: 'string', help: 'policy name (policies/NAME.yaml) or file', default: 'hedged' },
  duration: { type: 'string', help: 'measuring time per target and concurrency (e.g. 5s, 800ms)', default: '5s' },
  concurrency: { type: 'string', help: 'comma-separated requests in flight', default: '1,16' },
  targets: { type: 'string', help: `comma-separated: ${OVERHEAD_TARGETS.join(', ')}`, default: OVERHEAD_TARGETS.join(',') },
  rounds: { type: 'string', help: 'interleaved direct/via rounds per row', default: 'one per ~400 ms, 3 to 10' },
  out: { type: 'string', help: 'JSON results file', default: 'hedge-bench-<policy>-<time>.json in the temp dir' },
}
const HELP = helpText('hedge bench [--policy hedged] [--duration 5s] [--concurrency 1,16] [--out FILE]',
  'Start the loopback fixtures and one deployment, then measure what its front costs against talking to the\n' +
  'upstream directly, interleaved in short rounds (medians; the machine is shared): GET /health on the kernel\n' +
  'API, and Browser.getVersion round trips over a DevTools WebSocket. Also the CPU per message of the CDP\n' +
  `filter path and per JWT verification. Prints a table, writes JSON. The target for the filtered CDP relay\n` +
  `is ≥ ${CDP_RELAY_TARGET} of direct on sequential round trips; the output says whether this run meets it (exit 0 either way).`, FLAGS)

export interface CpuRow { readonly what: string, readonly bytes?: number, readonly action?: string, readonly cpuUsPerOp: number, readonly wallUsPerOp: number, readonly ops: number }

export interface BenchResult {
  schema: 'hedge-bench/1'
  generatedAt: string
  machine: Machine
  deployment: DeploymentInfo
  options: { durationMs: number, concurrency: number[], targets: OverheadTarget[], rounds: number | null }
  overhead: OverheadRow[]
  cpu: { cdpFilter: CpuRow[], jwt: CpuRow[] }
  target: { statement: string, goal: number, measured: number | null, met: boolean | null, why?: string }
}

export const command: Command = {
  async run (argv) {
    if (argv.includes('--help')) { process.stdout.write(HELP); return 0 }
    const p = parse(argv, FLAGS)
    const policyName = str(p, 'policy') ?? 'hedged'
    const base = loadPolicy(policyName)
    let durationMs: number
    try { durationMs = parseDuration(str(p, 'duration') ?? '5s') } catch (err) { throw new UsageError(`--duration: ${(err as Error).message}`) }
    const concurrency = (str(p, 'concurrency') ?? '1,16').split(',').map(s => Number(s.trim()))
    if (concurrency.some(c => !Number.isInteger(c) || c < 1 || c > 256)) throw new UsageError('--concurrency: comma-separated whole numbers from 1 to 256')
    const targets = (str(p, 'targets') ?? OVERHEAD_TARGETS.join(',')).split(',').map(s => s.trim())
    for (const t of targets) if (!(OVERHEAD_TARGETS as readonly string[]).includes(t)) throw new UsageError(`--targets: unknown target "${t}" (one of: ${OVERHEAD_TARGETS.join(', ')})`)
    const roundsArg = str(p, 'rounds')
    const rounds = roundsArg === undefined ? null : Number(roundsArg)
    if (rounds !== null && (!Number.isInteger(rounds) || rounds < 1 || rounds > 100)) throw new UsageError('--rounds: a whole number from 1 to 100')
    const out = resolve(str(p, 'out') ?? join(tmpdir(), `hedge-bench-${base.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`))

    const say = (line: string): void => { process.stderr.write(line + '\n') }
    // The gateway logs as in production (info, redacted JSON), to /dev/null: its cost is part of the measurement.
    const logger = pino({ level: process.env.HEDGE_LOG_LEVEL ?? 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, pino.destination({ dest: '/dev/null', sync: false }))
    const machine = machineInfo()
    say(`hedge bench: policy ${base.name}, ${durationMs} ms per row, concurrency ${concurrency.join(',')}; node ${machine.node}, ${machine.cpus} CPUs, load ${machine.loadavg.join(' ')}`)
    const fx = await startFixtures()
    let result: BenchResult
    try {
      say('starting the deployment (kernel server, Chromium, gateway)…')
      const d = await startDeployment({ name: base.name, policy: withFixtures(base, fx), hardened: false }, fx, logger)
      try {
        const overhead = await measureOverhead(d, { durationMs, concurrency, targets: targets as OverheadTarget[], ...(rounds !== null ? { rounds } : {}), progress: l => { say(`  measuring ${l}`) } })
        say('  measuring CPU per CDP message and per JWT verification')
        const cpu = { cdpFilter: cdpFilterCpu(d.policy, d.internals.workspace), jwt: await jwtCpu(d.policy) }
        const info = deploymentInfo(d)
        result = {
          schema: 'hedge-bench/1', generatedAt: new Date().toISOString(), machine, deployment: info,
          options: { durationMs, concurrency, targets: targets as OverheadTarget[], rounds }, overhead, cpu, target: relayTarget(info, overhead),
        }
      } finally { await d.stop() }
    } finally { await fx.close() }
    await writeFile(out, JSON.stringify(result, null, 2) + '\n')
    process.stdout.write(renderBench(result) + `\nresults: ${out}\n`)
    return 0
  },
}

function relayTarget (info: DeploymentInfo, rows: readonly OverheadRow[]): BenchResult['target'] {
  const statement = `target (from the issue): the filtered CDP relay keeps >= ${CDP_RELAY_TARGET} of direct throughput on sequential round trips (Browser.getVersion, concurrency 1)`
  const r = rows.find(x => x.target === 'cdp-roundtrip' && x.concurrency === 1)
  if (info.topology === 'documented') return { statement, goal: CDP_RELAY_TARGET, measured: r?.ratio.throughput ?? null, met: null, why: 'not applicable: this deployment has no gateway (its CDP endpoint is the permissive 9223 forwarder)' }
  if (r === undefined) return { statement, goal: CDP_RELAY_TARGET, measured: null, met: null, why: 'not measured: run with cdp-roundtrip and concurrency 1' }
  const why = info.layers['cdp-filter'] === 'off' ? 'note: the cdp-filter layer is off in this policy, so this is the unfiltered relay' : undefined
  return { statement, goal: CDP_RELAY_TARGET, measured: r.ratio.throughput, met: r.ratio.throughput >= CDP_RELAY_TARGET, ...(why !== undefined ? { why } : {}) }
}

// ---------------------------------------------------------------------------
// CPU per operation (main thread, measured with process.cpuUsage over a time-bounded loop).

function measureSync (what: string, fn: () => void, ms = 400): { cpuUsPerOp: number, wallUsPerOp: number, ops: number } {
  for (let i = 0; i < 2000; i++) fn() // warm up the JIT
  let ops = 0
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const end = t0 + BigInt(ms * 1e6)
  while (process.hrtime.bigint() < end) { for (let i = 0; i < 200; i++) fn(); ops += 200 }
  const wall = Number(process.hrtime.bigint() - t0) / 1000
  const c = process.cpuUsage(c0)
  if (ops === 0) throw new Error(`${what}: no operations measured`)
  return { cpuUsPerOp: round2((c.user + c.system) / ops), wallUsPerOp: round2(wall / ops), ops }
}

async function measureAsync (fn: () => Promise<unknown>, ms = 400): Promise<{ cpuUsPerOp: number, wallUsPerOp: number, ops: number }> {
  for (let i = 0; i < 200; i++) await fn()
  let ops = 0
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const end = t0 + BigInt(ms * 1e6)
  while (process.hrtime.bigint() < end) { for (let i = 0; i < 20; i++) await fn(); ops += 20 }
  const wall = Number(process.hrtime.bigint() - t0) / 1000
  const c = process.cpuUsage(c0)
  return { cpuUsPerOp: round2((c.user + c.system) / ops), wallUsPerOp: round2(wall / ops), ops }
}

const round2 = (x: number): number => Math.round(x * 100) / 100

const SESSION = 'B3F1C0DE5A7E4C21A9D8E7F6A5B4C3D2'
/** Typical client→browser frames from Playwright (flat session), and the bench's own probe. */
export const SAMPLE_MESSAGES: ReadonlyArray<{ what: string, text: string }> = [
  {
    what: 'Runtime.callFunctionOn (Playwright click/read, page session)',
    text: JSON.stringify({ id: 318, method: 'Runtime.callFunctionOn', params: { functionDeclaration: '(utilityScript, ...args) => utilityScript.evaluate(...args)', objectId: '-3871264720115478511.4.1', arguments: [{ objectId: '-3871264720115478511.4.1' }, { value: true }, { value: true }, { value: '({ injected, node }) => injected.elementState(node, "visible")' }, { value: 1 }, { value: { v: 'undefined' } }], returnByValue: true, awaitPromise: true, userGesture: true }, sessionId: SESSION }),
  },
  { what: 'Page.navigate (URL policy, page session)', text: JSON.stringify({ id: 12, method: 'Page.navigate', params: { url: 'https://example.com/some/path?q=1#top', frameId: '9A3C4F1B2E7D8C6A5B4F3E2D1C0B9A87', referrerPolicy: 'unsafeUrl' }, sessionId: SESSION }) },
  { what: 'Browser.getVersion (browser session; the round-trip probe)', text: '{"id":1,"method":"Browser.getVersion"}' },
]

export function cdpFilterCpu (policy: Readonly<Policy>, ws: { output: string, upload: string }): CpuRow[] {
  const filter = compileCdpFilter(policy.cdp, { output: ws.output, upload: ws.upload })
  const state = new ConnectionState('browser')
  state.observe(JSON.stringify({ method: 'Target.attachedToTarget', params: { sessionId: SESSION, targetInfo: { targetId: '9A3C4F1B2E7D8C6A5B4F3E2D1C0B9A87', type: 'page', url: 'about:blank', attached: true }, waitingForDebugger: false } }))
  const rows: CpuRow[] = []
  for (const m of SAMPLE_MESSAGES) {
    const cmd0 = parseCdpCommand(m.text)
    const first = decide(filter, state, cmd0)
    let sink = 0
    const r = measureSync(m.what, () => {
      const cmd = parseCdpCommand(m.text)
      const dec = decide(filter, state, cmd)
      sink += dec.action === 'forward' ? serialiseCdpCommand(dec.cmd).length : 1
    })
    if (sink === 0) throw new Error('unreachable')
    rows.push({ what: `filter: ${m.what}`, bytes: Buffer.byteLength(m.text), action: first.action === 'deny' ? `deny (${first.rule})` : first.action, ...r })
  }
  // The floor any message relay that looks at messages pays: JSON.parse + JSON.stringify of the same frame.
  const typical = SAMPLE_MESSAGES[0]?.text ?? '{}'
  let sink = 0
  rows.push({ what: 'reference: JSON.parse + JSON.stringify of the first frame', bytes: Buffer.byteLength(typical), ...measureSync('json', () => { sink += JSON.stringify(JSON.parse(typical)).length }) })
  if (sink === 0) throw new Error('unreachable')
  return rows
}

export async function jwtCpu (policy: Readonly<Policy>): Promise<CpuRow[]> {
  const env = { [policy.auth.secretEnv]: randomBytes(32).toString('base64url') }
  const auth = { ...policy.auth, algorithms: ['HS256' as const], jwksFile: undefined, jwksUrl: undefined, secretFile: undefined }
  const token = await mintToken(auth, { audience: 'kernel', scopes: ['kernel:read'], ttlSeconds: 3600, env })
  const cached = await createVerifier({ ...auth, cacheSize: 1000 }, { env })
  const uncached = await createVerifier({ ...auth, cacheSize: 0 }, { env })
  try {
    const rc = await measureAsync(async () => await cached.verify(token, 'kernel'))
    const ru = await measureAsync(async () => await uncached.verify(token, 'kernel'))
    return [{ what: 'JWT HS256 verify, cached (repeat token)', ...rc }, { what: 'JWT HS256 verify, uncached (full signature + claims)', ...ru }]
  } finally { cached.close(); uncached.close() }
}

// ---------------------------------------------------------------------------

export function renderBench (r: BenchResult): string {
  const lines: string[] = []
  lines.push(`hedge bench — ${r.deployment.name} (${r.deployment.topology}), ${r.generatedAt}`)
  lines.push(`machine: node ${r.machine.node}, ${r.machine.platform}, ${r.machine.cpus} CPUs, load ${r.machine.loadavg.join(' ')} (shared: read the ratios, not the absolute numbers)`)
  lines.push('')
  lines.push('overhead — ratio = fraction of direct (1.00 = as fast as direct; higher is better); medians of interleaved rounds')
  lines.push(formatOverheadTable(r.overhead))
  for (const row of r.overhead) if (row.note !== undefined) lines.push(`  note ${row.target} ×${row.concurrency}: ${row.note}`)
  lines.push('')
  lines.push('CPU per operation (main thread)')
  const w = Math.max(...[...r.cpu.cdpFilter, ...r.cpu.jwt].map(x => x.what.length))
  for (const x of [...r.cpu.cdpFilter, ...r.cpu.jwt]) {
    lines.push(`  ${x.what.padEnd(w)}  ${x.cpuUsPerOp.toFixed(2).padStart(8)} µs CPU  ${x.wallUsPerOp.toFixed(2).padStart(8)} µs wall${x.bytes !== undefined ? `  ${x.bytes} B` : ''}${x.action !== undefined && x.action !== 'forward' ? `  ${x.action}` : ''}`)
  }
  lines.push('')
  lines.push(r.target.statement)
  const verdict = r.target.met === null
    ? `  this run: ${r.target.why ?? 'not applicable'}${r.target.measured !== null ? ` (measured ${r.target.measured.toFixed(2)})` : ''}`
    : `  this run: ${r.target.measured?.toFixed(2) ?? '?'} of direct: ${r.target.met ? 'MEETS the target' : 'does NOT meet the target'} (informational)${r.target.why !== undefined ? `; ${r.target.why}` : ''}`
  lines.push(verdict)
  return lines.join('\n') + '\n'
}
