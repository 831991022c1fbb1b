// Token forgery and confusion against the kernel API (RFC 8725): `alg: none`, HS256 with a
// guessable secret, a token carrying its own verification key in the header (`jwk`), and a
// genuine but leaked CDP token replayed on the kernel. Each tries to run code that writes a
// canary; the oracle checks the file. Claims copy what a real token carries (iss, aud, sub,
// exp, scope) so the only thing wrong is the forgery itself.
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { Attack, AttackContext } from '../types.ts'
import { bearer, executeCanary } from './kernel.ts'

function claims (ctx: AttackContext): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  const a = ctx.d.policy.auth
  return { iss: a.issuer, aud: a.audiences.kernel, sub: 'attacker', iat: now, exp: now + 600, scope: 'kernel:read kernel:control kernel:execute kernel:admin' }
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')

export const JWT_ATTACKS: Attack[] = [
  {
    id: 'jwt-alg-none',
    category: 'jwt',
    description: 'An unsigned token (`alg: none`, empty signature) with every kernel scope runs code through /kernel/execute.',
    stoppedBy: ['auth'],
    attacker: 'network',
    async run (ctx) {
      const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims(ctx))}.`
      return await executeCanary(ctx, bearer(token), 'alg:none token')
    },
  },
  {
    id: 'jwt-weak-secret',
    category: 'jwt',
    description: 'A token HS256-signed with the guessable secret "secret" runs code through /kernel/execute.',
    stoppedBy: ['auth'],
    attacker: 'network',
    async run (ctx) {
      const token = await new SignJWT(claims(ctx)).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode('secret'))
      return await executeCanary(ctx, bearer(token), 'HS256 "secret" token')
    },
  },
  {
    id: 'jwt-header-key',
    category: 'jwt',
    description: 'A token ES256-signed with the attacker\'s own key, that key embedded in the header (`jwk`), runs code through /kernel/execute.',
    stoppedBy: ['auth'],
    attacker: 'network',
    async run (ctx) {
      const { publicKey, privateKey } = await generateKeyPair('ES256')
      const jwk = await exportJWK(publicKey)
      const token = await new SignJWT(claims(ctx)).setProtectedHeader({ alg: 'ES256', typ: 'JWT', jwk }).sign(privateKey)
      return await executeCanary(ctx, bearer(token), 'ES256 token with its own jwk')
    },
  },
  {
    id: 'jwt-cdp-token-on-kernel',
    category: 'jwt',
    description: 'Scope confusion: a genuine CDP token (leaked from a browser-automation client) replayed on the kernel API to run code.',
    stoppedBy: ['auth'],
    attacker: 'network',
    async run (ctx) {
      const token = await ctx.d.token('cdp', ['cdp:control'])
      return await executeCanary(ctx, bearer(token), token === null ? 'leaked cdp token (none minted: auth off, sent without one)' : 'leaked cdp token')
    },
  },
]
