// JWKS over HTTP from a loopback server this test starts on 127.0.0.1:0: key rotation,
// the refetch cooldown (an unknown-kid flood costs at most one fetch per cooldown), and
// failing closed when the key server misbehaves.
import t from 'tap'
import { createServer, type Server, type ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AddressInfo } from 'node:net'
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import { validatePolicy } from '../../src/policy/load.ts'
import { createVerifier, type AuthConfig } from '../../src/auth/jwt.ts'

interface KeyServer { url: string, fetches: number, handler: (res: ServerResponse) => void, server: Server }

async function keyServer (t: Pick<typeof import('tap').default, 'teardown'>, jwks: { keys: JWK[] }): Promise<KeyServer> {
  const ks: KeyServer = { url: '', fetches: 0, handler: res => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(jwks)) }, server: undefined as unknown as Server }
  ks.server = createServer((req, res) => {
    if (req.url !== '/jwks.json') { res.statusCode = 404; res.end(); return }
    ks.fetches++
    ks.handler(res)
  })
  await new Promise<void>(resolve => ks.server.listen(0, '127.0.0.1', resolve))
  ks.url = `http://127.0.0.1:${(ks.server.address() as AddressInfo).port}/jwks.json`
  t.teardown(() => { ks.server.closeAllConnections(); ks.server.close() })
  return ks
}

function authCfg (auth: Record<string, unknown>): AuthConfig {
  return validatePolicy({ version: 1, name: 't', layers: {}, auth: { algorithms: ['ES256'], cacheSize: 0, ...auth }, hosts: {}, origins: {}, kernel: {}, cdp: {}, egress: {}, listen: {} }, 'test').auth
}
async function pair (kid: string): Promise<{ kid: string, priv: CryptoKey, pub: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  return { kid, priv: privateKey, pub: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } }
}
async function sign (k: { kid: string, priv: CryptoKey }, kid = k.kid): Promise<string> {
  return await new SignJWT({ scope: 'kernel:read' }).setProtectedHeader({ alg: 'ES256', kid })
    .setIssuer('hedge').setAudience('hedge-kernel').setSubject('a').setExpirationTime('5m').sign(k.priv)
}

t.test('rotation: a new kid is picked up after the cooldown, not before', async t => {
  const a = await pair('key-a')
  const b = await pair('key-b')
  const jwks = { keys: [a.pub] }
  const ks = await keyServer(t, jwks)
  // Signing is the slow part on a loaded machine: sign everything before the clock matters.
  const tokA = await sign(a)
  const tokB = await sign(b)
  const junk = await Promise.all(Array.from({ length: 25 }, async (_, i) => await sign(a, `junk-${i}`)))
  const junkX = await sign(a, 'junk-x')
  const v = await createVerifier(authCfg({ jwksUrl: ks.url, jwksCooldownSeconds: 3 }))
  t.equal(ks.fetches, 0, 'nothing fetched before the first token')

  t.equal((await v.verify(tokA, 'kernel')).subject, 'a')
  t.equal(ks.fetches, 1)
  t.ok(await v.verify(tokA, 'kernel'))
  t.equal(ks.fetches, 1, 'keys cached between tokens')

  jwks.keys = [a.pub, b.pub] // the issuer rotates: B published
  await t.rejects(v.verify(tokB, 'kernel'), { code: 'HEDGE_AUTH_INVALID', rule: 'auth.kid' }, 'inside the cooldown: B is still unknown')
  for (const j of junk) await t.rejects(v.verify(j, 'kernel'), { code: 'HEDGE_AUTH_INVALID', rule: 'auth.kid' })
  t.equal(ks.fetches, 1, 'an unknown-kid flood inside the cooldown triggers no fetch')

  await sleep(3100)
  t.equal((await v.verify(tokB, 'kernel')).subject, 'a', 'after the cooldown: B verifies')
  t.equal(ks.fetches, 2, 'exactly one refetch')
  await t.rejects(v.verify(junkX, 'kernel'), { rule: 'auth.kid', code: 'HEDGE_AUTH_INVALID' })
  t.equal(ks.fetches, 2, 'cooldown restarted by the refetch')

  jwks.keys = [b.pub] // A retired; its tokens still verify until the cached set ages out (cacheMaxAge)
  t.ok(await v.verify(await sign(a), 'kernel'), 'a retired key is trusted until the cache ages out')
  v.close()
})

t.test('fails closed when the key server misbehaves', async t => {
  const a = await pair('key-a')
  const tok = await sign(a)
  const ks = await keyServer(t, { keys: [a.pub] })
  const mk = async (): Promise<ReturnType<typeof createVerifier>> => await createVerifier(authCfg({ jwksUrl: ks.url, jwksCooldownSeconds: 1 }), { jwksTimeoutMs: 300 })

  const rows: Array<[string, (res: ServerResponse) => void]> = [
    ['500', res => { res.statusCode = 500; res.end('{}') }],
    ['redirect to a JWKS elsewhere', res => { res.statusCode = 302; res.setHeader('location', 'http://127.0.0.1:1/jwks.json'); res.end() }],
    ['not JSON', res => { res.end('<html>') }],
    ['not a JWKS', res => { res.end('{"keys": 1}') }],
    ['private key in the set', res => { res.end(JSON.stringify({ keys: [{ ...a.pub, d: 'AAAA' }] })) }],
    ['hangs past the timeout', () => { /* never answers */ }],
  ]
  for (const [name, handler] of rows) {
    ks.handler = handler
    const v = await mk()
    await t.rejects(v.verify(tok, 'kernel'), { code: 'HEDGE_AUTH_UNAVAILABLE', rule: 'auth.jwks-unavailable' }, name)
    v.close()
  }

  ks.handler = res => { res.end(JSON.stringify({ keys: [a.pub] })) }
  const v = await mk()
  t.ok(await v.verify(tok, 'kernel'), 'near miss: a healthy server')
  v.close()
})

t.test('a failed fetch is retried on the next token (no poisoned state)', async t => {
  const a = await pair('key-a')
  const tok = await sign(a)
  const ks = await keyServer(t, { keys: [a.pub] })
  const good = ks.handler
  ks.handler = res => { res.statusCode = 503; res.end() }
  const v = await createVerifier(authCfg({ jwksUrl: ks.url, jwksCooldownSeconds: 30 }))
  await t.rejects(v.verify(tok, 'kernel'), { code: 'HEDGE_AUTH_UNAVAILABLE', rule: 'auth.jwks-unavailable' })
  ks.handler = good
  t.ok(await v.verify(tok, 'kernel'), 'the server is back: the next token verifies')
  t.equal(ks.fetches, 2)
  v.close()
})

t.test('a dead key server URL (nothing listening) fails closed', async t => {
  const a = await pair('key-a')
  const ks = await keyServer(t, { keys: [] })
  const url = ks.url
  ks.server.close()
  const v = await createVerifier(authCfg({ jwksUrl: url }), { jwksTimeoutMs: 500 })
  await t.rejects(v.verify(await sign(a), 'kernel'), { code: 'HEDGE_AUTH_UNAVAILABLE', rule: 'auth.jwks-unavailable' })
})
