// The JWT verifier, one section per attack class (docs/threat-model.md, "token theft / forgery").
// Every section has near-misses that MUST pass next to the attacks that must fail, so a
// rule that denies too much shows up as loudly as one that denies too little.
import t from 'tap'
import { createHash, createHmac, generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EncryptJWT, SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import { validatePolicy } from '../../src/policy/load.ts'
import { createVerifier, parseScopeClaim, type AuthConfig, type Verifier } from '../../src/auth/jwt.ts'
import { HedgeError } from '../../src/errors/codes.ts'

const NOW_S = 1_700_000_000
const now = (): number => NOW_S * 1000
const SECRET = 'hedge-unit-test-secret-0123456789abcdef' // 39 bytes
const env = { HEDGE_JWT_SECRET: SECRET }
const dir = mkdtempSync(join(tmpdir(), 'hedge-auth-jwt-'))

function authCfg (auth: Record<string, unknown> = {}): AuthConfig {
  return validatePolicy({ version: 1, name: 't', layers: {}, auth, hosts: {}, origins: {}, kernel: {}, cdp: {}, egress: {}, listen: {} }, 'test').auth
}

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
/** Hand-made HS256 JWS: any header, any payload (SignJWT refuses some of the shapes we need). */
function hs (header: Record<string, unknown>, payload: Record<string, unknown> | string, secret: string | Buffer = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}
const claims = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  iss: 'hedge', aud: 'hedge-kernel', sub: 'agent-1', exp: NOW_S + 600, iat: NOW_S, scope: 'kernel:read', ...over,
})
const good = (over: Record<string, unknown> = {}, header: Record<string, unknown> = {}): string => hs({ alg: 'HS256', typ: 'JWT', ...header }, claims(over))
const without = (k: string): Record<string, unknown> => { const c = claims(); delete c[k]; return c }

async function hsVerifier (auth: Record<string, unknown> = {}): Promise<Verifier> {
  return await createVerifier(authCfg({ cacheSize: 0, ...auth }), { env, now })
}

/** Run a table: `rule` undefined means the token must verify. */
type Asserts = Pick<typeof t, 'notOk' | 'rejects'>
async function table (t: Asserts, v: Verifier, rows: Array<{ name: string, token: string, aud?: 'kernel' | 'cdp', rule?: string }>): Promise<void> {
  for (const r of rows) {
    const aud = r.aud ?? 'kernel'
    if (r.rule === undefined) {
      const p = await v.verify(r.token, aud).catch((e: unknown) => e)
      t.notOk(p instanceof Error, `${r.name}: passes${p instanceof HedgeError ? ` (got ${p.rule ?? ''})` : ''}`)
    } else {
      await t.rejects(v.verify(r.token, aud), { name: 'HedgeError', code: 'HEDGE_AUTH_INVALID', statusCode: 401, rule: r.rule }, `${r.name}: ${r.rule}`)
    }
  }
}

// --- asymmetric fixtures ---------------------------------------------------------------
const rsa = await generateKeyPair('RS256', { extractable: true })
const rsaPub: JWK = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' }
const rsaPem = await exportSPKI(rsa.publicKey)
const ec = await generateKeyPair('ES256', { extractable: true })
const ecPub: JWK = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' }
const jwksFile = join(dir, 'jwks.json')
writeFileSync(jwksFile, JSON.stringify({ keys: [rsaPub, ecPub] }))
async function signAsym (key: CryptoKey, header: Record<string, unknown>, over: Record<string, unknown> = {}): Promise<string> {
  return await new SignJWT(claims(over)).setProtectedHeader({ alg: 'RS256', ...header }).sign(key)
}

t.test('alg none (unsecured JWT) is refused in every spelling', async t => {
  const v = await hsVerifier()
  const noneBody = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}`
  await table(t, v, [
    { name: 'alg none, empty signature', token: `${noneBody}.`, rule: 'auth.alg' },
    { name: 'alg none, junk signature', token: `${noneBody}.AAAA`, rule: 'auth.alg' },
    { name: 'alg None', token: `${b64({ alg: 'None' })}.${b64(claims())}.`, rule: 'auth.alg' },
    { name: 'alg NONE', token: `${b64({ alg: 'NONE' })}.${b64(claims())}.`, rule: 'auth.alg' },
    { name: 'alg missing', token: hs({ typ: 'JWT' }, claims()), rule: 'auth.alg' },
    { name: 'alg hs256 (case)', token: hs({ alg: 'hs256' }, claims()), rule: 'auth.alg' },
    { name: 'alg HS512 (not pinned)', token: `${b64({ alg: 'HS512' })}.${b64(claims())}.${createHmac('sha512', SECRET).update(`${b64({ alg: 'HS512' })}.${b64(claims())}`).digest('base64url')}`, rule: 'auth.alg' },
    { name: 'near miss: HS256', token: good() },
  ])
})

t.test('HS/RS algorithm confusion', async t => {
  const rsV = await createVerifier(authCfg({ algorithms: ['RS256'], jwksFile, cacheSize: 0 }), { now })
  const hsV = await hsVerifier()
  const pubJwkJson = JSON.stringify(rsaPub)
  await table(t, rsV, [
    { name: 'HS256 signed with the RSA public key PEM as secret', token: hs({ alg: 'HS256', kid: 'rsa-1' }, claims(), rsaPem), rule: 'auth.alg' },
    { name: 'HS256 signed with the public JWK JSON as secret', token: hs({ alg: 'HS256', kid: 'rsa-1' }, claims(), pubJwkJson), rule: 'auth.alg' },
    { name: 'ES256 token, policy RS256 only', token: await signAsym(ec.privateKey, { alg: 'ES256', kid: 'ec-1' }), rule: 'auth.alg' },
    { name: 'RS256 header, ES256 key kid', token: await signAsym(rsa.privateKey, { kid: 'ec-1' }), rule: 'auth.kid' },
    { name: 'near miss: RS256 with the right key', token: await signAsym(rsa.privateKey, { kid: 'rsa-1' }) },
  ])
  await table(t, hsV, [
    { name: 'RS256 token, policy HS256', token: await signAsym(rsa.privateKey, { kid: 'rsa-1' }), rule: 'auth.alg' },
    { name: 'near miss: HS256', token: good() },
  ])
})

t.test('issuer must match exactly', async t => {
  const v = await hsVerifier()
  await table(t, v, [
    { name: 'other issuer', token: good({ iss: 'evil' }), rule: 'auth.iss' },
    { name: 'case differs', token: good({ iss: 'Hedge' }), rule: 'auth.iss' },
    { name: 'trailing space', token: good({ iss: 'hedge ' }), rule: 'auth.iss' },
    { name: 'array', token: good({ iss: ['hedge'] }), rule: 'auth.iss' },
    { name: 'missing', token: hs({ alg: 'HS256' }, without('iss')), rule: 'auth.iss' },
    { name: 'near miss: exact', token: good({ iss: 'hedge' }) },
  ])
})

t.test('audience: one per service, not interchangeable', async t => {
  const v = await hsVerifier()
  await table(t, v, [
    { name: 'cdp token on kernel', token: good({ aud: 'hedge-cdp' }), aud: 'kernel', rule: 'auth.aud' },
    { name: 'kernel token on cdp', token: good({ aud: 'hedge-kernel' }), aud: 'cdp', rule: 'auth.aud' },
    { name: 'prefix of the audience', token: good({ aud: 'hedge-kern' }), rule: 'auth.aud' },
    { name: 'audience plus suffix', token: good({ aud: 'hedge-kernelx' }), rule: 'auth.aud' },
    { name: 'array without it', token: good({ aud: ['a', 'hedge-cdp'] }), rule: 'auth.aud' },
    { name: 'missing', token: hs({ alg: 'HS256' }, without('aud')), rule: 'auth.aud' },
    { name: 'near miss: kernel on kernel', token: good({ aud: 'hedge-kernel' }), aud: 'kernel' },
    { name: 'near miss: cdp on cdp', token: good({ aud: 'hedge-cdp' }), aud: 'cdp' },
    { name: 'near miss: array containing it', token: good({ aud: ['other', 'hedge-kernel'] }), aud: 'kernel' },
  ])
  // the audience name comes from the policy, not a constant
  const custom = await hsVerifier({ audiences: { kernel: 'k', cdp: 'c' } })
  await table(t, custom, [
    { name: 'default name under a custom policy', token: good({ aud: 'hedge-kernel' }), rule: 'auth.aud' },
    { name: 'near miss: custom name', token: good({ aud: 'k' }) },
  ])
  const p = await v.verify(good({ aud: 'hedge-cdp' }), 'cdp')
  t.equal(p.audience, 'cdp')
})

t.test('exp: required, finite, honoured with the clock tolerance', async t => {
  const v = await hsVerifier({ clockToleranceSeconds: 5 })
  await table(t, v, [
    { name: 'expired long ago', token: good({ exp: NOW_S - 3600 }), rule: 'auth.exp' },
    { name: 'expired just beyond tolerance', token: good({ exp: NOW_S - 5 }), rule: 'auth.exp' },
    { name: 'missing', token: hs({ alg: 'HS256' }, without('exp')), rule: 'auth.exp' },
    { name: 'string', token: good({ exp: String(NOW_S + 600) }), rule: 'auth.exp' },
    { name: 'null', token: good({ exp: null }), rule: 'auth.exp' },
    { name: 'infinite (1e999)', token: hs({ alg: 'HS256' }, JSON.stringify(claims()).replace(/"exp":\d+/, '"exp":1e999')), rule: 'auth.exp' },
    { name: 'near miss: expired within tolerance', token: good({ exp: NOW_S - 4 }) },
    { name: 'near miss: expires in 1 s', token: good({ exp: NOW_S + 1 }) },
  ])
  const strict = await hsVerifier({ clockToleranceSeconds: 0 })
  await table(t, strict, [
    { name: 'tolerance 0: exp == now', token: good({ exp: NOW_S }), rule: 'auth.exp' },
    { name: 'tolerance 0 near miss: exp == now + 1', token: good({ exp: NOW_S + 1 }) },
  ])
  await t.rejects(v.verify(good({ exp: NOW_S - 60 }), 'kernel'), { message: 'token expired' }, 'client-safe message')
})

t.test('nbf honoured with the clock tolerance', async t => {
  const v = await hsVerifier({ clockToleranceSeconds: 5 })
  await table(t, v, [
    { name: 'nbf in an hour', token: good({ nbf: NOW_S + 3600 }), rule: 'auth.nbf' },
    { name: 'nbf just beyond tolerance', token: good({ nbf: NOW_S + 6 }), rule: 'auth.nbf' },
    { name: 'nbf not a number', token: good({ nbf: 'now' }), rule: 'auth.nbf' },
    { name: 'near miss: nbf within tolerance', token: good({ nbf: NOW_S + 5 }) },
    { name: 'near miss: nbf in the past', token: good({ nbf: NOW_S - 10 }) },
  ])
})

t.test('sub is a required non-empty string', async t => {
  const v = await hsVerifier()
  await table(t, v, [
    { name: 'missing', token: hs({ alg: 'HS256' }, without('sub')), rule: 'auth.sub' },
    { name: 'empty', token: good({ sub: '' }), rule: 'auth.sub' },
    { name: 'number', token: good({ sub: 42 }), rule: 'auth.sub' },
    { name: 'near miss: string', token: good({ sub: 'x' }) },
  ])
  t.equal((await v.verify(good({ sub: 'agent-7' }), 'kernel')).subject, 'agent-7')
})

t.test('header-supplied keys (jku, x5u, jwk, x5c) are refused before verifying', async t => {
  const v = await hsVerifier()
  const rsV = await createVerifier(authCfg({ algorithms: ['RS256'], jwksFile, cacheSize: 0 }), { now })
  const embedded = { kty: 'oct', k: Buffer.from(SECRET).toString('base64url') }
  await table(t, v, [
    { name: 'jku (validly signed)', token: good({}, { jku: 'https://evil.example/jwks.json' }), rule: 'auth.header-key' },
    { name: 'x5u', token: good({}, { x5u: 'https://evil.example/cert.pem' }), rule: 'auth.header-key' },
    { name: 'jwk', token: good({}, { jwk: embedded }), rule: 'auth.header-key' },
    { name: 'x5c', token: good({}, { x5c: ['MIIB'] }), rule: 'auth.header-key' },
    { name: 'jku: null still counts', token: good({}, { jku: null }), rule: 'auth.header-key' },
    { name: 'near miss: kid + typ + cty', token: good({}, { kid: 'whatever', typ: 'JWT', cty: 'x' }) },
  ])
  // an attacker's own RSA key embedded as `jwk`, signature valid under it
  const mine = await generateKeyPair('RS256', { extractable: true })
  const attackerJwk = await exportJWK(mine.publicKey)
  await table(t, rsV, [
    { name: 'RS256 with embedded attacker jwk', token: await signAsym(mine.privateKey, { kid: 'rsa-1', jwk: attackerJwk }), rule: 'auth.header-key' },
    { name: 'RS256 with attacker jku', token: await signAsym(mine.privateKey, { kid: 'rsa-1', jku: 'http://127.0.0.1:1/jwks' }), rule: 'auth.header-key' },
    { name: 'near miss: RS256 plain', token: await signAsym(rsa.privateKey, { kid: 'rsa-1' }) },
  ])
})

t.test('JWKS: kid required and must be known', async t => {
  const v = await createVerifier(authCfg({ algorithms: ['RS256', 'ES256'], jwksFile, cacheSize: 0 }), { now })
  const other = await generateKeyPair('RS256')
  await table(t, v, [
    { name: 'unknown kid', token: await signAsym(rsa.privateKey, { kid: 'rsa-2' }), rule: 'auth.kid' },
    { name: 'no kid', token: await signAsym(rsa.privateKey, {}), rule: 'auth.kid' },
    { name: 'empty kid', token: await signAsym(rsa.privateKey, { kid: '' }), rule: 'auth.kid' },
    { name: 'numeric kid', token: await signAsym(rsa.privateKey, { kid: 1 }), rule: 'auth.kid' },
    { name: 'known kid, wrong key', token: await signAsym(other.privateKey, { kid: 'rsa-1' }), rule: 'auth.signature' },
    { name: 'near miss: rsa-1', token: await signAsym(rsa.privateKey, { kid: 'rsa-1' }) },
    { name: 'near miss: ec-1', token: await signAsym(ec.privateKey, { alg: 'ES256', kid: 'ec-1' }) },
  ])
})

t.test('JWE (encrypted, 5-part) tokens are refused', async t => {
  const v = await hsVerifier()
  const key = Buffer.from(SECRET.slice(0, 32))
  const jwe = await new EncryptJWT(claims()).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(key)
  t.equal(jwe.split('.').length, 5)
  await table(t, v, [
    { name: 'real JWE', token: jwe, rule: 'auth.jwe' },
    { name: 'five junk parts', token: 'a.b.c.d.e', rule: 'auth.jwe' },
    { name: 'JWS with enc header', token: good({}, { enc: 'A256GCM' }), rule: 'auth.jwe' },
    { name: 'JWS with zip header', token: good({}, { zip: 'DEF' }), rule: 'auth.jwe' },
    { name: 'near miss: JWS', token: good() },
  ])
})

t.test('crit and b64 are refused (no extensions understood)', async t => {
  const v = await hsVerifier()
  await table(t, v, [
    { name: 'crit unknown extension', token: good({}, { crit: ['x-ext'], 'x-ext': 1 }), rule: 'auth.crit' },
    { name: 'crit exp', token: good({}, { crit: ['exp'], exp: 1 }), rule: 'auth.crit' },
    { name: 'crit b64 false', token: good({}, { crit: ['b64'], b64: false }), rule: 'auth.crit' },
    { name: 'crit empty array', token: good({}, { crit: [] }), rule: 'auth.crit' },
    { name: 'b64 false without crit', token: good({}, { b64: false }), rule: 'auth.b64' },
    { name: 'b64 true', token: good({}, { b64: true }), rule: 'auth.b64' },
    { name: 'near miss: unknown non-critical header', token: good({}, { 'x-ext': 1 }) },
  ])
})

t.test('tampering breaks the signature', async t => {
  const v = await hsVerifier()
  const tok = good()
  const [h, p, s] = tok.split('.') as [string, string, string]
  const flip = (c: string): string => c === 'A' ? 'B' : 'A'
  const otherPayload = b64(claims({ scope: 'kernel:admin' }))
  await table(t, v, [
    { name: 'first signature char flipped', token: `${h}.${p}.${flip(s[0] ?? '')}${s.slice(1)}`, rule: 'auth.signature' },
    { name: 'signature truncated', token: `${h}.${p}.${s.slice(0, -4)}`, rule: 'auth.signature' },
    { name: 'payload swapped (scope escalation)', token: `${h}.${otherPayload}.${s}`, rule: 'auth.signature' },
    { name: 'signed with another 39-byte secret', token: hs({ alg: 'HS256' }, claims(), 'x'.repeat(39)), rule: 'auth.signature' },
    { name: 'signed with the secret minus one byte', token: hs({ alg: 'HS256' }, claims(), SECRET.slice(0, -1)), rule: 'auth.signature' },
    { name: 'near miss: untouched', token: tok },
  ])
})

t.test('malformed tokens', async t => {
  const v = await hsVerifier()
  await table(t, v, [
    { name: 'empty', token: '', rule: 'auth.malformed' },
    { name: 'two parts', token: 'a.b', rule: 'auth.malformed' },
    { name: 'four parts', token: 'a.b.c.d', rule: 'auth.malformed' },
    { name: 'not base64url', token: `${b64({ alg: 'HS256' })}.${b64(claims())}.ab+/`, rule: 'auth.malformed' },
    { name: 'header not JSON', token: `${b64('nope')}.${b64(claims())}.AAAA`, rule: 'auth.malformed' },
    { name: 'header is an array', token: `${b64(['HS256'])}.${b64(claims())}.AAAA`, rule: 'auth.malformed' },
    { name: 'header not UTF-8', token: `${Buffer.from([0xff, 0xfe]).toString('base64url')}.${b64(claims())}.AAAA`, rule: 'auth.malformed' },
    { name: 'payload not JSON (signed)', token: hs({ alg: 'HS256' }, 'not json'), rule: 'auth.malformed' },
    { name: 'over 8 KiB', token: good({ pad: 'x'.repeat(8200) }), rule: 'auth.malformed' },
    { name: 'near miss: ~6.3 KiB token', token: good({ pad: 'x'.repeat(4500) }) },
  ])
  // @ts-expect-error wrong type on purpose
  await t.rejects(v.verify(undefined, 'kernel'), { code: 'HEDGE_AUTH_INVALID' })
  // @ts-expect-error wrong audience name on purpose
  await t.rejects(v.verify(good(), 'admin'), { code: 'HEDGE_AUTH_INVALID', rule: 'auth.aud' })
})

t.test('scope claim parsing', async t => {
  const cases: Array<[string, unknown, string[] | 'reject']> = [
    ['missing → empty', undefined, []],
    ['empty string → empty', '', []],
    ['one', 'kernel:read', ['kernel:read']],
    ['several', 'kernel:read kernel:control cdp:read', ['kernel:read', 'kernel:control', 'cdp:read']],
    ['unknown ignored', 'kernel:read kernel:root admin', ['kernel:read']],
    ['public never granted', 'public kernel:read', ['kernel:read']],
    ['only public → empty', 'public', []],
    ['case-sensitive', 'KERNEL:READ Kernel:read', []],
    ['double spaces tolerated', '  kernel:read   cdp:read ', ['kernel:read', 'cdp:read']],
    ['tab is not a separator', 'kernel:read\tcdp:read', []],
    ['duplicates collapse', 'cdp:read cdp:read', ['cdp:read']],
    ['array refused', ['kernel:read'], 'reject'],
    ['number refused', 1, 'reject'],
    ['null refused', null, 'reject'],
  ]
  for (const [name, claim, want] of cases) {
    if (want === 'reject') {
      t.throws(() => parseScopeClaim(claim), { code: 'HEDGE_AUTH_INVALID', rule: 'auth.scope-claim' }, name)
    } else {
      t.same([...parseScopeClaim(claim)].sort(), [...want].sort(), name)
    }
  }
  const v = await hsVerifier()
  t.same([...(await v.verify(good({ scope: 'public kernel:admin' }), 'kernel')).scopes], ['kernel:admin'], 'through verify')
  t.same([...(await v.verify(hs({ alg: 'HS256' }, without('scope')), 'kernel')).scopes], [], 'missing through verify')
  await t.rejects(v.verify(good({ scope: ['kernel:admin'] }), 'kernel'), { code: 'HEDGE_AUTH_INVALID', rule: 'auth.scope-claim' })
  t.same([...(await v.verify(good({ scope: 'cdp:read', scp: ['kernel:admin'] }), 'kernel')).scopes], ['cdp:read'], '`scp` is not read')
})

t.test('principal shape: frozen, read-only scopes, non-reversible token id', async t => {
  const v = await hsVerifier()
  const tok = good({ scope: 'kernel:read' })
  const p = await v.verify(tok, 'kernel')
  t.equal(p.tokenId, createHash('sha256').update(tok).digest('hex').slice(0, 12))
  t.match(p.tokenId, /^[0-9a-f]{12}$/)
  t.equal(p.expiresAt, NOW_S + 600)
  t.ok(Object.isFrozen(p))
  t.throws(() => { (p.scopes as Set<string>).add('kernel:admin') }, TypeError)
  t.throws(() => { (p.scopes as Set<string>).delete('kernel:read') }, TypeError)
  t.throws(() => { (p.scopes as Set<string>).clear() }, TypeError)
  t.ok(p.scopes.has('kernel:read'))
  const err = await v.verify(good({ iss: 'evil' }), 'kernel').catch((e: unknown) => e)
  t.ok(err instanceof HedgeError)
  if (err instanceof HedgeError) {
    t.same(err.toBody(), { statusCode: 401, code: 'HEDGE_AUTH_INVALID', error: 'Unauthorized', message: 'token rejected' }, 'rule stays out of the body')
    t.notMatch(err.message, /evil|iss/)
  }
})

t.test('creation fails clearly on missing or unusable key material', async t => {
  const mk = async (auth: Record<string, unknown>, e: NodeJS.ProcessEnv = env): Promise<Verifier> => await createVerifier(authCfg(auth), { env: e, now })
  await t.rejects(mk({}, {}), /HEDGE_JWT_SECRET/, 'no secret')
  await t.rejects(mk({}, { HEDGE_JWT_SECRET: '' }), /HEDGE_JWT_SECRET/, 'empty secret')
  await t.rejects(mk({}, { HEDGE_JWT_SECRET: 'x'.repeat(31) }), /31 bytes, needs at least 32/, '31-byte secret')
  t.ok(await mk({}, { HEDGE_JWT_SECRET: 'x'.repeat(32) }), 'near miss: 32-byte secret')
  t.ok(await mk({ secretEnv: 'OTHER' }, { OTHER: SECRET }), 'secretEnv honoured')
  await t.rejects(mk({ algorithms: ['HS256', 'RS256'], jwksFile }), /cannot be mixed/, 'HS256 + RS256')
  await t.rejects(mk({ algorithms: ['RS256'] }), /jwksFile or auth\.jwksUrl/, 'RS256 without keys')
  await t.rejects(mk({ algorithms: ['RS256'], jwksFile, jwksUrl: 'https://idp.example/jwks' }), /only one/, 'both JWKS sources')
  await t.rejects(mk({ jwksFile }), /algorithms is HS256/, 'jwksFile with the default HS256')
  await t.rejects(mk({ algorithms: ['RS256'], jwksUrl: 'http://idp.example/jwks' }), /https/, 'plain http JWKS URL off loopback')
  await t.rejects(mk({ algorithms: ['RS256'], jwksUrl: 'not a url' }), /not a URL/)
  t.ok(await mk({ algorithms: ['RS256'], jwksUrl: 'http://127.0.0.1:9/jwks' }), 'near miss: http on loopback')
  t.ok(await mk({ algorithms: ['RS256'], jwksUrl: 'http://[::1]:9/jwks' }), 'near miss: http on [::1]')
  t.ok(await mk({ algorithms: ['RS256'], jwksUrl: 'https://idp.example/jwks' }), 'near miss: https')
  await t.rejects(createVerifier({ ...authCfg(), algorithms: ['none'] }, { env }), /not supported/, 'alg none in config')

  const write = (name: string, data: unknown): string => { const f = join(dir, name); writeFileSync(f, typeof data === 'string' ? data : JSON.stringify(data)); return f }
  const rsaPriv = { ...(await exportJWK(rsa.privateKey)), kid: 'p', alg: 'RS256' }
  await t.rejects(mk({ algorithms: ['RS256'], jwksFile: write('priv.json', { keys: [rsaPriv] }) }), /private or symmetric member "d"/, 'private key in JWKS')
  await t.rejects(mk({ algorithms: ['RS256'], jwksFile: write('oct.json', { keys: [{ kty: 'oct', k: 'AAAA', kid: 'o' }] }) }), /member "k"/, 'symmetric key in JWKS')
  await t.rejects(mk({ algorithms: ['RS256'], jwksFile: write('empty.json', { keys: [] }) }), /at least one JWK/)
  await t.rejects(mk({ algorithms: ['RS256'], jwksFile: write('bad.json', '{nope') }), /not JSON/)
  await t.rejects(mk({ algorithms: ['RS256'], jwksFile: join(dir, 'absent.json') }), /cannot read \(ENOENT\)/)
  await t.rejects(mk({ algorithms: ['EdDSA'], jwksFile }), /no key with a "kid" usable for EdDSA/, 'no key for the pinned alg')
  await t.rejects(mk({ algorithms: ['RS256'], jwksFile: write('nokid.json', { keys: [{ ...rsaPub, kid: undefined }] }) }), /no key with a "kid"/)
  await t.rejects(mk({ algorithms: ['RS256'], jwksFile: write('enc.json', { keys: [{ ...rsaPub, use: 'enc' }] }) }), /use "enc"/)
  await t.rejects(mk({ algorithms: ['RS256'], jwksFile: write('dup.json', { keys: [rsaPub, rsaPub] }) }), /unusable/, 'duplicate kid')
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const weakJwk = { ...weak.publicKey.export({ format: 'jwk' }), kid: 'weak', alg: 'RS256' }
  await t.rejects(mk({ algorithms: ['RS256'], jwksFile: write('weak.json', { keys: [weakJwk] }) }), /1024-bit RSA key/, '1024-bit RSA')
})

t.test('secretFile takes precedence and loses one trailing newline', async t => {
  const f = join(dir, 'secret')
  writeFileSync(f, SECRET + '\n')
  const v = await createVerifier(authCfg({ secretFile: f, cacheSize: 0 }), { env: { HEDGE_JWT_SECRET: 'y'.repeat(40) }, now })
  t.ok(await v.verify(good(), 'kernel'), 'file secret used, newline stripped')
  writeFileSync(f, SECRET + '\r\n')
  const v2 = await createVerifier(authCfg({ secretFile: f, cacheSize: 0 }), { env: {}, now })
  t.ok(await v2.verify(good(), 'kernel'), 'CRLF stripped')
  writeFileSync(f, 'short\n')
  await t.rejects(createVerifier(authCfg({ secretFile: f }), { env }), /5 bytes/)
  await t.rejects(createVerifier(authCfg({ secretFile: join(dir, 'nope') }), { env }), /cannot read/)
})
