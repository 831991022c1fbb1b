// POST /kernel/interrupt reaches a kernel that is busy executing (the execute lock does not
// block it) and stops time.sleep(60) with KeyboardInterrupt; the kernel and its state survive.
import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { startTestKernel, type ExecuteResult } from '../helpers/kernel.ts'
import { waitUntil } from '../../src/util/wait.ts'

t.test('interrupt stops running code', async t => {
  const k = await startTestKernel(t)
  await k.execute('kept = "still here"')
  const pid = (await k.status()).pid

  const started = Date.now()
  let result: ExecuteResult | undefined
  // The cell says when it is really running: "executing" is set as soon as the request is
  // sent, and a SIGINT that lands while ipykernel is still dispatching aborts the cell before
  // the sleep (no KeyboardInterrupt). Interrupt only once the sleep is under way.
  const marker = join(k.workspace.output, 'sleeping')
  const running = k.execute(`import time\nopen(${JSON.stringify(marker)}, 'w').close()\ntime.sleep(60)\nprint("slept")`, { timeout: 120 }).then(r => { result = r })
  await waitUntil('the sleep to be under way', async () => existsSync(marker) || result !== undefined, 30_000)

  // Keep interrupting until the execution returns (each attempt waits up to a second for it).
  let attempts = 0
  while (result === undefined && Date.now() - started < 50_000) {
    const r = await k.request('POST', '/kernel/interrupt')
    t.equal(r.status, 200, 'interrupt accepted while the execution holds the lock')
    attempts++
    await Promise.race([running, delay(1000)])
  }
  await running
  const elapsed = Date.now() - started
  t.ok(result !== undefined && elapsed < 50_000, `returned after ${elapsed} ms and ${attempts} interrupt(s), long before 60 s`)
  t.equal(result?.success, false)
  t.match(result?.error, /KeyboardInterrupt/)
  t.notMatch(result?.output ?? '', /slept/)

  const st = await k.status()
  t.equal(st.pid, pid, 'interrupt does not restart the kernel')
  t.equal(st.executing, false)
  // after an interrupt IPython may add "History logging moved to new session" to the next
  // cell's output (its history database noticed the aborted cell): look for our line
  t.match((await k.execute('print(kept)')).output, /^still here$/m, 'state survives')
})

t.test('an execute timeout interrupts the code and keeps the kernel', async t => {
  const k = await startTestKernel(t)
  const pid = (await k.status()).pid
  const r = await k.execute('import time\ntime.sleep(60)', { timeout: 2 })
  t.equal(r.success, false)
  t.match(r.error, /timed out after 2/)
  t.match(r.error, /KeyboardInterrupt/)
  t.equal((await k.status()).pid, pid)
  t.match((await k.execute('print(1)')).output, /^1$/m, 'the kernel still runs code (IPython may add a history notice)')
})
