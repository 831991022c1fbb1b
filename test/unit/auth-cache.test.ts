// The verified-token cache: keyed by the WHOLE token and the audience, bounded, never
// serving a principal at or past its exp, never remembering a failure.
import t from 'tap'
import { createHmac } from 'node:crypto'
import { validatePolicy } from '../../src/policy/load.ts'
import { createVerifier, type AuthConfig } from '../../src/auth/jwt.ts'

const T0 = 1_700_000_000
const SECRET = 'hedge-unit-test-secret-0123456789abcdef'
const env = { HEDGE_JWT_SECRET: SECRET }

function authCfg (auth: Record<string, unknown> = {}): AuthConfig {
  return validatePolicy({ version: 1, name: 't', layers: {}, auth, hosts: {}, origins: {}, kernel: {}, cdp: {}, egress: {}, listen: {} }, 'test').auth
}
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')
function token (over: Record<string, unknown> = {}, secret = SECRET): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: 'hedge', aud: 'hedge-kernel', sub: 'a', exp: T0 + 60, scope: 'kernel:read', ...over })}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}
function clock (): { now: () => number, set: (s: number) => void } {
  let ms = T0 * 1000
  return { now: () => ms, set: (s: number) => { ms = s * 1000 } }
}

t.test('a second verify of the same token skips verification and returns the same principal', async t => {
  const c = clock()
  const v = await createVerifier(authCfg({ cacheSize: 10 }), { env, now: c.now })
  const tok = token()
  const p1 = await v.verify(tok, 'kernel')
  t.equal(v.stats.verifications, 1)
  const p2 = await v.verify(tok, 'kernel')
  t.equal(v.stats.verifications, 1, 'no second signature check')
  t.equal(v.stats.cacheHits, 1)
  t.equal(p2, p1, 'same frozen principal')
  t.equal(v.stats.cacheEntries, 1)
})

t.test('a cached token is never served at or past exp', async t => {
  const c = clock()
  const v = await createVerifier(authCfg({ cacheSize: 10, clockToleranceSeconds: 0 }), { env, now: c.now })
  const tok = token({ exp: T0 + 60 })
  await v.verify(tok, 'kernel')
  c.set(T0 + 59)
  t.ok(await v.verify(tok, 'kernel'), 'near miss: one second before exp, from cache')
  t.equal(v.stats.verifications, 1)
  c.set(T0 + 60)
  await t.rejects(v.verify(tok, 'kernel'), { code: 'HEDGE_AUTH_INVALID', rule: 'auth.exp' }, 'at exp: rejected')
  t.equal(v.stats.verifications, 2, 'went back to full verification')
  t.equal(v.stats.cacheEntries, 0, 'expired entry dropped')

  // With a tolerance, the cache still stops at exp; full verification applies the tolerance.
  const c2 = clock()
  const tol = await createVerifier(authCfg({ cacheSize: 10, clockToleranceSeconds: 5 }), { env, now: c2.now })
  await tol.verify(tok, 'kernel')
  c2.set(T0 + 62)
  t.ok(await tol.verify(tok, 'kernel'), 'within tolerance: re-verified, passes')
  t.equal(tol.stats.verifications, 2, 'not served from the cache past exp')
  t.equal(tol.stats.cacheEntries, 0, 'not re-cached past exp')
  c2.set(T0 + 65)
  await t.rejects(tol.verify(tok, 'kernel'), { code: 'HEDGE_AUTH_INVALID', rule: 'auth.exp' })
})

t.test('only the exact token string is served from the cache', async t => {
  const c = clock()
  const v = await createVerifier(authCfg({ cacheSize: 10 }), { env, now: c.now })
  const tok = token()
  await v.verify(tok, 'kernel')
  const [h, p, s] = tok.split('.') as [string, string, string]
  const rows: Array<[string, string, string]> = [
    ['same header+payload, other signature', `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`, 'auth.signature'],
    ['same header+payload, signed with another secret', token({}, 'z'.repeat(40)), 'auth.signature'],
    ['truncated (prefix of the cached token)', tok.slice(0, -3), 'auth.signature'],
    ['header+payload only', `${h}.${p}.`, 'auth.signature'],
    ['cached token plus a suffix', `${tok}.x.y`, 'auth.jwe'],
  ]
  for (const [name, bad, rule] of rows) {
    await t.rejects(v.verify(bad, 'kernel'), { code: 'HEDGE_AUTH_INVALID', rule }, name)
  }
  t.equal(v.stats.cacheHits, 0)
  t.ok(await v.verify(tok, 'kernel'), 'near miss: the exact token still hits')
  t.equal(v.stats.cacheHits, 1)
})

t.test('the audience is part of the key', async t => {
  const c = clock()
  const v = await createVerifier(authCfg({ cacheSize: 10 }), { env, now: c.now })
  const kernelOnly = token({ aud: 'hedge-kernel' })
  await v.verify(kernelOnly, 'kernel')
  await t.rejects(v.verify(kernelOnly, 'cdp'), { code: 'HEDGE_AUTH_INVALID', rule: 'auth.aud' }, 'a kernel token cached for kernel is not served to cdp')
  const both = token({ aud: ['hedge-kernel', 'hedge-cdp'] })
  const pk = await v.verify(both, 'kernel')
  const pc = await v.verify(both, 'cdp')
  t.equal(pk.audience, 'kernel')
  t.equal(pc.audience, 'cdp', 'separate entries, each with its own audience')
  t.equal(v.stats.cacheHits, 0)
})

t.test('failures are not cached', async t => {
  const c = clock()
  const v = await createVerifier(authCfg({ cacheSize: 10 }), { env, now: c.now })
  const early = token({ nbf: T0 + 30 })
  await t.rejects(v.verify(early, 'kernel'), { code: 'HEDGE_AUTH_INVALID', rule: 'auth.nbf' })
  t.equal(v.stats.cacheEntries, 0)
  c.set(T0 + 30)
  t.ok(await v.verify(early, 'kernel'), 'the same token passes once valid: its failure was not remembered')
  const bad = token({ iss: 'evil' })
  await t.rejects(v.verify(bad, 'kernel'), { code: 'HEDGE_AUTH_INVALID' })
  await t.rejects(v.verify(bad, 'kernel'), { code: 'HEDGE_AUTH_INVALID' })
  t.equal(v.stats.verifications, 4, 'each failing attempt was fully verified')
})

t.test('bounded, least recently used evicted first', async t => {
  const c = clock()
  const v = await createVerifier(authCfg({ cacheSize: 2 }), { env, now: c.now })
  const [a, b, d] = [token({ sub: 'a' }), token({ sub: 'b' }), token({ sub: 'd' })]
  await v.verify(a, 'kernel')
  await v.verify(b, 'kernel')
  await v.verify(a, 'kernel') // a becomes most recently used
  await v.verify(d, 'kernel') // evicts b
  t.equal(v.stats.cacheEntries, 2)
  const before = v.stats.verifications
  await v.verify(a, 'kernel')
  t.equal(v.stats.verifications, before, 'a still cached')
  await v.verify(b, 'kernel')
  t.equal(v.stats.verifications, before + 1, 'b was evicted')
})

t.test('cacheSize 0 disables the cache', async t => {
  const c = clock()
  const v = await createVerifier(authCfg({ cacheSize: 0 }), { env, now: c.now })
  const tok = token()
  await v.verify(tok, 'kernel')
  await v.verify(tok, 'kernel')
  t.equal(v.stats.verifications, 2)
  t.equal(v.stats.cacheHits, 0)
  t.equal(v.stats.cacheEntries, 0)
})

t.test('close() empties the cache and refuses further verification', async t => {
  const c = clock()
  const v = await createVerifier(authCfg({ cacheSize: 10 }), { env, now: c.now })
  const tok = token()
  await v.verify(tok, 'kernel')
  v.close()
  t.equal(v.stats.cacheEntries, 0)
  await t.rejects(v.verify(tok, 'kernel'), { code: 'HEDGE_AUTH_INVALID', rule: 'auth.closed' })
})
