// Host (DNS rebinding) and Origin (cross-origin reads, CSRF, preflights) layers,
// each on / report-only / off, with the request it must stop and a near miss.
import t from 'tap'
import { startTestKernel } from '../helpers/kernel.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { rawRequest } from '../helpers/http.ts'

const kernel = await startTestKernel(t)
const policy = testPolicy('hedged', { origins: { allow: ['http://127.0.0.1:3000'] }, hosts: { allow: ['127.0.0.1', 'localhost', '[::1]', 'sandbox.internal:8443'] } })
const gw = await startTestGateway(t, policy, { kernel: kernel.url })
const port = gw.kernelPort
const tok = await gw.token(['kernel:read', 'kernel:control', 'kernel:execute'])
const A: [string, string] = ['Authorization', `Bearer ${tok}`]

t.test('DNS rebinding: a foreign Host is refused before anything else (even before auth)', async t => {
  for (const host of ['attacker.example', 'attacker.example:' + String(port), '127.0.0.1.nip.io', 'localhost.', 'sandbox.internal', 'sandbox.internal:8444', '127.0.0.1:80:80', 'a@127.0.0.1', '127.0.0.1/x']) {
    const r = await rawRequest(port, { path: '/kernel/status', headers: [['Host', host]] })
    t.equal(r.status, 421, `Host: ${host}`)
    t.equal(r.json?.code, 'HEDGE_HOST_DENIED')
  }
  const two = await rawRequest(port, { path: '/kernel/status', headers: [['Host', '127.0.0.1'], ['Host', 'attacker.example'], A] })
  t.equal(two.status, 421, 'two Host headers')
  for (const host of ['127.0.0.1:' + String(port), 'LOCALHOST:1', '[::1]:9', 'sandbox.internal:8443']) {
    t.equal((await rawRequest(port, { path: '/kernel/status', headers: [['Host', host], A] })).status, 200, `near miss: Host: ${host}`)
  }
})

t.test('X-Forwarded-Host is not believed from an untrusted peer', async t => {
  const r = await rawRequest(port, { path: '/kernel/status', headers: [['X-Forwarded-Host', 'attacker.example'], A] })
  t.equal(r.status, 200, 'ignored (Host decides), and stripped before forwarding')
  const trusted = await startTestGateway(t, testPolicy('hedged', { hosts: { trustedProxies: ['127.0.0.1'] } }), { kernel: kernel.url })
  const r2 = await rawRequest(trusted.kernelPort, { path: '/kernel/status', headers: [['X-Forwarded-Host', 'attacker.example'], A] })
  t.equal(r2.status, 421, 'from a trusted proxy it is the host that counts')
})

t.test('CSRF / cross-origin: a disallowed Origin is refused before the request runs', async t => {
  const before = (await kernel.status()).pid
  for (const origin of ['http://evil.example', 'null', 'http://127.0.0.1:3001', 'https://127.0.0.1:3000', 'http://127.0.0.1:3000/', 'http://127.0.0.1:3000, http://evil.example']) {
    const r = await rawRequest(port, { method: 'POST', path: '/kernel/reset', headers: [['Origin', origin], A] })
    t.equal(r.status, 403, `Origin: ${origin}`)
    t.equal(r.json.code, 'HEDGE_ORIGIN_DENIED')
    t.notOk(r.headers['access-control-allow-origin'], 'no CORS grant')
  }
  t.equal((await kernel.status()).pid, before, 'the kernel was never reset')
  const ok = await rawRequest(port, { path: '/kernel/status', headers: [['Origin', 'http://127.0.0.1:3000'], A] })
  t.equal(ok.status, 200, 'near miss: the allowed origin')
  t.equal(ok.headers['access-control-allow-origin'], 'http://127.0.0.1:3000')
  t.match(String(ok.headers.vary), /Origin/)
  t.notOk(ok.headers['access-control-allow-credentials'], 'upstream credentials grant stripped')
  t.equal((await rawRequest(port, { path: '/kernel/status', headers: [A] })).status, 200, 'near miss: no Origin (non-browser client)')
})

t.test('preflights are answered by the gateway, never forwarded', async t => {
  const pre = (origin: string): Promise<import('../helpers/http.ts').RawResponse> => rawRequest(port, {
    method: 'OPTIONS',
    path: '/kernel/execute',
    headers: [['Origin', origin], ['Access-Control-Request-Method', 'POST'], ['Access-Control-Request-Headers', 'content-type, x-anything']],
  })
  const bad = await pre('null')
  t.equal(bad.status, 403)
  t.notOk(bad.headers['access-control-allow-origin'])
  const good = await pre('http://127.0.0.1:3000')
  t.equal(good.status, 204)
  t.equal(good.headers['access-control-allow-origin'], 'http://127.0.0.1:3000')
  t.equal(good.headers['access-control-allow-headers'], 'authorization, content-type', 'our list, not an echo of the request')
  t.notOk(good.headers['access-control-allow-credentials'])
})

t.test('report-only forwards and logs; off is the sandbox behaviour (any Origin reflected)', async t => {
  const ro = await startTestGateway(t, testPolicy('hedged', { layers: { origin: 'report-only', host: 'report-only' } }), { kernel: kernel.url })
  const r = await rawRequest(ro.kernelPort, { path: '/kernel/status', headers: [['Origin', 'http://evil.example'], ['Host', 'attacker.example'], A] })
  t.equal(r.status, 200)
  t.ok(ro.logs.lines.some(l => l.event === 'would-deny' && l.rule === 'origins.allow'))
  t.ok(ro.logs.lines.some(l => l.event === 'would-deny' && l.rule === 'hosts.allow'))
  const off = await startTestGateway(t, testPolicy('hedged', { layers: { origin: 'off', routes: 'off', auth: 'off' } }), { kernel: kernel.url })
  const pre = await rawRequest(off.kernelPort, { method: 'OPTIONS', path: '/kernel/execute', headers: [['Origin', 'null'], ['Access-Control-Request-Method', 'POST']] })
  t.equal(pre.headers['access-control-allow-origin'], 'null', 'off: the sandbox\'s own CORS answers (reflects null)')
})
