// Issue 9, item 12: public /health, /kernel/status and /kernel/reset told anyone the kernel's
// connection-file path (with the kernel id). With `action: redact` on those routes the
// gateway answers with connection_file: null, and the path appears nowhere in the answer.
// Against the real kernel server, through the kernel front.
import t from 'tap'
import { startTestKernel } from '../helpers/kernel.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { rawRequest } from '../helpers/http.ts'
import { loadPolicy } from '../../src/policy/load.ts'
import type { RouteRule } from '../../src/policy/schema.ts'

const REDACTED_ROUTES = [['GET', '/health'], ['GET', '/kernel/status'], ['POST', '/kernel/reset']] as const
const isRedactedRoute = (r: RouteRule): boolean => REDACTED_ROUTES.some(([m, p]) => r.method === m && r.path === p)

const kernel = await startTestKernel(t)
// The hedged route table with `action: redact` on the three routes (the lines proposed for policies/hedged.yaml).
const routes = loadPolicy('hedged', {}).kernel.routes.map(r => isRedactedRoute(r) ? { ...r, action: 'redact' as const } : r)
const gw = await startTestGateway(t, testPolicy('hedged', { kernel: { routes } }), { kernel: kernel.url })
const port = gw.kernelPort
const tok = await gw.token(['kernel:read', 'kernel:control'])
const auth: Array<[string, string]> = [['Authorization', `Bearer ${tok}`]]

t.test('the sandbox itself gives the path out', async t => {
  const st = await kernel.status()
  t.match(st.connection_file, /kernel-.+\.json$/)
})

t.test('through the gateway it is gone from every answer, the rest intact', async t => {
  const path = (await kernel.status()).connection_file as string
  const health = await rawRequest(port, { path: '/health' })
  t.equal(health.status, 200)
  t.equal(health.json.status, 'healthy', 'the answer keeps its meaning')
  t.equal(health.json.kernel.connection_file, null)
  t.notOk(health.text.includes(path), '/health: path nowhere')
  const st = await rawRequest(port, { path: '/kernel/status', headers: auth })
  t.equal(st.status, 200)
  t.equal(st.json.alive, true)
  t.equal(st.json.connection_file, null)
  t.notOk(st.text.includes(path), '/kernel/status: path nowhere')
  const reset = await rawRequest(port, { method: 'POST', path: '/kernel/reset', headers: auth })
  t.equal(reset.status, 200)
  t.equal(reset.json.success, true)
  t.equal(reset.json.connection_file, null)
  const fresh = await kernel.waitAlive()
  t.notOk(reset.text.includes(fresh.connection_file as string), '/kernel/reset: the new path nowhere')
  t.notOk(reset.text.includes(path), '/kernel/reset: the old path nowhere')
})

t.test('policies/hedged.yaml marks these routes redact', async t => {
  const hedged = loadPolicy('hedged', {}).kernel.routes
  for (const [m, p] of REDACTED_ROUTES) t.equal(hedged.find(r => r.method === m && r.path === p)?.action, 'redact', `${m} ${p}`)
})
