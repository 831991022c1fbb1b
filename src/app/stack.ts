// One stack, started in one order and stopped in the reverse: the egress guard (Chromium is
// started pointing at it) → the sandbox in its topology's shape → the gateway in front. Used
// by `hedge up` and by the comparison's deployments (and through them `hedge bench`), so a
// topology means the same thing everywhere (app/topology.ts).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSandbox, type Sandbox } from '../sandbox/stack.ts'
import { startGateway, type Gateway } from '../gateway.ts'
import { compilePolicy } from '../policy/compile.ts'
import { startEgressGuard, type EgressGuard, type Resolver } from '../egress/guard.ts'
import type { Policy } from '../policy/schema.ts'
import type { Logger } from '../logger.ts'
import { SHAPES, type Topology } from './topology.ts'

export { defaultTopology, TOPOLOGIES, SHAPES, type Topology } from './topology.ts'

export interface StackPorts {
  /** Gateway listeners (0 = chosen by the OS; absent: the policy's listen.*Port). */
  kernel?: number
  cdp?: number
  admin?: number
  /** The egress guard (hedged topology). */
  egress?: number
  /** The sandbox's own kernel port (topologies with the kernel on TCP). */
  sandboxKernel?: number
  /** Chromium's remote-debugging port (always loopback). */
  chromium?: number
  /** The permissive forwarder (documented topology). */
  sandboxCdp?: number
}

export interface StackOptions {
  policy: Readonly<Policy>
  topology: Topology
  logger: Logger
  /** false: the sandbox alone, no gateway (the comparison's documented deployment). Default true. */
  gateway?: boolean
  /** Gateway listen address (default: the policy's listen.host). */
  host?: string
  ports?: StackPorts
  /** Workspace root (default /mnt/okcomputer as root, else a temp folder). */
  workspace?: string
  /** The gateway's environment (HEDGE_JWT_SECRET, …). */
  env?: NodeJS.ProcessEnv
  /** DNS for the egress guard (the comparison maps its rebinding name to loopback). */
  resolve?: Resolver
  /** The gateway's audit trail folder when the policy names none (docs/audit.md). */
  auditDir?: string
}

export interface Stack {
  readonly topology: Topology
  readonly sandbox: Sandbox
  readonly gateway: Gateway | null
  readonly egress: EgressGuard | null
  stop: () => Promise<void>
}

export async function startStack (o: StackOptions): Promise<Stack> {
  const shape = SHAPES[o.topology]
  if (shape === undefined) throw new Error(`unknown topology ${JSON.stringify(o.topology)}`)
  const withGateway = o.gateway !== false
  const { policy, logger } = o
  const ports = o.ports ?? {}
  if (!shape.egressGuard && policy.layers.egress !== 'off') {
    logger.warn({ event: 'topology', topology: o.topology },
      `topology ${o.topology}: Chromium is not behind the egress guard, the egress layer has no effect`)
  }
  if (o.topology === 'hedged' && policy.layers.egress === 'off') {
    logger.info({ event: 'topology', topology: o.topology },
      'egress layer off: the guard still runs in front of Chromium and passes everything')
  }
  if (withGateway && o.topology !== 'hedged' && policy.layers.auth !== 'off') {
    logger.warn({ event: 'topology', topology: o.topology },
      `topology ${o.topology}: the sandbox's own kernel port answers without auth beside the gateway (--topology hedged closes it)`)
  }
  const stops: Array<() => Promise<void>> = []
  const stop = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s().catch(err => { logger.warn({ err }, 'stop failed') })
  }
  try {
    let kernelUds: string | undefined
    if (shape.kernel === 'unix') {
      const sockDir = await mkdtemp(join(tmpdir(), 'hedge-run-'))
      stops.push(() => rm(sockDir, { recursive: true, force: true }))
      kernelUds = join(sockDir, 'kernel.sock')
    }
    let egress: EgressGuard | null = null
    if (shape.egressGuard) {
      const g = await startEgressGuard({
        compiled: compilePolicy(policy), port: ports.egress ?? policy.listen.egressPort, logger,
        ...(o.resolve !== undefined ? { resolve: o.resolve } : {}),
      })
      stops.push(() => g.close())
      egress = g
    }
    const sandbox = await startSandbox({
      kernelPort: ports.sandboxKernel ?? 8888,
      chromiumPort: ports.chromium ?? 9222,
      cdpPort: ports.sandboxCdp ?? 9223,
      forwarder: shape.forwarder,
      identities: shape.identities,
      browserHardening: shape.browserHardening,
      ...(kernelUds !== undefined ? { kernelUds } : {}),
      ...(egress !== null ? { egressProxy: egress.url } : {}),
      ...(o.workspace !== undefined ? { workspace: o.workspace } : {}),
      logger,
    })
    stops.push(() => sandbox.stop())
    let gateway: Gateway | null = null
    if (withGateway) {
      const gw = await startGateway({
        policy, logger,
        ...(o.env !== undefined ? { env: o.env } : {}),
        ...(o.host !== undefined ? { host: o.host } : {}),
        ...(o.auditDir !== undefined ? { auditDir: o.auditDir } : {}),
        egressGuard: egress, // null: no guard of its own either, the browser is not behind one
        kernelUpstream: sandbox.urls.kernel,
        cdpUpstream: sandbox.urls.chromium,
        workspace: { output: sandbox.workspace.output, upload: sandbox.workspace.upload },
        ports: {
          ...(ports.kernel !== undefined ? { kernel: ports.kernel } : {}),
          ...(ports.cdp !== undefined ? { cdp: ports.cdp } : {}),
          ...(ports.admin !== undefined ? { admin: ports.admin } : {}),
        },
      })
      stops.push(() => gw.close())
      gateway = gw
    }
    return { topology: o.topology, sandbox, gateway, egress, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
