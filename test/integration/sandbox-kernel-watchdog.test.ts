// A kernel killed from outside comes back on its own (the server's watchdog), with a new
// process and connection file; one killed mid-execution fails that execution and comes back.
import t from 'tap'
import { startTestKernel } from '../helpers/kernel.ts'
import { waitUntil } from '../../src/util/wait.ts'

const gone = (pid: number): boolean => { try { process.kill(pid, 0); return false } catch { return true } }

t.test('the watchdog restarts a killed kernel', async t => {
  const k = await startTestKernel(t)
  await k.execute('x = 1')
  const before = await k.status()
  t.ok(before.alive && before.pid !== null)
  const pid = before.pid as number

  process.kill(pid, 'SIGKILL')
  await waitUntil('old kernel gone', async () => gone(pid), 10_000)
  const after = await k.waitAlive(pid)
  t.not(after.pid, pid, 'a new kernel process')
  t.not(after.connection_file, before.connection_file, 'a new connection file')
  t.ok(after.restarts > before.restarts, 'the restart was counted')
  t.same(await k.execute('print(2 + 2)'), { success: true, output: '4\n', error: null, images: [] }, 'execute works')
  t.match((await k.execute('x')).error, /NameError/, 'it is a fresh kernel')
})

t.test('a kernel killed during an execution fails that execution and comes back', async t => {
  const k = await startTestKernel(t)
  const pid = (await k.status()).pid as number
  const running = k.execute('import time; time.sleep(60)', { timeout: 120 })
  await waitUntil('execution in progress', async () => (await k.status()).executing, 30_000)
  const started = Date.now()
  process.kill(pid, 'SIGKILL')
  const r = await running
  t.equal(r.success, false)
  t.match(r.error, /died/i)
  t.ok(Date.now() - started < 40_000, 'reported promptly')
  const st = await k.waitAlive(pid)
  t.not(st.pid, pid)
  t.equal((await k.execute('print("back")')).output, 'back\n')
})
