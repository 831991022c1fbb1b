// Regression: a launcher killed with SIGKILL left its kernel server (and kernel) running,
// holding the port. The server now gets SIGTERM when its launcher dies (pdeathsig) and
// shuts its kernel down, as Chromium already did.
import t from 'tap'
import { spawn } from 'node:child_process'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { waitUntil } from '../../src/util/wait.ts'

const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }
const dir = await mkdtemp(join(tmpdir(), 'hedge-launcher-'))
await chmod(dir, 0o755) // the agent must be able to reach its workspace
t.teardown(async () => {
  try { execFileSync('chattr', ['-R', '-a', join(dir, 'ws', '.store')]) } catch {}
  await rm(dir, { recursive: true, force: true })
})

t.test('SIGKILL of the launcher takes the kernel server and its kernel with it', async t => {
  // a plain node + tsx child: tap's own loaders (NODE_OPTIONS) are not passed on
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('../fixtures/launch-kernel.ts', import.meta.url).pathname, join(dir, 'ws')], { stdio: ['ignore', 'pipe', 'inherit'], cwd: new URL('../..', import.meta.url).pathname, env })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  await waitUntil('kernel server pid', async () => /PID \d+/.test(out), 90_000, 100)
  const pid = Number(/PID (\d+)/.exec(out)?.[1])
  t.ok(alive(pid), 'kernel server running')
  const kernels = execFileSync('pgrep', ['-f', `ipykernel_launcher`], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number)
    .filter(k => { try { return execFileSync('cat', [`/proc/${k}/environ`], { encoding: 'latin1' }).includes(`JPY_PARENT_PID=${pid}`) } catch { return false } })
  child.kill('SIGKILL')
  await waitUntil('kernel server gone', async () => !alive(pid), 30_000, 100)
  t.notOk(alive(pid), 'kernel server ended with its launcher')
  for (const k of kernels) await waitUntil(`kernel ${k} gone`, async () => !alive(k), 30_000, 100)
  t.ok(kernels.every(k => !alive(k)), `its kernel${kernels.length === 1 ? '' : 's'} too (${kernels.length})`)
})
