// Issue 9: uvicorn 0.17.6 closes an idle keep-alive connection after 5 s; a request the
// gateway wrote into such a connection at that moment got ECONNRESET → 502. Now the gateway's
// upstream pool drops idle sockets after 4 s, and a request that fails on a reused socket
// before any answer is retried once (never a second run of code: see src/kernel/forward.ts).
// Staged against the real kernel server on its unix socket (the hedged topology): a burst of
// concurrent requests fills the pool with sockets whose idle timers expire over a spread of a
// few ms; ~5 s later (± a few ms, a bounded number of rounds) another burst reuses them.
import t from 'tap'
import { startTestKernel } from '../helpers/kernel.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { rawRequest } from '../helpers/http.ts'
import { sleep } from '../helpers/sockets.ts'

const OFFSETS_MS = [-4, -1, 0, 2, 5] // around uvicorn's 5 s keep-alive timeout
const BURST = 24

t.test('bursts ~5 s apart: no 502, and each POST /kernel/execute ran exactly once', async t => {
  const kernel = await startTestKernel(t, { uds: true })
  const gw = await startTestGateway(t, testPolicy('hedged'), { kernel: `unix:${kernel.socketPath as string}` })
  const A: [string, string] = ['Authorization', `Bearer ${await gw.token(['kernel:read', 'kernel:execute'])}`]
  const json: [string, string] = ['Content-Type', 'application/json']
  const count = 'import builtins\nbuiltins.hedge_n = getattr(builtins, "hedge_n", 0) + 1'
  let executes = 0
  const burst = async (): Promise<number[]> => {
    const reqs = Array.from({ length: BURST }, (_, i) => i % 6 === 0
      ? rawRequest(gw.kernelPort, { method: 'POST', path: '/kernel/execute', headers: [A, json], body: JSON.stringify({ code: count }) }).then(r => { if (r.status === 200 && r.json?.success === true) executes++; return r.status })
      : rawRequest(gw.kernelPort, { path: '/kernel/status', headers: [A] }).then(r => r.status))
    return await Promise.all(reqs)
  }
  const failed: number[] = []
  failed.push(...(await burst()).filter(s => s !== 200))
  for (const off of OFFSETS_MS) {
    await sleep(5000 + off)
    failed.push(...(await burst()).filter(s => s !== 200))
  }
  t.same(failed, [], 'no request failed')
  const final = await kernel.execute('import builtins\nprint(builtins.hedge_n)')
  t.equal(final.output.trim(), String(executes), `the counter equals the ${executes} executes answered: none ran twice`)
  t.equal(gw.logs.lines.filter(l => l.event === 'upstream-error').length, 0, 'no upstream error logged')
})
