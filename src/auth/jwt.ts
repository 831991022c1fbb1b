// JWT verification for both services (kernel API, CDP): pinned algorithms, one audience
// per service, header-supplied keys refused, verified tokens cached by whole token.
// Threat (docs/threat-model.md, "token theft / forgery"): alg:none, HS/RS confusion (RFC 8725 §2.1,
// §3.1), keys smuggled in the header (jku/x5u/jwk/x5c, RFC 8725 §3.10), cross-service
// replay (RFC 8725 §3.9). Everything here fails closed: any doubt is HEDGE_AUTH_INVALID.
//
// Key material is loaded and imported ONCE, at creation; a missing or weak key is an
// Error there (startup fails), never a silent downgrade at request time.
import { createHash, webcrypto } from 'node:crypto'
import { createRemoteJWKSet, jwtVerify, errors, type JWTPayload, type JWTVerifyGetKey, type CryptoKey as JoseCryptoKey } from 'jose'
import { HedgeError } from '../errors/codes.ts'
import { SCOPES, type Policy, type Scope } from '../policy/schema.ts'
import { MAX_AUTHORIZATION_LENGTH } from './bearer.ts'
import { loadHmacSecret, loadJwks, pinnedAlgorithms, SYMMETRIC_ALGS, type JwtAlgorithm } from './keys.ts'

export type AuthConfig = Policy['auth']
export type Audience = 'kernel' | 'cdp'
export type { JwtAlgorithm }

export interface Principal {
  readonly subject: string
  readonly scopes: ReadonlySet<Scope>
  readonly audience: Audience
  /** `exp` claim, epoch seconds. */
  readonly expiresAt: number
  /** First 12 hex of sha256(token): correlates log lines, cannot be turned back into the token. */
  readonly tokenId: string
}

export interface VerifierStats {
  /** Times a token went through full (signature + claims) verification. */
  readonly verifications: number
  readonly cacheHits: number
  readonly cacheEntries: number
}

export interface Verifier {
  /** Resolves the principal, or rejects with HedgeError('HEDGE_AUTH_INVALID', message, rule). */
  verify (token: string, audience: Audience): Promise<Principal>
  readonly stats: VerifierStats
  close (): void
}

export interface VerifierOptions {
  env?: NodeJS.ProcessEnv
  /** Clock in epoch MILLISECONDS (like Date.now). Used for exp/nbf and cache expiry. */
  now?: () => number
  /** JWKS URL fetch timeout (default 3000 ms). */
  jwksTimeoutMs?: number
}

/** Longest token accepted by verify() (same bound as the Authorization header). */
export const MAX_TOKEN_LENGTH = MAX_AUTHORIZATION_LENGTH - 'Bearer '.length
/** Header parameters that carry or point at a key: never trusted, refused outright. */
export const HEADER_KEY_PARAMS = ['jku', 'x5u', 'jwk', 'x5c'] as const

const B64URL = /^[A-Za-z0-9_-]*$/
const GRANTABLE: ReadonlySet<string> = new Set(SCOPES.filter(s => s !== 'public'))
const utf8 = new TextDecoder('utf-8', { fatal: true })

const reject = (rule: string, message = 'token rejected'): HedgeError => new HedgeError('HEDGE_AUTH_INVALID', message, rule)

/** A Set that refuses changes after construction: a cached Principal is shared by requests. */
class FrozenSet<T> extends Set<T> {
  #frozen = false
  constructor (values: Iterable<T>) {
    super()
    for (const v of values) super.add(v)
    this.#frozen = true
  }

  override add (v: T): this { if (this.#frozen) throw new TypeError('read-only set'); return super.add(v) }
  override delete (_v: T): boolean { throw new TypeError('read-only set') }
  override clear (): void { throw new TypeError('read-only set') }
}

/** OAuth-style `scope`: space-separated; unknown entries ignored; `public` never granted. */
export function parseScopeClaim (claim: unknown): ReadonlySet<Scope> {
  if (claim === undefined) return new FrozenSet<Scope>([])
  if (typeof claim !== 'string') throw reject('auth.scope-claim')
  const out: Scope[] = []
  for (const s of claim.split(' ')) if (GRANTABLE.has(s)) out.push(s as Scope)
  return new FrozenSet(out)
}

export function tokenId (token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 12)
}

/**
 * Structural checks on the unverified protected header, BEFORE any key is looked up:
 * shape (3 segments; 5 = JWE), pinned alg, no header-supplied keys, no crit/b64, kid for JWKS.
 * Returns the header for logging/selection; never trusts it for anything else.
 */
export function inspectHeader (token: string, algorithms: ReadonlySet<string>, requireKid: boolean): Record<string, unknown> {
  if (typeof token !== 'string' || token.length === 0) throw reject('auth.malformed')
  if (token.length > MAX_TOKEN_LENGTH) throw reject('auth.malformed')
  const parts = token.split('.')
  if (parts.length === 5) throw reject('auth.jwe')
  if (parts.length !== 3) throw reject('auth.malformed')
  const [h, p, s] = parts as [string, string, string]
  if (h === '' || p === '' || !B64URL.test(h) || !B64URL.test(p) || !B64URL.test(s)) throw reject('auth.malformed')
  let header: unknown
  try {
    header = JSON.parse(utf8.decode(Buffer.from(h, 'base64url')))
  } catch {
    throw reject('auth.malformed')
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw reject('auth.malformed')
  const hdr = header as Record<string, unknown>
  for (const k of HEADER_KEY_PARAMS) if (Object.hasOwn(hdr, k)) throw reject('auth.header-key')
  if (Object.hasOwn(hdr, 'enc') || Object.hasOwn(hdr, 'zip')) throw reject('auth.jwe')
  if (Object.hasOwn(hdr, 'crit')) throw reject('auth.crit')
  if (Object.hasOwn(hdr, 'b64')) throw reject('auth.b64')
  if (typeof hdr.alg !== 'string' || !algorithms.has(hdr.alg)) throw reject('auth.alg')
  if (s === '') throw reject('auth.signature')
  if (requireKid && (typeof hdr.kid !== 'string' || hdr.kid === '')) throw reject('auth.kid')
  return hdr
}

/** Thrown by the JWKS-URL key resolver when the set cannot be fetched (timeout, non-200, bad JSON). */
class JwksUnavailable extends Error {}

function mapJoseError (e: unknown): HedgeError {
  if (e instanceof HedgeError) return e
  if (e instanceof JwksUnavailable) return new HedgeError('HEDGE_AUTH_UNAVAILABLE', undefined, 'auth.jwks-unavailable') // our outage, not the client's bad token
  if (e instanceof errors.JWTExpired) return reject('auth.exp', 'token expired')
  if (e instanceof errors.JWTClaimValidationFailed) {
    switch (e.claim) {
      case 'exp': return reject('auth.exp', 'token must carry a valid expiry')
      case 'nbf': return reject('auth.nbf', 'token not yet valid')
      case 'aud': return reject('auth.aud', 'token not valid for this service')
      case 'iss': return reject('auth.iss')
      case 'sub': return reject('auth.sub')
      default: return reject(`auth.claim-${/^[a-z]{1,16}$/.test(e.claim) ? e.claim : 'other'}`)
    }
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return reject('auth.alg')
  if (e instanceof errors.JWSSignatureVerificationFailed) return reject('auth.signature')
  if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) return reject('auth.kid')
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return reject('auth.malformed')
  if (e instanceof errors.JOSENotSupported) return reject('auth.unsupported')
  return reject('auth.error')
}

/** Bounded LRU of verified principals, keyed by audience + whole token. Successes only. */
class PrincipalCache {
  readonly #map = new Map<string, Principal>()
  constructor (readonly max: number) {}
  get size (): number { return this.#map.size }

  get (key: string, nowSec: number): Principal | undefined {
    const p = this.#map.get(key)
    if (p === undefined) return undefined
    this.#map.delete(key)
    if (nowSec >= p.expiresAt) return undefined // never served past exp (no tolerance on hits)
    this.#map.set(key, p) // most recently used goes last
    return p
  }

  set (key: string, p: Principal, nowSec: number): void {
    if (this.max === 0 || nowSec >= p.expiresAt) return
    this.#map.delete(key)
    this.#map.set(key, p)
    while (this.#map.size > this.max) {
      const oldest = this.#map.keys().next()
      if (oldest.done === true) break
      this.#map.delete(oldest.value)
    }
  }

  clear (): void { this.#map.clear() }
}

function isLoopbackHost (host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

/** Parse auth.jwksUrl: https anywhere, plain http only to loopback (else a MITM could inject keys). */
export function parseJwksUrl (raw: string): URL {
  let url: URL
  try { url = new URL(raw) } catch { throw new Error(`auth.jwksUrl: not a URL: ${raw}`) }
  if (url.protocol === 'https:') return url
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url
  throw new Error(`auth.jwksUrl: must be https:// (plain http:// only to a loopback address), got ${url.protocol}//${url.host}`)
}

async function buildKey (
  cfg: AuthConfig, algs: readonly JwtAlgorithm[], opts: VerifierOptions,
): Promise<{ key: JoseCryptoKey | JWTVerifyGetKey, requireKid: boolean }> {
  const symmetric = algs.filter(a => SYMMETRIC_ALGS.has(a))
  if (symmetric.length > 0 && symmetric.length !== algs.length) {
    throw new Error(`auth.algorithms: HS256 cannot be mixed with asymmetric algorithms (${algs.join(', ')}): that is what algorithm confusion exploits`)
  }
  if (cfg.jwksFile !== undefined && cfg.jwksUrl !== undefined) throw new Error('auth: set only one of jwksFile and jwksUrl')
  if (symmetric.length > 0) {
    if (cfg.jwksFile !== undefined || cfg.jwksUrl !== undefined) {
      throw new Error('auth: jwksFile/jwksUrl is set but auth.algorithms is HS256; set algorithms to RS256/ES256/EdDSA to use a JWKS')
    }
    const secret = loadHmacSecret(cfg, opts.env ?? process.env)
    // Imported once as a non-extractable CryptoKey: jose re-imports a Uint8Array (and a
    // secret KeyObject, which it exports to bytes) on every call.
    const key = await webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
    secret.fill(0)
    return { key: key as JoseCryptoKey, requireKid: false }
  }
  if (cfg.jwksFile !== undefined) return { key: await loadJwks(cfg.jwksFile, algs), requireKid: true }
  if (cfg.jwksUrl !== undefined) {
    const cooldownMs = cfg.jwksCooldownSeconds * 1000
    const remote = createRemoteJWKSet(parseJwksUrl(cfg.jwksUrl), {
      cooldownDuration: cooldownMs,
      cacheMaxAge: Math.max(10 * 60_000, cooldownMs), // a removed key stops being trusted after this
      timeoutDuration: opts.jwksTimeoutMs ?? 3000,
    })
    const resolver: JWTVerifyGetKey = async (header, token) => {
      try {
        return await remote(header, token)
      } catch (e) {
        if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) throw e
        throw new JwksUnavailable('JWKS unavailable', { cause: e })
      }
    }
    return { key: resolver, requireKid: true }
  }
  throw new Error(`auth: algorithms ${algs.join(', ')} need public keys: set auth.jwksFile or auth.jwksUrl`)
}

export async function createVerifier (cfg: AuthConfig, opts: VerifierOptions = {}): Promise<Verifier> {
  const now = opts.now ?? Date.now
  const algorithms = pinnedAlgorithms(cfg.algorithms)
  const algSet: ReadonlySet<string> = new Set(algorithms)
  const { key, requireKid } = await buildKey(cfg, algorithms, opts)
  const audiences = { kernel: cfg.audiences.kernel, cdp: cfg.audiences.cdp } as const
  const cache = new PrincipalCache(cfg.cacheSize)
  const stats = { verifications: 0, cacheHits: 0, get cacheEntries (): number { return cache.size } }
  let closed = false

  async function verifyFully (token: string, audience: Audience, nowMs: number): Promise<Principal> {
    inspectHeader(token, algSet, requireKid)
    stats.verifications++
    let payload: JWTPayload
    try {
      const verifyOpts = {
        algorithms,
        issuer: cfg.issuer,
        audience: audiences[audience],
        clockTolerance: cfg.clockToleranceSeconds,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(nowMs),
      }
      // Two call sites keep jose's overloads (key vs. resolver) happy under strict types.
      payload = typeof key === 'function'
        ? (await jwtVerify(token, key, verifyOpts)).payload
        : (await jwtVerify(token, key, verifyOpts)).payload
    } catch (e) {
      throw mapJoseError(e)
    }
    // jose checked exp is a number; JSON `1e999` parses to Infinity ("never expires").
    if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) throw reject('auth.exp', 'token must carry a valid expiry')
    if (typeof payload.sub !== 'string' || payload.sub === '') throw reject('auth.sub')
    const scopes = parseScopeClaim(payload.scope)
    return Object.freeze({ subject: payload.sub, scopes, audience, expiresAt: payload.exp, tokenId: tokenId(token) })
  }

  return {
    stats,
    async verify (token: string, audience: Audience): Promise<Principal> {
      if (closed) throw reject('auth.closed')
      if (audience !== 'kernel' && audience !== 'cdp') throw reject('auth.aud')
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw reject('auth.malformed')
      const nowMs = now()
      const cacheKey = `${audience} ${token}`
      const hit = cache.get(cacheKey, nowMs / 1000)
      if (hit !== undefined) { stats.cacheHits++; return hit }
      const p = await verifyFully(token, audience, nowMs)
      if (!closed) cache.set(cacheKey, p, now() / 1000)
      return p
    },
    close (): void {
      closed = true
      cache.clear()
    },
  }
}
