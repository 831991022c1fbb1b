// A small, hand-made comparison report for the renderer tests (the one place a fake is
// fine: rendering is pure). Evidence carries the nasty strings real evidence can carry.
import { LAYERS, type LayerName } from '../../src/policy/schema.ts'
import { deriveAblation, deriveVerdict, REPORT_SCHEMA_ID, type AttackRow, type DeploymentInfo, type LayerModes, type OverheadRow, type Report, type WorkflowRow } from '../../src/compare/report/model.ts'

export const NASTY = '<script>alert("x")</script> | `tick` **bold** [link](http://evil.example/) & \u001b[31mred\u001b[0m\nsecond line'

const all = (mode: LayerModes[LayerName]): LayerModes => Object.fromEntries(LAYERS.map(l => [l, mode])) as LayerModes
const only = (layer: LayerName): DeploymentInfo => ({ name: `only-${layer}`, hardened: false, policy: `only-${layer}`, layers: { ...all('off'), [layer]: 'enforce' }, topology: layer === 'egress' ? 'hedged' : 'gateway' })

export function fakeReport (): Report {
  const deployments: DeploymentInfo[] = [
    { name: 'baseline', hardened: false, policy: 'baseline', layers: all('off'), topology: 'documented' },
    { name: 'hedged', hardened: true, policy: 'hedged', layers: all('enforce'), topology: 'hedged' },
    { name: 'strict', hardened: true, policy: 'strict', layers: { ...all('enforce'), body: 'report-only' }, topology: 'hedged' },
    only('auth'), only('origin'), only('egress'), only('cdp-filter'),
  ]
  const res = (harm: boolean, evidence: string, ms = 40): { harm: boolean, evidence: string, ms: number } => ({ harm, evidence, ms })
  const attacks: AttackRow[] = [
    {
      id: 'kernel-reset-unauthenticated', category: 'kernel-control', attacker: 'network', stoppedBy: ['auth', 'routes'], description: 'POST /kernel/reset from the network with no token',
      results: { baseline: res(true, 'marker gone: the kernel was reset (200)'), hedged: res(false, '401 HEDGE_AUTH_REQUIRED; marker alive'), strict: res(false, '401 HEDGE_AUTH_REQUIRED; marker alive'), 'only-auth': res(false, '401 HEDGE_AUTH_REQUIRED'), 'only-origin': res(true, 'marker gone'), 'only-egress': res(true, 'marker gone'), 'only-cdp-filter': res(true, 'marker gone') },
    },
    {
      id: 'cross-origin-execute', category: 'cross-origin', attacker: 'web-page', stoppedBy: ['origin', 'auth'], description: 'a web page POSTs code to /kernel/execute (preflight approved by CORS *)',
      results: { baseline: res(true, `canary written by page JS; page said: ${NASTY}`, 1800), hedged: res(false, '403 HEDGE_ORIGIN_DENIED on the preflight'), strict: res(false, '403 HEDGE_ORIGIN_DENIED'), 'only-auth': res(false, '401 on the preflight'), 'only-origin': res(false, '403 HEDGE_ORIGIN_DENIED'), 'only-egress': res(true, 'canary written'), 'only-cdp-filter': res(true, 'canary written') },
    },
    {
      id: 'page-js-kernel-pivot', category: 'browser-pivot', attacker: 'page-js', stoppedBy: ['egress'], description: 'page JavaScript fetches http://127.0.0.1:8888/kernel/execute from inside the browser',
      results: { baseline: res(true, 'canary written'), hedged: res(false, 'egress guard: 403 loopback denied'), strict: res(false, 'egress guard: 403 loopback denied'), 'only-auth': res(true, 'canary written (kernel still on loopback TCP)'), 'only-origin': res(false, '403 HEDGE_ORIGIN_DENIED'), 'only-egress': res(false, 'egress guard: 403 loopback denied'), 'only-cdp-filter': res(true, 'canary written') },
    },
    {
      id: 'cdp-cookie-theft', category: 'cdp', attacker: 'rogue-agent', stoppedBy: ['cdp-filter'], description: 'Storage.getCookies on the browser session with a valid CDP token',
      results: { baseline: res(true, 'cookies read: session=…'), hedged: res(false, 'CDP error -32000 hedge: Storage.getCookies is not allowed [cdp.methods.deny:Storage.*]'), strict: res(false, 'refused [cdp.methods.default]'), 'only-auth': res(true, 'cookies read'), 'only-origin': res(true, 'cookies read'), 'only-egress': res(true, 'cookies read'), 'only-cdp-filter': res(false, 'refused') },
    },
    {
      id: 'jwt-alg-none', category: 'jwt', attacker: 'network', stoppedBy: ['auth'], description: 'a token with alg:none',
      results: { baseline: res(true, 'no auth at all: request ran'), hedged: res(false, '401 HEDGE_AUTH_INVALID auth.alg'), strict: { harm: false, evidence: '', ms: 15_000, error: 'timed out after 15000 ms' }, 'only-auth': res(false, '401'), 'only-origin': res(true, 'ran'), 'only-egress': res(true, 'ran') },
    },
  ]
  const wf = (allowed: boolean, ok: boolean, reason?: string): { allowed: boolean, ok: boolean, reason?: string, ms: number } => ({ allowed, ok, ...(reason !== undefined ? { reason } : {}), ms: 2300 })
  const workflows: WorkflowRow[] = [
    { id: 'kernel-execute', description: 'run code, read the output, interrupt, reset', client: 'kernel', results: { baseline: wf(true, true), hedged: wf(true, true), strict: wf(false, false, 'policy refuses execute (403)') } },
    { id: 'playwright-browse', description: 'connectOverCDP, goto, fill, click, screenshot, pdf', client: 'playwright', results: { baseline: wf(true, true), hedged: wf(true, true), strict: wf(true, false, `page.goto: net::ERR_TUNNEL_CONNECTION_FAILED ${NASTY}`) } },
    { id: 'puppeteer-screenshot', description: 'connect, new page, screenshot', client: 'puppeteer', results: { baseline: wf(true, true), hedged: wf(true, true), strict: wf(true, true) } },
  ]
  const stats = (p50Ms: number, p99Ms: number, perSecond: number): OverheadRow['direct'] => ({ p50Ms, p99Ms, perSecond, n: Math.round(perSecond * 2), errors: 0 })
  const ov = (deployment: string, target: OverheadRow['target'], concurrency: number, d: OverheadRow['direct'], v: OverheadRow['direct'], note?: string): OverheadRow =>
    ({ deployment, target, concurrency, rounds: 5, direct: d, via: v, ratio: { p50: +(d.p50Ms / v.p50Ms).toFixed(3), p99: +(d.p99Ms / v.p99Ms).toFixed(3), throughput: +(v.perSecond / d.perSecond).toFixed(3) }, ...(note !== undefined ? { note } : {}) })
  const overhead: OverheadRow[] = [
    ov('baseline', 'kernel-http', 1, stats(0.79, 5.9, 804), stats(0.8, 6.1, 790)),
    ov('hedged', 'kernel-http', 1, stats(0.79, 5.9, 804), stats(2.17, 11.05, 313)),
    ov('baseline', 'kernel-http', 16, stats(10.2, 19.2, 1468), stats(10.4, 19.9, 1440)),
    ov('hedged', 'kernel-http', 16, stats(10.2, 19.2, 1468), stats(25.97, 42.47, 588)),
    ov('baseline', 'cdp-roundtrip', 1, stats(0.17, 0.31, 5148), stats(0.22, 0.4, 4100)),
    ov('hedged', 'cdp-roundtrip', 1, stats(0.17, 0.31, 5148), stats(0.283, 0.506, 3296)),
    ov('baseline', 'cdp-roundtrip', 16, stats(0.97, 4.2, 9847), stats(1.3, 4.9, 8200)),
    ov('hedged', 'cdp-roundtrip', 16, stats(0.97, 4.2, 9847), stats(2.81, 6.49, 5424), 'via: 3 failed request(s), first: {"id":9,"error":{"message":"<b>too many</b>"}}'),
  ]
  const ablation = deriveAblation(attacks, deployments)
  return {
    schema: REPORT_SCHEMA_ID,
    generatedAt: '2026-11-29T06:07:45.556Z',
    machine: { node: 'v20.20.2', platform: 'linux-x64', cpus: 2, loadavg: [1.5, 1.2, 0.9] },
    options: { deployments: deployments.map(d => d.name), suites: ['attacks', 'workflows', 'overhead'], overheadDurationMs: 2000, concurrency: [1, 16] },
    deployments, attacks, workflows, overhead, ablation,
    verdict: deriveVerdict(deployments, attacks, workflows),
  }
}
