// The sandbox's hedged shape for a test: separate identities and/or the hardened browser, on
// OS-chosen ports, a temp workspace and a temp socket dir, all removed at teardown.
import { execFile } from 'node:child_process'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { asAgent, type AgentIdentity } from '../../src/sandbox/agent-user.ts'
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/stack.ts'
import { silentLogger } from '../../src/logger.ts'
import { cdpConnect, type CdpClient } from './chromium.ts'

type Teardown = { teardown (fn: () => unknown): void }

export const isRoot = process.getuid?.() === 0
export const NOT_ROOT = 'needs root: separate uids, mount namespaces and the managed-policy bind mount are root-only (CI runs as root)'

export async function startTestSandbox (t: Teardown, o: Partial<SandboxOptions> = {}): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'hedge-test-sandbox-'))
  await chmod(dir, 0o755) // the agents must traverse it to reach the workspace
  const sockDir = await mkdtemp(join(tmpdir(), 'hedge-test-sock-'))
  let sandbox: Sandbox | undefined
  t.teardown(async () => {
    await sandbox?.stop()
    await sandbox?.workspace.dispose({ remove: true })
    await rm(dir, { recursive: true, force: true })
    await rm(sockDir, { recursive: true, force: true })
  })
  sandbox = await startSandbox({
    kernelPort: 0, chromiumPort: 0, cdpPort: 0, workspace: join(dir, 'ws'), logger: silentLogger,
    kernelUds: join(sockDir, 'kernel.sock'), forwarder: false, ...o,
  })
  return sandbox
}

const run = promisify(execFile)

/** Run python3 code as `who` (setpriv, no capabilities); never throws: the exit code is returned. */
export async function pythonAs (who: AgentIdentity | null, code: string): Promise<{ code: number, out: string, err: string }> {
  const cmd = asAgent(who, '/usr/bin/python3', ['-c', code])
  try {
    const r = await run(cmd.command, cmd.args, { cwd: '/', env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' }, timeout: 30_000 })
    return { code: 0, out: r.stdout.trim(), err: r.stderr.trim() }
  } catch (e) {
    const err = e as { code?: number, stdout?: string, stderr?: string }
    return { code: typeof err.code === 'number' ? err.code : -1, out: (err.stdout ?? '').trim(), err: (err.stderr ?? '').trim() }
  }
}

/** A browser-level CDP connection straight to Chromium (no gateway). */
export async function browserCdp (chromiumUrl: string): Promise<CdpClient> {
  const v = await (await fetch(`${chromiumUrl}/json/version`, { signal: AbortSignal.timeout(20_000) })).json() as { webSocketDebuggerUrl: string }
  return await cdpConnect(v.webSocketDebuggerUrl)
}

/** Attach (flat) to the first page target; returns its session id and target id. */
export async function firstPage (cdp: CdpClient): Promise<{ sessionId: string, targetId: string }> {
  const { targetInfos } = await cdp.send<{ targetInfos: Array<{ targetId: string, type: string, url: string }> }>('Target.getTargets')
  const page = targetInfos.find(ti => ti.type === 'page' && ti.url === 'about:blank') ?? targetInfos.find(ti => ti.type === 'page')
  if (page === undefined) throw new Error('no page target')
  const { sessionId } = await cdp.send<{ sessionId: string }>('Target.attachToTarget', { targetId: page.targetId, flatten: true })
  return { sessionId, targetId: page.targetId }
}

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
