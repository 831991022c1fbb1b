// Start a workspace + the baseline kernel server on an OS-chosen port (or a unix socket) for a
// test, and tear both down afterwards (no process, mount or append-only flag left behind).
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { chown, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { agentIdentity, type AgentIdentity } from '../../src/sandbox/agent-user.ts'
import { startKernelServer, type KernelServer } from '../../src/sandbox/kernel.ts'
import { createWorkspace, type Workspace, type WorkspaceOptions } from '../../src/sandbox/workspace.ts'
import { silentLogger, type Logger } from '../../src/logger.ts'
import { waitUntil } from '../../src/util/wait.ts'

export interface KernelResponse<T = any> { status: number, headers: IncomingHttpHeaders, text: string, body: T }
export interface ExecuteResult { success: boolean, output: string, error: string | null, images: string[] }
export interface KernelStatus { alive: boolean, pid: number | null, connection_file: string | null, client_connected: boolean, executing: boolean, restarts: number }

export interface RequestOptions {
  headers?: Record<string, string>
  /** JSON-encoded, with content-type application/json unless headers say otherwise. */
  json?: unknown
  /** Sent as is (no content-type added). */
  raw?: string
  timeoutMs?: number
}

export interface TestKernel {
  readonly url: string
  readonly socketPath?: string
  readonly server: KernelServer
  readonly workspace: Workspace
  readonly agent: AgentIdentity | null
  request<T = any> (method: string, path: string, opts?: RequestOptions): Promise<KernelResponse<T>>
  execute (code: string, opts?: { timeout?: number, restart?: boolean }): Promise<ExecuteResult>
  status (): Promise<KernelStatus>
  /** Wait until the kernel is alive, optionally with a pid other than `notPid`. */
  waitAlive (notPid?: number | null, timeoutMs?: number): Promise<KernelStatus>
  teardown (): Promise<void>
}

export interface TestKernelOptions {
  uds?: boolean
  workspace?: Omit<WorkspaceOptions, 'root' | 'agent'>
  logger?: Logger
}

const PREFIX = 'hedge-test-kernel-'

/**
 * Undo what a test process that died before its teardown left behind (its pid is in the dir
 * name): the server, the read-only mount, the append-only flags, the tree.
 */
export function sweepStaleTestKernels (): void {
  const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' } }
  const stale = readdirSync(tmpdir()).filter(n => { const m = /^hedge-test-kernel-(\d+)-/.exec(n); return m !== null && !alive(Number(m[1])) })
  if (stale.length === 0) return
  for (const pid of readdirSync('/proc').filter(n => /^\d+$/.test(n))) {
    let cmd = ''
    try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8') } catch { continue }
    if (!cmd.includes('kernel_server.py') || !stale.some(n => cmd.includes(join(tmpdir(), n)))) continue
    let home: string | undefined
    try { home = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find(v => v.startsWith('HOME='))?.slice(5) } catch { /* gone */ }
    try { process.kill(Number(pid), 'SIGKILL') } catch { /* gone */ }
    if (home?.startsWith(join(tmpdir(), 'hedge-kernel-home-')) === true) rmSync(home, { recursive: true, force: true })
  }
  for (const n of stale) disposeSync(join(tmpdir(), n))
}

/** Synchronous last-resort cleanup of one test workspace (for process exit and the sweep). */
function disposeSync (dir: string): void {
  const quiet = { stdio: 'ignore' as const }
  if (process.getuid?.() === 0) {
    if (readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some(l => l.split(' ')[4] === join(dir, 'upload'))) {
      try { execFileSync('umount', ['-l', join(dir, 'upload')], quiet) } catch { /* not mounted */ }
    }
    try { execFileSync('chattr', ['-R', '-a', join(dir, '.store')], quiet) } catch { /* no flags */ }
  } else {
    try { execFileSync('chmod', ['-R', 'u+w', dir], quiet) } catch { /* best effort */ }
  }
  rmSync(dir, { recursive: true, force: true })
}

/** A tap Test (or anything with teardown) gets the teardown registered on it. */
export async function startTestKernel (t?: { teardown (fn: () => unknown): void }, opts: TestKernelOptions = {}): Promise<TestKernel> {
  sweepStaleTestKernels()
  const agent = agentIdentity()
  const dir = await mkdtemp(join(tmpdir(), `${PREFIX}${process.pid}-`))
  const onExit = (): void => disposeSync(dir) // the process ending without teardown must not leave a mount
  process.once('exit', onExit)
  let workspace: Workspace | undefined
  let server: KernelServer | undefined
  let sockDir: string | undefined
  let done: Promise<void> | undefined
  const teardown = (): Promise<void> => (done ??= (async () => {
    await server?.stop()
    await workspace?.dispose({ remove: true })
    await rm(dir, { recursive: true, force: true })
    if (sockDir !== undefined) await rm(sockDir, { recursive: true, force: true })
    process.removeListener('exit', onExit)
  })())
  t?.teardown(teardown)
  try {
    workspace = await createWorkspace({ ...opts.workspace, root: dir, agent, logger: opts.logger })
    let uds: string | undefined
    if (opts.uds === true) {
      sockDir = await mkdtemp(join(tmpdir(), `${PREFIX}${process.pid}-sock-`))
      if (agent !== null) await chown(sockDir, agent.uid, agent.gid)
      uds = join(sockDir, 'kernel.sock')
    }
    server = await startKernelServer({ workspace, agent, uds, logger: opts.logger ?? silentLogger })
  } catch (err) {
    await teardown()
    throw err
  }
  const srv = server
  const request = <T = any>(method: string, path: string, o: RequestOptions = {}): Promise<KernelResponse<T>> =>
    kernelRequest<T>(srv, method, path, o)
  const status = async (): Promise<KernelStatus> => (await request<KernelStatus>('GET', '/kernel/status')).body
  return {
    url: srv.url,
    ...(srv.socketPath !== undefined ? { socketPath: srv.socketPath } : {}),
    server: srv,
    workspace,
    agent,
    request,
    status,
    async execute (code, o = {}) {
      const res = await request<ExecuteResult>('POST', '/kernel/execute', { json: { code, ...o }, timeoutMs: ((o.timeout ?? 60) + 60) * 1000 })
      if (res.status !== 200) throw new Error(`execute answered ${res.status}: ${res.text}`)
      return res.body
    },
    async waitAlive (notPid, timeoutMs = 60_000) {
      let last: KernelStatus | undefined
      await waitUntil('kernel alive', async () => {
        last = await status()
        return last.alive && last.client_connected && (notPid == null || last.pid !== notPid)
      }, timeoutMs, 100)
      return last as KernelStatus
    },
    teardown,
  }
}

/** One HTTP request to a kernel server (TCP or unix socket); the body is parsed as JSON when it is JSON. */
export function kernelRequest<T = any> (server: { url: string, socketPath?: string }, method: string, path: string, o: RequestOptions = {}): Promise<KernelResponse<T>> {
  const headers: Record<string, string> = { ...o.headers }
  let payload: string | undefined = o.raw
  if (o.json !== undefined) {
    payload = JSON.stringify(o.json)
    if (!Object.keys(headers).some(h => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json'
  }
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload))
  const u = new URL(path, server.url)
  const target = server.socketPath !== undefined ? { socketPath: server.socketPath } : { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port }
  return new Promise((resolve, reject) => {
    const req = httpRequest({ ...target, method, path: u.pathname + u.search, headers, timeout: o.timeoutMs ?? 30_000 }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: any = text
        try { body = JSON.parse(text) } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body })
      })
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)))
    req.on('error', reject)
    req.end(payload)
  })
}
