// Auth layer at the HTTP level: missing and malformed tokens, forgeries, expiry,
// scope confusion (a cdp token on the kernel), and report-only/off.
import t from 'tap'
import { SignJWT, base64url } from 'jose'
import { startTestKernel } from '../helpers/kernel.ts'
import { startTestGateway, testPolicy, TEST_SECRET } from '../helpers/gateway.ts'
import { rawRequest } from '../helpers/http.ts'

const kernel = await startTestKernel(t)
const gw = await startTestGateway(t, testPolicy('hedged'), { kernel: kernel.url })
const port = gw.kernelPort
const status = (auth?: string): Promise<number> => rawRequest(port, { path: '/kernel/status', headers: auth === undefined ? [] : [['Authorization', auth]] }).then(r => r.status)
const secret = new TextEncoder().encode(TEST_SECRET)
const now = Math.floor(Date.now() / 1000)
const sign = (claims: Record<string, unknown>, key: Uint8Array = secret, header: Record<string, unknown> = {}): Promise<string> =>
  new SignJWT({ iss: 'hedge', aud: 'hedge-kernel', sub: 't', exp: now + 300, scope: 'kernel:read', ...claims }).setProtectedHeader({ alg: 'HS256', ...header }).sign(key)

t.test('tokens that must fail', async t => {
  const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none' }))}.${base64url.encode(JSON.stringify({ iss: 'hedge', aud: 'hedge-kernel', sub: 't', exp: now + 300, scope: 'kernel:read' }))}.`
  const cases: Array<[string, string | undefined]> = [
    ['no header', undefined],
    ['not bearer', 'Basic dTpw'],
    ['alg none', `Bearer ${unsigned}`],
    ['wrong key', `Bearer ${await sign({}, new TextEncoder().encode('x'.repeat(40)))}`],
    ['expired', `Bearer ${await sign({ exp: now - 60 })}`],
    ['not yet valid', `Bearer ${await sign({ nbf: now + 120 })}`],
    ['wrong issuer', `Bearer ${await sign({ iss: 'someone-else' })}`],
    ['header-supplied key (jku)', `Bearer ${await sign({}, secret, { jku: 'http://127.0.0.1:1/jwks' })}`],
    ['cdp token on the kernel', `Bearer ${await gw.token(['kernel:read', 'cdp:control'], { audience: 'cdp' })}`],
    ['token in a cookie instead', undefined],
  ]
  for (const [name, auth] of cases) t.equal(await status(auth), 401, name)
  const cookie = await rawRequest(port, { path: '/kernel/status', headers: [['Cookie', `token=${await gw.token(['kernel:read'])}`]] })
  t.equal(cookie.status, 401, 'cookies are never read')
  const q = await rawRequest(port, { path: `/kernel/status?token=${await gw.token(['kernel:read'])}` })
  t.equal(q.status, 401, 'query strings are never read')
  t.equal(q.headers['www-authenticate'], 'Bearer')
})

t.test('near misses that must pass', async t => {
  t.equal(await status(`Bearer ${await gw.token(['kernel:read'])}`), 200, 'minted token')
  t.equal(await status(`bearer ${await gw.token(['kernel:read'])}`), 200, 'scheme is case-insensitive')
  t.equal(await status(`Bearer ${await sign({ nbf: now + 2 })}`), 200, 'nbf within clock tolerance')
  t.equal(await status(), 401)
  t.equal((await rawRequest(port, { path: '/health' })).status, 200, 'public route needs no token')
})

t.test('the token is not passed on to the kernel server', async t => {
  const r = await rawRequest(port, {
    method: 'POST',
    path: '/kernel/execute',
    headers: [['Authorization', `Bearer ${await gw.token(['kernel:execute'])}`], ['Content-Type', 'application/json']],
    body: JSON.stringify({ code: 'print("ok")' }),
  })
  t.equal(r.status, 200)
})

t.test('report-only forwards unauthenticated requests and logs; off never asks', async t => {
  const ro = await startTestGateway(t, testPolicy('hedged', { layers: { auth: 'report-only' } }), { kernel: kernel.url })
  t.equal((await rawRequest(ro.kernelPort, { path: '/kernel/status' })).status, 200)
  t.ok(ro.logs.lines.some(l => l.event === 'would-deny' && l.layer === 'auth'))
  const off = await startTestGateway(t, testPolicy('hedged', { layers: { auth: 'off' } }), { kernel: kernel.url })
  t.equal((await rawRequest(off.kernelPort, { path: '/kernel/status' })).status, 200)
})
