// Start one deployment for the comparison, on OS-chosen ports, all on loopback, in its
// topology (app/topology.ts): the spec's own, else its policy name's default.
//   documented: the documented sandbox alone; the network reaches 8888/9223.
//   gateway:    sandbox + gateway, no forwarder, the kernel still on loopback TCP (a gateway-only
//               install; the single-layer ablation runs here, egress excepted).
//   hedged:     sandbox + gateway, kernel on a unix socket, Chromium through the egress guard.
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startStack } from '../app/stack.ts'
import { defaultTopology, type Topology } from '../app/topology.ts'
import type { ReadReadyLine } from '../app/ready-line.ts'
import { parseUpstream } from '../net/upstream.ts'
import { derivePolicy } from '../policy/load.ts'
import { mintToken } from '../auth/mint.ts'
import { LAYERS, type LayerMode, type LayerName, type Policy } from '../policy/schema.ts'
import type { Logger } from '../logger.ts'
import type { Deployment, Fixtures } from './types.ts'

export interface DeploymentSpec {
  readonly name: string
  readonly policy: Readonly<Policy>
  readonly hardened: boolean
  /** The stack's shape; absent: the policy name's default (baseline → documented, else hedged), never a layer switch. */
  readonly topology?: Topology
  /** An already-running stack to measure instead of starting one (hedge compare --attach). */
  readonly attached?: Deployment
}

/**
 * A stack someone else started (`hedge up`), described by its ready line: attacks use its
 * endpoints, oracles its sandbox internals (so the harness must run on the same machine, as
 * root or as the agent), and the tokens it printed stand for every credential a legitimate
 * orchestrator holds. Nothing is started or stopped.
 */
export async function attachDeployment (
  name: string, ready: ReadReadyLine, policy: Readonly<Policy>, hardened: boolean,
): Promise<Deployment> {
  const outside = await mkdtemp(join(tmpdir(), 'hedge-compare-outside-'))
  await chmod(outside, 0o1777)
  const layers = Object.fromEntries(LAYERS.map(l => [l, policy.layers[l] ?? 'off'])) as Record<LayerName, LayerMode>
  const ws = ready.sandbox.workspace
  return {
    name, hardened, policy, layers, topology: ready.topology,
    endpoints: ready.gateway !== undefined
      ? { kernel: ready.gateway.kernel, cdp: ready.gateway.cdp }
      : { kernel: ready.sandbox.kernel, cdp: ready.sandbox.cdp ?? ready.sandbox.chromium },
    internals: {
      kernel: ready.sandbox.kernel,
      kernelTcp: parseUpstream(ready.sandbox.kernel).kind === 'tcp' ? ready.sandbox.kernel : null,
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
  // The egress layer needs Chromium behind the guard; every other layer is measured in front of an
  // otherwise unchanged sandbox (kernel on loopback TCP), so what the egress layer adds stays visible.
  const topology: Topology = layer === 'egress' ? 'hedged' : 'gateway'
  return { name: `only-${layer}`, policy: derivePolicy(base, { name: `only-${layer}`, layers }), hardened: false, topology }
}

export async function startDeployment (spec: DeploymentSpec, fx: Fixtures, logger: Logger): Promise<Deployment> {
  const policy = spec.policy
  const layers = Object.fromEntries(LAYERS.map(l => [l, policy.layers[l] ?? 'off'])) as Record<LayerName, LayerMode>
  const env = { ...process.env, HEDGE_JWT_SECRET: randomBytes(32).toString('base64url') }
  const topology = spec.topology ?? defaultTopology(policy.name)
  const stops: Array<() => Promise<void>> = []
  const stop = async (): Promise<void> => { for (const s of stops.splice(0).reverse()) await s().catch(() => {}) }
  try {
    const wsRoot = await mkdtemp(join(tmpdir(), `hedge-compare-${spec.name}-`))
    stops.push(() => rm(wsRoot, { recursive: true, force: true }))
    // A folder outside the workspace that the agent's processes could write to: escapes land here.
    await chmod(wsRoot, 0o755)
    await mkdir(join(wsRoot, 'outside'), { mode: 0o1777 })
    await chmod(join(wsRoot, 'outside'), 0o1777)
    const rebind = new URL(`http://${fx.rebindName}`).hostname
    const stack = await startStack({
      policy, topology, logger, env,
      gateway: topology !== 'documented', // the documented deployment is the sandbox alone
      host: '127.0.0.1',
      ports: { kernel: 0, cdp: 0, admin: 0, egress: 0, sandboxKernel: 0, chromium: 0, sandboxCdp: 0 },
      workspace: join(wsRoot, 'ws'),
      resolve: async h => (h === rebind ? ['127.0.0.1'] : []),
    })
    stops.push(() => stack.stop())
    const sandbox = stack.sandbox
    const internals = {
      kernel: sandbox.urls.kernel,
      kernelTcp: parseUpstream(sandbox.urls.kernel).kind === 'tcp' ? sandbox.urls.kernel : null,
      chromium: sandbox.urls.chromium,
      workspace: {
        root: sandbox.workspace.root, upload: sandbox.workspace.upload, output: sandbox.workspace.output, store: sandbox.workspace.store,
      },
      kernelHome: sandbox.kernel.homeDir,
      chromiumHome: join(sandbox.chromium.root, 'home'),
      stageUpload: async (name: string, data: string) => await sandbox.workspace.writeUpload(name, data),
    }
    const endpoints: Deployment['endpoints'] = stack.gateway === null
      ? { kernel: sandbox.urls.kernel, cdp: sandbox.urls.cdp as string }
      : { kernel: stack.gateway.urls.kernel, cdp: stack.gateway.urls.cdp as string }
    return {
      name: spec.name, hardened: spec.hardened, policy, layers, topology, endpoints, internals,
      token: async (audience, scopes, ttlSeconds = 3600) => (layers.auth === 'off'
        ? null
        : await mintToken(policy.auth, { audience, scopes, ttlSeconds, env, subject: 'hedge-compare' })),
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
