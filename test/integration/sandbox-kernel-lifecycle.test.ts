// Start and stop leave nothing behind: the unix-socket listener (0600, for the hedged topology),
// stop() during a running execution whose code spawned children (one even in a session of its
// own), and a server that fails to start.
import t from 'tap'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dead, startKernelServer } from '../../src/sandbox/kernel.ts'
import { startTestKernel, kernelRequest } from '../helpers/kernel.ts'
import { waitUntil } from '../../src/util/wait.ts'

const exists = async (p: string): Promise<boolean> => { try { await stat(p); return true } catch { return false } }

t.test('unix socket listener', async t => {
  const k = await startTestKernel(t, { uds: true })
  t.ok(k.socketPath, 'LISTENING unix:PATH understood')
  const st = await stat(k.socketPath as string)
  t.ok(st.isSocket())
  t.equal(st.mode & 0o777, 0o600, 'socket mode 0600')
  if (k.agent !== null) t.equal(st.uid, k.agent.uid, 'owned by the agent')
  t.equal((await k.execute('print("over uds")')).output, 'over uds\n')
  const kernelPid = (await k.status()).pid as number
  await k.server.stop()
  t.notOk(await exists(k.socketPath as string), 'socket file removed')
  t.ok(await dead(k.server.pid), 'server gone')
  t.ok(await dead(kernelPid), 'kernel gone')
})

t.test('stop() during an execution leaves no process behind', async t => {
  const k = await startTestKernel(t)
  const spawned = await k.execute([
    'import subprocess',
    'a = subprocess.Popen(["sleep", "300"])',
    'b = subprocess.Popen(["sleep", "301"], start_new_session=True)',
    'print(a.pid, b.pid)',
  ].join('\n'))
  const children = spawned.output.trim().split(' ').map(Number)
  t.equal(children.length, 2)
  const kernelPid = (await k.status()).pid as number
  const running = k.execute('import time; time.sleep(120)', { timeout: 300 }).catch((err: Error) => err)
  await waitUntil('execution in progress', async () => (await k.status()).executing, 30_000)

  const started = Date.now()
  await k.server.stop()
  t.ok(Date.now() - started < 20_000, 'stopped promptly although code was running')
  for (const pid of [k.server.pid, kernelPid, ...children]) t.ok(await dead(pid), `pid ${pid} gone (or a zombie awaiting init)`)
  t.notOk(await exists(k.server.homeDir), 'temp HOME removed')
  await running
  await t.rejects(kernelRequest(k.server, 'GET', '/health', { timeoutMs: 5000 }), 'nothing listens any more')
  await k.server.stop() // idempotent
})

t.test('a server that cannot start its kernel fails loudly and leaves nothing', { skip: process.getuid?.() !== 0 && 'needs root (a workspace the agent cannot enter)' }, async t => {
  const dir = await mkdtemp(join(tmpdir(), 'hedge-test-noaccess-')) // 0700 root: the agent cannot chdir there
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const before = await kernelServersRunning()
  await t.rejects(startKernelServer({ workspace: dir, startTimeoutMs: 60_000 }), /exited|did not listen/)
  t.same(await kernelServersRunning(), before, 'no new kernel server process')
})

async function kernelServersRunning (): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises')
  const pids: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const cmd = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')
    if (cmd.includes('kernel_server.py') && cmd.includes('hedge-test-noaccess-')) pids.push(Number(name))
  }
  return pids
}
