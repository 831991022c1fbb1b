// Start one deployment for the comparison, on OS-chosen ports, all on loopback.
//   baseline (policy "baseline"): the documented sandbox alone; the network reaches 8888/9223.
//   anything else: sandbox + gateway; the network reaches only the gateway. With the
//   egress layer on, the full hedged topology (kernel on a unix socket, Chromium through
//   the guard); without it the kernel stays on loopback TCP, as a gateway-only install would.
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSandbox } from '../sandbox/stack.ts'
import { startGateway } from '../gateway.ts'
import { compilePolicy } from '../policy/compile.ts'
import { derivePolicy } from '../policy/load.ts'
import { startEgressGuard, type EgressGuard } from '../egress/guard.ts'
import { mintToken } from '../auth/mint.ts'
import { LAYERS, type LayerMode, type LayerName, type Policy } from '../policy/schema.ts'
import type { Logger } from '../logger.ts'
import type { Deployment, Fixtures } from './types.ts'

export interface DeploymentSpec {
  readonly name: string
  readonly policy: Readonly<Policy>
  readonly hardened: boolean
  /** An already-running stack to measure instead of starting one (hedge compare --attach). */
  readonly attached?: Deployment
}

/** What `hedge up` prints after "ready ". */
export interface ReadyLine {
  sandbox: { kernel: string, chromium: string, cdp: string | null, workspace: string }
  gateway?: { kernel: string, cdp: string, admin: string, egress?: string }
  policy?: string
  policyFile?: string
  token: { kernel: string, cdp: string } | null
}

/**
 * A stack someone else started (`hedge up`), described by its ready line: attacks use its
 * endpoints, oracles its sandbox internals (so the harness must run on the same machine, as
 * root or as the agent), and the tokens it printed stand for every credential a legitimate
 * orchestrator holds. Nothing is started or stopped.
 */
export async function attachDeployment (name: string, ready: ReadyLine, policy: Readonly<Policy>, hardened: boolean): Promise<Deployment> {
  const outside = await mkdtemp(join(tmpdir(), 'hedge-compare-outside-'))
  await chmod(outside, 0o1777)
  const layers = Object.fromEntries(LAYERS.map(l => [l, policy.layers[l] ?? 'off'])) as Record<LayerName, LayerMode>
  const ws = ready.sandbox.workspace
  return {
    name, hardened, policy, layers,
    endpoints: ready.gateway !== undefined ? { kernel: ready.gateway.kernel, cdp: ready.gateway.cdp } : { kernel: ready.sandbox.kernel, cdp: ready.sandbox.cdp ?? ready.sandbox.chromium },
    internals: {
      kernel: ready.sandbox.kernel,
      kernelTcp: ready.sandbox.kernel.startsWith('unix:') ? null : ready.sandbox.kernel,
      chromium: ready.sandbox.chromium,
      workspace: { root: ws, upload: join(ws, 'upload'), output: join(ws, 'output'), store: join(ws, '.store') },
      outside,
    },
    token: async audience => (layers.auth === 'off' || ready.token === null ? null : ready.token[audience]),
    stop: async () => { await rm(outside, { recursive: true, force: true }) }, // the stack itself is not ours to stop
  }
}

/** Open the fixture sites (and nothing else) to the browser in this policy. */
export function withFixtures (policy: Readonly<Policy>, fx: Fixtures, extraHosts: readonly string[] = []): Readonly<Policy> {
  const hosts = [new URL(fx.site).host, new URL(fx.evil).host, ...extraHosts]
  return derivePolicy(policy, {
    cdp: { urls: { allowHosts: [...policy.cdp.urls.allowHosts, ...hosts] } },
    egress: { allow: [...policy.egress.allow, ...hosts] },
  })
}

/** hedged with every layer off but one (ablation). */
export function onlyLayer (base: Readonly<Policy>, layer: LayerName): DeploymentSpec {
  const layers = Object.fromEntries(LAYERS.map(l => [l, l === layer ? 'enforce' : 'off'])) as Record<LayerName, LayerMode>
  return { name: `only-${layer}`, policy: derivePolicy(base, { name: `only-${layer}`, layers }), hardened: false }
}

export async function startDeployment (spec: DeploymentSpec, fx: Fixtures, logger: Logger): Promise<Deployment> {
  const policy = spec.policy
  const layers = Object.fromEntries(LAYERS.map(l => [l, policy.layers[l] ?? 'off'])) as Record<LayerName, LayerMode>
  const env = { ...process.env, HEDGE_JWT_SECRET: randomBytes(32).toString('base64url') }
  const documented = policy.name === 'baseline'
  const egressOn = layers.egress !== 'off'
  const stops: Array<() => Promise<void>> = []
  const stop = async (): Promise<void> => { for (const s of stops.splice(0).reverse()) await s().catch(() => {}) }
  try {
    const wsRoot = await mkdtemp(join(tmpdir(), `hedge-compare-${spec.name}-`))
    stops.push(() => rm(wsRoot, { recursive: true, force: true }))
    // A folder outside the workspace that the agent's processes could write to: escapes land here.
    await chmod(wsRoot, 0o755)
    await mkdir(join(wsRoot, 'outside'), { mode: 0o1777 })
    await chmod(join(wsRoot, 'outside'), 0o1777)
    const sockDir = egressOn ? await mkdtemp(join(tmpdir(), 'hedge-compare-sock-')) : undefined
    if (sockDir !== undefined) stops.push(() => rm(sockDir, { recursive: true, force: true }))
    let guard: EgressGuard | undefined
    if (egressOn) {
      const rebind = new URL(`http://${fx.rebindName}`).hostname
      guard = await startEgressGuard({ compiled: compilePolicy(policy), port: 0, logger, resolve: async h => (h === rebind ? ['127.0.0.1'] : []) })
      const g = guard
      stops.push(() => g.close())
    }
    const sandbox = await startSandbox({
      kernelPort: 0, chromiumPort: 0, cdpPort: 0, workspace: join(wsRoot, 'ws'), logger,
      forwarder: documented,
      ...(sockDir !== undefined ? { kernelUds: join(sockDir, 'kernel.sock') } : {}),
      ...(guard !== undefined ? { egressProxy: guard.url } : {}),
      ...(egressOn ? { identities: 'separate' as const, browserHardening: 'hedged' as const } : {}), // the hedged sandbox shape
    })
    stops.push(() => sandbox.stop())
    const internals = {
      kernel: sandbox.urls.kernel,
      kernelTcp: sandbox.urls.kernel.startsWith('unix:') ? null : sandbox.urls.kernel,
      chromium: sandbox.urls.chromium,
      workspace: { root: sandbox.workspace.root, upload: sandbox.workspace.upload, output: sandbox.workspace.output, store: sandbox.workspace.store },
      kernelHome: sandbox.kernel.homeDir,
      chromiumHome: join(sandbox.chromium.root, 'home'),
      stageUpload: async (name: string, data: string) => await sandbox.workspace.writeUpload(name, data),
    }
    let endpoints: Deployment['endpoints']
    if (documented) {
      endpoints = { kernel: sandbox.urls.kernel, cdp: sandbox.urls.cdp as string }
    } else {
      const gw = await startGateway({
        policy, logger, env, kernelUpstream: sandbox.urls.kernel, cdpUpstream: sandbox.urls.chromium,
        workspace: { output: sandbox.workspace.output, upload: sandbox.workspace.upload },
        host: '127.0.0.1', ports: { kernel: 0, cdp: 0, admin: 0 },
        ...(guard !== undefined ? { egressGuard: guard } : {}),
      })
      stops.push(() => gw.close())
      endpoints = { kernel: gw.urls.kernel, cdp: gw.urls.cdp as string }
    }
    return {
      name: spec.name, hardened: spec.hardened, policy, layers, endpoints, internals,
      token: async (audience, scopes, ttlSeconds = 3600) => (layers.auth === 'off' ? null : await mintToken(policy.auth, { audience, scopes, ttlSeconds, env, subject: 'hedge-compare' })),
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
