// Minting tokens for development and tests (`hedge token`, `hedge up`): the same policy
// section that verifies them decides the algorithm, issuer and audiences, so a minted
// token is exactly what the verifier expects. Never mints `public` or an unknown scope.
import { randomBytes } from 'node:crypto'
import { SignJWT } from 'jose'
import { SCOPES, type Policy, type Scope } from '../policy/schema.ts'
import { loadHmacSecret, loadPrivateJwk, pinnedAlgorithms, SYMMETRIC_ALGS } from './keys.ts'

type AuthConfig = Policy['auth']

/** Longest lifetime a minted token may have (30 days). */
export const MAX_TTL_SECONDS = 30 * 24 * 3600
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const

/** '30s' | '15m' | '1h' | '2d' | '900' (bare = seconds) → seconds, 1 s .. 30 days. */
export function parseTtl (s: string): number {
  const m = typeof s === 'string' ? /^([0-9]{1,9})([smhd]?)$/.exec(s.trim()) : null
  if (m === null) throw new Error(`invalid TTL ${JSON.stringify(s)}: use a whole number with an optional unit, e.g. 30s, 15m, 1h, 2d or 900`)
  const seconds = Number(m[1]) * UNIT_SECONDS[(m[2] === '' ? 's' : m[2]) as keyof typeof UNIT_SECONDS]
  if (seconds < 1) throw new Error(`invalid TTL ${JSON.stringify(s)}: must be at least 1 second`)
  if (seconds > MAX_TTL_SECONDS) throw new Error(`invalid TTL ${JSON.stringify(s)}: at most ${MAX_TTL_SECONDS / 86_400} days`)
  return seconds
}

export interface MintOptions {
  audience: 'kernel' | 'cdp'
  scopes: Scope[]
  ttlSeconds: number
  subject?: string
  env?: NodeJS.ProcessEnv
  /** Private JWK (from `hedge keys`) for RS256/ES256/EdDSA policies. */
  privateJwkFile?: string
  /** Clock in epoch milliseconds (tests). */
  now?: () => number
}

export async function mintToken (cfg: AuthConfig, o: MintOptions): Promise<string> {
  if (o.audience !== 'kernel' && o.audience !== 'cdp') throw new Error(`mintToken: audience must be "kernel" or "cdp", got ${JSON.stringify(o.audience)}`)
  if (!Number.isInteger(o.ttlSeconds) || o.ttlSeconds < 1 || o.ttlSeconds > MAX_TTL_SECONDS) {
    throw new Error(`mintToken: ttlSeconds must be a whole number from 1 to ${MAX_TTL_SECONDS}, got ${String(o.ttlSeconds)}`)
  }
  const scopes: Scope[] = []
  for (const s of o.scopes) {
    if (s === 'public') throw new Error('mintToken: "public" is not a grantable scope (it marks routes that need no token)')
    if (!(SCOPES as readonly string[]).includes(s)) throw new Error(`mintToken: unknown scope ${JSON.stringify(s)} (one of: ${SCOPES.filter(x => x !== 'public').join(', ')})`)
    if (!scopes.includes(s)) scopes.push(s)
  }
  const subject = o.subject ?? 'hedge-dev'
  if (typeof subject !== 'string' || subject === '') throw new Error('mintToken: subject must be a non-empty string')

  const nowSec = Math.floor((o.now ?? Date.now)() / 1000)
  const claims: Record<string, unknown> = { jti: randomBytes(16).toString('base64url') }
  if (scopes.length > 0) claims.scope = scopes.join(' ')
  const jwt = new SignJWT(claims)
    .setIssuer(cfg.issuer)
    .setAudience(cfg.audiences[o.audience])
    .setSubject(subject)
    .setIssuedAt(nowSec)
    .setExpirationTime(nowSec + o.ttlSeconds)

  const algs = pinnedAlgorithms(cfg.algorithms)
  if (algs.some(a => SYMMETRIC_ALGS.has(a))) {
    if (o.privateJwkFile !== undefined) throw new Error('mintToken: the policy uses HS256; a private JWK is not used (set auth.algorithms to an asymmetric algorithm)')
    const secret = loadHmacSecret(cfg, o.env ?? process.env)
    try {
      return await jwt.setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(secret)
    } finally {
      secret.fill(0)
    }
  }
  if (o.privateJwkFile === undefined) throw new Error(`mintToken: the policy uses ${algs.join(', ')}; pass the private JWK file written by \`hedge keys\``)
  const { key, kid, alg } = await loadPrivateJwk(o.privateJwkFile, algs)
  return await jwt.setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key)
}
