// Upstream down → 502, slow → 504, with stable codes; the gateway keeps serving.
import t from 'tap'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startTestKernel } from '../helpers/kernel.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { rawRequest } from '../helpers/http.ts'

t.test('nothing listening upstream: 502, and the gateway stays up', async t => {
  const s: Server = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const deadPort = (s.address() as AddressInfo).port
  await new Promise(resolve => s.close(resolve))
  const gw = await startTestGateway(t, testPolicy('baseline'), { kernel: `http://127.0.0.1:${deadPort}` })
  for (let i = 0; i < 3; i++) {
    const r = await rawRequest(gw.kernelPort, { path: '/health' })
    t.equal(r.status, 502)
    t.same(Object.keys(r.json), ['statusCode', 'code', 'error', 'message'])
    t.equal(r.json.code, 'HEDGE_UPSTREAM_UNAVAILABLE')
    t.notMatch(r.text, /ECONNREFUSED|undici|stack/i, 'no upstream internals')
  }
})

t.test('slow upstream: 504 with HEDGE_UPSTREAM_TIMEOUT (a real long-running execute)', async t => {
  const kernel = await startTestKernel(t)
  const gw = await startTestGateway(t, testPolicy('hedged', { kernel: { upstreamTimeoutMs: 1000 } }), { kernel: kernel.url })
  const A: [string, string] = ['Authorization', `Bearer ${await gw.token(['kernel:execute', 'kernel:control', 'kernel:read'])}`]
  const r = await rawRequest(gw.kernelPort, { method: 'POST', path: '/kernel/execute', headers: [A, ['Content-Type', 'application/json']], body: JSON.stringify({ code: 'import time; time.sleep(8)', timeout: 20 }) })
  t.equal(r.status, 504)
  t.equal(r.json.code, 'HEDGE_UPSTREAM_TIMEOUT')
  await rawRequest(gw.kernelPort, { method: 'POST', path: '/kernel/interrupt', headers: [A] })
  const after = await rawRequest(gw.kernelPort, { path: '/health' })
  t.equal(after.status, 200, 'the gateway still serves')
})

t.test('unix-socket upstream (the hedged topology)', async t => {
  const kernel = await startTestKernel(t, { uds: true })
  t.ok(kernel.socketPath, 'kernel server on a unix socket')
  const gw = await startTestGateway(t, testPolicy('hedged'), { kernel: `unix:${kernel.socketPath as string}` })
  const A: [string, string] = ['Authorization', `Bearer ${await gw.token(['kernel:read'])}`]
  const r = await rawRequest(gw.kernelPort, { path: '/kernel/status', headers: [A] })
  t.equal(r.status, 200)
  t.equal(r.json.alive, true)
})
