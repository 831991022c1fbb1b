// Routes layer: default-deny table, scopes, the HMAC-key routes, path canonicalisation
// and method-override headers — against the real kernel server.
import t from 'tap'
import { startTestKernel } from '../helpers/kernel.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { rawRequest, rawSocket } from '../helpers/http.ts'

const kernel = await startTestKernel(t)
const gw = await startTestGateway(t, testPolicy('hedged'), { kernel: kernel.url })
const port = gw.kernelPort
const all = await gw.token(['kernel:read', 'kernel:control', 'kernel:execute', 'kernel:admin'])
const readOnly = await gw.token(['kernel:read'])
const auth = (tok: string): Array<[string, string]> => [['Authorization', `Bearer ${tok}`]]

t.test('route table: allowed routes pass with the right scope', async t => {
  t.equal((await rawRequest(port, { path: '/health' })).status, 200, '/health is public')
  const st = await rawRequest(port, { path: '/kernel/status', headers: auth(readOnly) })
  t.equal(st.status, 200)
  t.equal(st.json.alive, true)
  const ex = await rawRequest(port, { method: 'POST', path: '/kernel/execute', headers: [...auth(all), ['Content-Type', 'application/json']], body: JSON.stringify({ code: 'print(6*7)' }) })
  t.equal(ex.status, 200)
  t.match(ex.json.output, /42/)
})

t.test('scopes: a read token cannot execute, reset or interrupt', async t => {
  for (const [method, path] of [['POST', '/kernel/execute'], ['POST', '/kernel/reset'], ['POST', '/kernel/interrupt']] as const) {
    const r = await rawRequest(port, { method, path, headers: [...auth(readOnly), ['Content-Type', 'application/json']], body: '{"code":"1"}' })
    t.equal(r.status, 403, `${method} ${path}`)
    t.equal(r.json.code, 'HEDGE_SCOPE_MISSING')
  }
})

t.test('the HMAC key never leaves: connection routes denied even with every scope', async t => {
  for (const path of ['/kernel/connection', '/kernel/connection-file']) {
    const r = await rawRequest(port, { path, headers: auth(all) })
    t.equal(r.status, 403, path)
    t.equal(r.json.code, 'HEDGE_ROUTE_DENIED')
    t.notMatch(r.text, /"key"/)
  }
  const direct = await kernel.request('GET', '/kernel/connection')
  const key: string = direct.body.connection_info?.key ?? direct.body.key ?? direct.body.contents?.key
  t.ok(typeof key === 'string' && key.length > 8, 'the sandbox itself hands the key out')
  const dbg = await rawRequest(port, { path: '/kernel/debug', headers: auth(all) })
  t.equal(dbg.status, 200, '/kernel/debug is served redacted')
  t.notOk(dbg.text.includes(key), 'the key appears nowhere in the debug answer')
})

t.test('default deny: unknown paths 404, known path with other method 405', async t => {
  for (const path of ['/docs', '/openapi.json', '/kernel', '/kernel/', '/kernel/statu', '/health/', '/kernel/status/x']) {
    const r = await rawRequest(port, { path, headers: auth(all) })
    t.equal(r.status, 404, path)
    t.equal(r.json.code, 'HEDGE_ROUTE_UNKNOWN', path)
  }
  const r = await rawRequest(port, { method: 'DELETE', path: '/kernel/status', headers: auth(all) })
  t.equal(r.status, 405)
  t.equal(r.headers.allow, 'GET')
})

t.test('path tricks are refused, not normalised into another route', async t => {
  const tricks = ['/kernel%2fconnection', '/kernel%2Fconnection', '/kernel/./connection', '/kernel/../kernel/connection', '/health/../kernel/connection',
    '/kernel/%2e%2e/kernel/connection', '/kernel\\connection', '/kernel%5cconnection', '//kernel/connection', '/kernel//connection',
    '/kernel/connection%00', '/kernel/%63onnection', '/kernel/connection;x=1', '/kernel/connection%252f', '/%6bernel/status']
  for (const path of tricks) {
    const r = await rawSocket(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${all}\r\nConnection: close\r\n\r\n`)
    t.ok(r.status === 400 || r.status === 404, `${path} → ${r.status}`)
    t.notMatch(r.text, /"key"/, `${path} leaks nothing`)
  }
  const abs = await rawSocket(port, `GET http://127.0.0.1:${port}/kernel/connection HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${all}\r\nConnection: close\r\n\r\n`)
  t.equal(abs.status, 400, 'absolute-form target refused')
  const ok = await rawRequest(port, { path: '/kernel/status?verbose=1', headers: auth(readOnly) })
  t.equal(ok.status, 200, 'near miss: a query string on an allowed route passes')
})

t.test('method-override headers change nothing', async t => {
  for (const h of ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override']) {
    const r = await rawRequest(port, { method: 'GET', path: '/kernel/reset', headers: [...auth(all), [h, 'POST']] })
    t.equal(r.status, 405, `${h}: GET /kernel/reset stays a GET`)
  }
})

t.test('report-only and off: the same requests are forwarded (and logged as would-deny)', async t => {
  const ro = await startTestGateway(t, testPolicy('hedged', { layers: { routes: 'report-only' } }), { kernel: kernel.url })
  const r = await rawRequest(ro.kernelPort, { path: '/kernel/connection', headers: auth(all) })
  t.equal(r.status, 200, 'report-only forwards')
  t.ok(ro.logs.lines.some(l => l.event === 'would-deny' && l.rule === 'kernel.routes[6]'), 'would-deny logged with the rule')
  const off = await startTestGateway(t, testPolicy('hedged', { layers: { routes: 'off' } }), { kernel: kernel.url })
  t.equal((await rawRequest(off.kernelPort, { path: '/kernel/connection', headers: auth(all) })).status, 200, 'off forwards')
  t.equal(off.logs.lines.filter(l => l.event === 'would-deny').length, 0, 'off logs nothing')
})
