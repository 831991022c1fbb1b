// Unauthenticated POST /kernel/reset really restarts the kernel: state is gone, the execution
// count starts over, and there is a new process, connection file and HMAC key.
import t from 'tap'
import { existsSync } from 'node:fs'
import { startTestKernel } from '../helpers/kernel.ts'
import { waitUntil } from '../../src/util/wait.ts'

const COUNT = 'print(get_ipython().execution_count)'

t.test('reset restarts the kernel', async t => {
  const k = await startTestKernel(t)
  const firstCount = (await k.execute(COUNT)).output
  t.same(await k.execute('secret = 41'), { success: true, output: '', error: null, images: [] })
  t.equal((await k.execute('print(secret + 1)')).output, '42\n')
  t.not((await k.execute(COUNT)).output, firstCount, 'the count moved on')
  const before = (await k.request('GET', '/kernel/connection')).body
  const pidBefore = (await k.status()).pid

  const r = await k.request('POST', '/kernel/reset') // no credentials of any kind
  t.equal(r.status, 200)
  t.equal(r.body.success, true)

  const after = await k.waitAlive()
  t.not(after.pid, pidBefore, 'a new kernel process')
  t.not(after.connection_file, before.connection_file, 'a new connection file')
  t.notOk(existsSync(before.connection_file), 'the old connection file is gone')
  const conn = (await k.request('GET', '/kernel/connection')).body
  t.not(conn.connection_info.key, before.connection_info.key, 'a new HMAC key')
  t.equal((await k.execute(COUNT)).output, firstCount, 'execution count starts over')
  const gone = await k.execute('print(secret)')
  t.equal(gone.success, false)
  t.match(gone.error, /NameError/, 'the variable defined before is gone')
})

t.test('reset while code is running kills it and still leaves a fresh kernel', async t => {
  const k = await startTestKernel(t)
  await k.execute('marker = 1')
  const pidBefore = (await k.status()).pid
  const started = Date.now()
  const running = k.execute('import time; time.sleep(120)', { timeout: 300 })
  await waitUntil('execution in progress', async () => (await k.status()).executing, 30_000)

  const r = await k.request('POST', '/kernel/reset', { timeoutMs: 120_000 })
  t.equal(r.status, 200)
  const res = await running
  t.equal(res.success, false, 'the running execution failed')
  t.ok(Date.now() - started < 60_000, 'well before the sleep would have ended')
  const st = await k.waitAlive()
  t.not(st.pid, pidBefore)
  t.match((await k.execute('print(marker)')).error, /NameError/)
})
