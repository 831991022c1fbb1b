// Launch the baseline sandbox's kernel server (sandbox/kernel_server.py) as the agent user.
// It runs in its own process group (spawned detached); stop() signals the group, waits, and
// then sweeps up the kernel, which jupyter_client starts in a session of its own.
import { spawn } from 'node:child_process'
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { agentIdentity, asAgent, diesWithParent, type AgentIdentity } from './agent-user.ts'
import { silentLogger, type Logger } from '../logger.ts'
import { waitUntil } from '../util/wait.ts'
import { parseUpstream, probeHealth, type Upstream } from '../net/upstream.ts'

export const PYTHON = '/usr/bin/python3'
export const KERNEL_SERVER_SCRIPT = fileURLToPath(new URL('../../sandbox/kernel_server.py', import.meta.url))

export interface KernelServerOptions {
  /** Workspace root (the kernel's cwd), or a Workspace from createWorkspace(). */
  workspace: string | { readonly root: string }
  host?: string // default 127.0.0.1
  port?: number // default 0: the OS chooses
  /** Listen on this unix socket (mode 0600) instead of TCP; its directory must be writable by the agent. */
  uds?: string
  agent?: AgentIdentity | null // default agentIdentity()
  logger?: Logger
  /** Extra environment for the server and its kernel (the parent's environment is NOT inherited). */
  env?: Record<string, string>
  startTimeoutMs?: number // default 60 s
  /**
   * Hedged shape (docs/separate-identities.md): no user site-packages (PYTHONNOUSERSITE=1),
   * IPYTHONDIR and TMPDIR inside the agent's private 0700 home, so nothing another uid can
   * write is ever imported or run at kernel start. The documented baseline leaves them default.
   */
  hardened?: boolean
}

export interface KernelServer {
  /** http://HOST:PORT, or http://localhost when listening on a unix socket (use socketPath). */
  readonly url: string
  readonly socketPath?: string
  /** Where it listens, TCP or unix socket (formatUpstream gives the ready line's spelling). */
  readonly upstream: Upstream
  readonly pid: number
  /** The agent-owned temp dir holding HOME and JUPYTER_RUNTIME_DIR (connection files). */
  readonly homeDir: string
  stop (): Promise<void>
}

/** Pids whose process group is one of `groups`, or whose environment names `serverPid` as JPY_PARENT_PID. */
async function leftovers (serverPid: number, groups: Set<number>): Promise<number[]> {
  const found: number[] = []
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(name)
    if (!Number.isInteger(pid) || pid === process.pid) continue
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])
      if (groups.has(pgid)) { found.push(pid); continue }
      const env = await readFile(`/proc/${pid}/environ`, 'utf8')
      if (env.split('\0').includes(`JPY_PARENT_PID=${serverPid}`)) found.push(pid)
    } catch { /* gone, or not ours to read */ }
  }
  return found
}

/** Gone, or a zombie waiting for its (new) parent to reap it. */
export async function dead (pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z'
  } catch { return true }
}

async function childrenOf (pid: number): Promise<number[]> {
  const out: number[] = []
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const text = await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => '')
    out.push(...text.split(' ').filter(Boolean).map(Number))
  }
  return out
}

export async function startKernelServer (opts: KernelServerOptions): Promise<KernelServer> {
  const log = (opts.logger ?? silentLogger).child({ component: 'kernel-server' })
  const agent = opts.agent === undefined ? agentIdentity() : opts.agent
  const root = typeof opts.workspace === 'string' ? opts.workspace : opts.workspace.root
  const homeDir = await mkdtemp(join(tmpdir(), 'hedge-kernel-home-'))
  await chmod(homeDir, 0o700)
  if (agent !== null) await chown(homeDir, agent.uid, agent.gid)
  const hardenedEnv: Record<string, string> = {}
  if (opts.hardened === true) {
    for (const d of ['.ipython', 'tmp']) {
      await mkdir(join(homeDir, d), { mode: 0o700 })
      if (agent !== null) await chown(join(homeDir, d), agent.uid, agent.gid)
    }
    Object.assign(hardenedEnv, { PYTHONNOUSERSITE: '1', IPYTHONDIR: join(homeDir, '.ipython'), TMPDIR: join(homeDir, 'tmp') })
  }
  const listen = opts.uds !== undefined ? ['--uds', opts.uds] : ['--host', opts.host ?? '127.0.0.1', '--port', String(opts.port ?? 0)]
  // SIGTERM, not SIGKILL: the server's handler then shuts its kernel down (the kernel runs in a session of its own).
  const { command, args } = diesWithParent('SIGTERM', asAgent(agent, PYTHON, [KERNEL_SERVER_SCRIPT, '--workspace', root, ...listen]))
  const env = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8', HOME: homeDir, JUPYTER_RUNTIME_DIR: join(homeDir, 'runtime'),
    PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1', ...hardenedEnv, ...opts.env,
  }
  const child = spawn(command, args, { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  const spawnError = new Promise<Error>(resolve => child.once('error', resolve))
  const pid = child.pid
  if (pid === undefined) {
    const err = await spawnError
    await rm(homeDir, { recursive: true, force: true })
    throw new Error(`could not spawn the kernel server: ${err.message}`)
  }
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  let alive = true
  void exited.then(() => { alive = false })
  const killGroup = (sig: NodeJS.Signals): void => { try { process.kill(-pid, sig) } catch { /* already gone */ } }
  const onExit = (): void => killGroup('SIGKILL') // the parent dying must not leave the server behind
  process.once('exit', onExit)

  const tail: string[] = []
  createInterface({ input: child.stderr }).on('line', line => {
    tail.push(line); if (tail.length > 30) tail.shift()
    log.debug({ stream: 'stderr' }, line)
  })
  const stdout = createInterface({ input: child.stdout })
  const listening = new Promise<string>((resolve, reject) => {
    stdout.on('line', line => {
      const m = /^LISTENING (\S+)$/.exec(line)
      if (m?.[1] !== undefined) resolve(m[1]); else log.debug({ stream: 'stdout' }, line)
    })
    void exited.then(code => reject(new Error(`kernel server exited (code ${code}) before listening:\n${tail.join('\n')}`)))
  })

  listening.catch(() => undefined) // observed below; this only keeps a late rejection from being unhandled
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => (stopping ??= (async () => {
    const kernels = new Set(await childrenOf(pid)) // jupyter_client gives each kernel its own session and group
    if (alive) {
      killGroup('SIGTERM')
      const t = setTimeout(() => killGroup('SIGKILL'), 15_000)
      await exited
      clearTimeout(t)
    }
    kernels.add(pid) // and anything the server left in its own group
    const strays = await leftovers(pid, kernels)
    for (const p of strays) { try { process.kill(p, 'SIGKILL') } catch { /* raced */ } }
    await waitUntil('strays to die', async () => (await Promise.all(strays.map(dead))).every(Boolean), 5_000).catch(() => undefined)
    process.removeListener('exit', onExit)
    await rm(homeDir, { recursive: true, force: true })
  })())

  try {
    const where = await Promise.race([listening, new Promise<never>((_resolve, reject) =>
      setTimeout(() => reject(new Error(`kernel server did not listen within ${opts.startTimeoutMs ?? 60_000} ms`)), opts.startTimeoutMs ?? 60_000).unref())])
    const upstream = parseUpstream(where)
    const socketPath = upstream.kind === 'unix' ? upstream.path : undefined
    const url = upstream.kind === 'unix' ? 'http://localhost' : upstream.url.origin
    await waitUntil('kernel server /health', () => probeHealth(upstream, '/health'), opts.startTimeoutMs ?? 60_000)
    log.debug({ url, socketPath, pid }, 'kernel server ready')
    return socketPath !== undefined ? { url, socketPath, upstream, pid, homeDir, stop } : { url, upstream, pid, homeDir, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
