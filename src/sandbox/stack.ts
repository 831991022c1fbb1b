// The sandbox as one unit: workspace zones, the kernel server, supervised Chromium and
// (in the documented shape) the permissive 9223 forwarder. The options below are the parts;
// the named topologies that combine them (documented, gateway, hedged) are src/app/topology.ts,
// started with the guard and the gateway by src/app/stack.ts. Two shapes:
//   documented: kernel on TCP, forwarder on, Chromium straight to the network;
//   hedged:     kernel on a unix socket only the gateway can open, no forwarder, Chromium
//               through the egress guard (--proxy-server, loopback not bypassed).
// Two further options belong to the hedged shape and default to the documented behaviour:
//   identities: 'separate'    kernel as hedge-agent, Chromium as hedge-browser; they share only
//                             output/ (group hedge-work) and upload/ (read-only): docs/separate-identities.md
//   browserHardening: 'hedged' fresh profile per start, downloads into output/, WebRTC UDP only
//                             via the proxy, managed policies: docs/chromium-hardening.md
import { mkdtemp, rm, chmod, chown } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { agentIdentity, separateIdentities, type AgentIdentity } from './agent-user.ts'
import { HEDGED_CHROMIUM_ARGS, HEDGED_POLICIES } from './chromium-hardening.ts'
import { createWorkspace, DEFAULT_WORKSPACE_ROOT, type Workspace } from './workspace.ts'
import { startKernelServer, type KernelServer } from './kernel.ts'
import { startChromium, type ChromiumSupervisor } from './chromium.ts'
import { startForwarder, type Forwarder } from './forwarder.ts'
import { formatUpstream } from '../net/upstream.ts'
import type { Logger } from '../logger.ts'

export interface SandboxOptions {
  host?: string // kernel server and forwarder bind address (127.0.0.1 locally; 0.0.0.0 in the container)
  kernelPort?: number // 8888
  chromiumPort?: number // 9222 (always loopback)
  cdpPort?: number // 9223
  workspace?: string // default /mnt/okcomputer as root, else a temp folder
  headless?: boolean
  /** Hedged shape: serve the kernel API only on this unix socket. */
  kernelUds?: string
  /** Hedged shape: no permissive forwarder. */
  forwarder?: boolean
  /** Hedged shape: Chromium's --proxy-server (the egress guard). */
  egressProxy?: string
  /** 'shared' (default, the documented single uid) or 'separate' (hedged: needs root). */
  identities?: 'shared' | 'separate'
  /** 'off' (default, documented) or 'hedged' (needs root for the managed policies). */
  browserHardening?: 'off' | 'hedged'
  /** Where the hedged browser's managed policies go (chromium.ts policyPlacement): 'system' in a dedicated container. */
  browserPolicies?: 'namespace' | 'system'
  logger: Logger
}

export interface Sandbox {
  readonly urls: { kernel: string, chromium: string, cdp: string | null, workspace: string }
  readonly workspace: Workspace
  readonly kernel: KernelServer
  readonly chromium: ChromiumSupervisor
  stop: () => Promise<void>
}

export async function startSandbox (o: SandboxOptions): Promise<Sandbox> {
  const separate = o.identities === 'separate' ? separateIdentities() : null
  const agent: AgentIdentity | null = separate?.agent ?? agentIdentity()
  // Chromium's primary group is hedge-work: a download is written elsewhere and renamed into
  // output/, so neither the setgid bit nor the default ACL gives it the shared group.
  const browser: AgentIdentity | null = separate !== null ? { ...separate.browser, gid: separate.workGid, groups: [separate.browser.gid] } : agent
  const hardened = o.browserHardening === 'hedged'
  const host = o.host ?? '127.0.0.1'
  const stops: Array<() => Promise<void>> = []
  const stopAll = async (): Promise<void> => { for (const s of stops.splice(0).reverse()) await s().catch(err => { o.logger.warn({ err }, 'stop failed') }) }
  try {
    let root = o.workspace
    if (root === undefined) {
      if (process.getuid?.() === 0) root = DEFAULT_WORKSPACE_ROOT
      else {
        root = await mkdtemp(join(tmpdir(), 'hedge-workspace-'))
        const made = root
        stops.push(() => rm(made, { recursive: true, force: true }))
      }
    }
    const workspace = await createWorkspace({ root, agent, logger: o.logger, ...(separate !== null ? { sharedGroup: separate.workGid } : {}) })
    stops.push(() => workspace.dispose())

    let sockDir: string | undefined
    if (o.kernelUds !== undefined && agent !== null) {
      // The socket's directory must be writable by the agent (uvicorn creates the socket as it).
      sockDir = o.kernelUds.slice(0, o.kernelUds.lastIndexOf('/'))
      await chown(sockDir, agent.uid, agent.gid).catch(() => {})
      await chmod(sockDir, 0o700).catch(() => {})
    }
    // Started side by side; whichever started is registered for stopping even if the other failed.
    const [k, c] = await Promise.allSettled([
      startKernelServer({ workspace, host, port: o.kernelPort ?? 8888, ...(o.kernelUds !== undefined ? { uds: o.kernelUds } : {}), agent, logger: o.logger, hardened: separate !== null }),
      startChromium({
        port: o.chromiumPort ?? 9222, headless: o.headless ?? true, agent: browser, logger: o.logger,
        ...(o.egressProxy !== undefined ? { proxyServer: o.egressProxy } : {}),
        ...(hardened ? { freshProfile: true, downloadDir: workspace.output, managedPolicies: HEDGED_POLICIES, policyPlacement: o.browserPolicies ?? 'namespace', extraArgs: HEDGED_CHROMIUM_ARGS } : {}),
      }),
    ])
    if (k.status === 'fulfilled') stops.push(() => k.value.stop())
    if (c.status === 'fulfilled') stops.push(() => c.value.stop())
    if (k.status === 'rejected') throw k.reason
    if (c.status === 'rejected') throw c.reason
    const kernel = k.value
    const chromium = c.value

    let forwarder: Forwarder | undefined
    if (o.forwarder !== false) {
      forwarder = await startForwarder({ host, port: o.cdpPort ?? 9223, upstream: () => chromium.url, logger: o.logger })
      stops.push(() => (forwarder as Forwarder).close())
    }
    const shown = (url: string): string => url.replace('//0.0.0.0:', '//127.0.0.1:')
    return {
      urls: {
        kernel: kernel.upstream.kind === 'unix' ? formatUpstream(kernel.upstream) : shown(kernel.url),
        chromium: chromium.url,
        cdp: forwarder === undefined ? null : shown(forwarder.url),
        workspace: workspace.root,
      },
      workspace,
      kernel,
      chromium,
      stop: stopAll,
    }
  } catch (err) {
    await stopAll()
    throw err
  }
}
