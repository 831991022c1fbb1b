// Body layer: JSON only (a browser's no-preflight text/plain, form and multipart POSTs
// are refused), strict parse, size limit, and the re-serialised body is what runs.
import t from 'tap'
import { startTestKernel } from '../helpers/kernel.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { rawRequest } from '../helpers/http.ts'

const kernel = await startTestKernel(t)
const gw = await startTestGateway(t, testPolicy('hedged', { kernel: { maxBodyBytes: 4096 } }), { kernel: kernel.url })
const port = gw.kernelPort
const A: [string, string] = ['Authorization', `Bearer ${await gw.token(['kernel:execute', 'kernel:control'])}`]
const post = (ct: string | undefined, body: string): ReturnType<typeof rawRequest> =>
  rawRequest(port, { method: 'POST', path: '/kernel/execute', headers: ct === undefined ? [A] : [A, ['Content-Type', ct]], body })

t.test('non-JSON content types are refused with 415', async t => {
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json-patch+json', 'text/plain; a=application/json']) {
    const r = await post(ct, '{"code":"print(1)"}')
    t.equal(r.status, 415, ct)
    t.equal(r.json.code, 'HEDGE_CONTENT_TYPE')
  }
  t.equal((await post(undefined, '{"code":"print(1)"}')).status, 415, 'no content type')
  t.equal((await post('application/json; charset=utf-8', '{"code":"print(1)"}')).status, 200, 'near miss: charset=utf-8')
  const gz = await rawRequest(port, { method: 'POST', path: '/kernel/execute', headers: [A, ['Content-Type', 'application/json'], ['Content-Encoding', 'gzip']], body: 'xx' })
  t.equal(gz.status, 415, 'encoded bodies are not accepted')
})

t.test('strict JSON: duplicate keys, syntax errors, non-objects are refused', async t => {
  const dup = await post('application/json', '{"code":"print(\'first\')","code":"print(\'second\')"}')
  t.equal(dup.status, 400, 'duplicate key (python would take the last one)')
  t.equal(dup.json.code, 'HEDGE_BODY_INVALID')
  t.equal((await post('application/json', '{"code": "1",}')).status, 400, 'trailing comma')
  t.equal((await post('application/json', '["print(1)"]')).status, 400, 'array body')
  const empty = await rawRequest(port, { method: 'POST', path: '/kernel/execute', headers: [A, ['Content-Type', 'application/json']] })
  t.equal(empty.status, 400, 'execute needs a body')
  t.equal((await rawRequest(port, { method: 'POST', path: '/kernel/interrupt', headers: [A] })).status, 200, 'near miss: interrupt takes no body')
})

t.test('the re-serialised body is what the kernel runs', async t => {
  const r = await post('application/json', '{"code":"print(\\u0022escaped\\u0022)", "timeout": 30}')
  t.equal(r.status, 200)
  t.match(r.json.output, /escaped/)
})

t.test('size limit', async t => {
  const big = await post('application/json', JSON.stringify({ code: '#' + 'x'.repeat(5000) }))
  t.equal(big.status, 413)
  t.equal(big.json.code, 'HEDGE_BODY_TOO_LARGE')
})

t.test('report-only forwards the original bytes; the sandbox answers 422 to text/plain itself', async t => {
  const ro = await startTestGateway(t, testPolicy('hedged', { layers: { body: 'report-only' } }), { kernel: kernel.url })
  const r = await rawRequest(ro.kernelPort, { method: 'POST', path: '/kernel/execute', headers: [A, ['Content-Type', 'text/plain']], body: '{"code":"print(1)"}' })
  t.equal(r.status, 422, 'FastAPI 0.92 refuses text/plain on its own')
  t.ok(ro.logs.lines.some(l => l.event === 'would-deny' && l.rule === 'body.json-only'))
})
