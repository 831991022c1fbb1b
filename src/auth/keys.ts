// Key material: generating an asymmetric pair + JWKS (`hedge keys`), and loading what the
// verifier and the minter need (HS256 secret, JWKS file, private JWK). Loading checks
// everything once and throws a clear Error, so a bad key stops startup instead of
// failing (or worse, passing) at request time.
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import {
  calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, importJWK,
  type CryptoKey as JoseCryptoKey, type JSONWebKeySet, type JWK, type LocalJWKSet,
} from 'jose'
import type { Policy } from '../policy/schema.ts'

type AuthConfig = Policy['auth']
// The schema's `algorithms` items type as plain `string` (its Type.Literal list is built with
// .map), so the literal union lives here and configs are narrowed by pinnedAlgorithms().
export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256', 'EdDSA'] as const
export type JwtAlgorithm = typeof JWT_ALGORITHMS[number]
export type AsymmetricAlgorithm = Exclude<JwtAlgorithm, 'HS256'>

/** cfg.algorithms checked against the known list (fail closed on anything else, e.g. 'none'). */
export function pinnedAlgorithms (algorithms: readonly string[]): JwtAlgorithm[] {
  if (!Array.isArray(algorithms) || algorithms.length === 0) throw new Error('auth.algorithms: at least one algorithm is required')
  for (const a of algorithms) {
    if (!(JWT_ALGORITHMS as readonly string[]).includes(a)) throw new Error(`auth.algorithms: ${JSON.stringify(a)} is not supported (one of ${JWT_ALGORITHMS.join(', ')})`)
  }
  return [...new Set(algorithms)] as JwtAlgorithm[]
}

export const SYMMETRIC_ALGS: ReadonlySet<string> = new Set(['HS256'])
export const MIN_HS256_SECRET_BYTES = 32
export const MIN_RSA_BITS = 2048

/** JWK members that only private or symmetric keys have: a JWKS for verification must carry none. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const
const KTY_FOR: Record<AsymmetricAlgorithm, { kty: string, crv?: string }> = {
  RS256: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
}

/**
 * The HS256 secret as bytes: `auth.secretFile` (one trailing newline dropped) takes
 * precedence over the `auth.secretEnv` variable. At least 32 bytes (RFC 7518 §3.2).
 */
export function loadHmacSecret (cfg: Pick<AuthConfig, 'secretFile' | 'secretEnv'>, env: NodeJS.ProcessEnv = process.env): Uint8Array {
  let secret: Buffer
  let source: string
  if (cfg.secretFile !== undefined) {
    source = `auth.secretFile ${cfg.secretFile}`
    try {
      secret = readFileSync(cfg.secretFile)
    } catch (e) {
      throw new Error(`${source}: cannot read the HS256 secret (${(e as NodeJS.ErrnoException).code ?? String(e)})`)
    }
    if (secret.at(-1) === 0x0a) secret = secret.subarray(0, secret.at(-2) === 0x0d ? -2 : -1)
  } else {
    source = `$${cfg.secretEnv}`
    const v = env[cfg.secretEnv]
    if (v === undefined || v === '') throw new Error(`HS256 needs a secret: set ${source} (at least ${MIN_HS256_SECRET_BYTES} bytes) or auth.secretFile`)
    secret = Buffer.from(v, 'utf8')
  }
  if (secret.length < MIN_HS256_SECRET_BYTES) {
    throw new Error(`${source}: HS256 secret is ${secret.length} bytes, needs at least ${MIN_HS256_SECRET_BYTES} (e.g. \`openssl rand -base64 48\`)`)
  }
  return new Uint8Array(secret)
}

function readJson (file: string, what: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new Error(`${what} ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`)
  }
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new Error(`${what} ${file}: not JSON (${(e as Error).message})`)
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Check a JWKS holds only public signature keys; throws with the file and key named. */
export function validatePublicJwks (data: unknown, where: string): JSONWebKeySet {
  if (!isObj(data) || !Array.isArray(data.keys) || data.keys.length === 0) throw new Error(`${where}: expected {"keys": [ ...at least one JWK ]}`)
  data.keys.forEach((k: unknown, i: number) => {
    if (!isObj(k)) throw new Error(`${where}: keys[${i}] is not an object`)
    const secretMember = SECRET_MEMBERS.find(m => Object.hasOwn(k, m))
    if (secretMember !== undefined) throw new Error(`${where}: keys[${i}] has private or symmetric member "${secretMember}"; a JWKS must hold public keys only`)
    if (k.kty === 'oct') throw new Error(`${where}: keys[${i}] is a symmetric (oct) key`)
    if (k.use !== undefined && k.use !== 'sig') throw new Error(`${where}: keys[${i}] has use "${String(k.use)}", expected "sig"`)
  })
  return data as unknown as JSONWebKeySet
}

/**
 * Load a JWKS file into a local key resolver and import every key the pinned algorithms can
 * use now (jose caches the import), so a broken key fails here and the first request pays nothing.
 */
export async function loadJwks (file: string, algorithms: readonly JwtAlgorithm[]): Promise<LocalJWKSet> {
  const where = `auth.jwksFile ${file}`
  const jwks = validatePublicJwks(readJson(file, 'auth.jwksFile'), where)
  const set = createLocalJWKSet(jwks)
  const asym = algorithms.filter((a): a is AsymmetricAlgorithm => a !== 'HS256')
  let usable = 0
  for (const [i, k] of jwks.keys.entries()) {
    if (typeof k.kid !== 'string' || k.kid === '') continue // tokens must name a kid; this key can never be chosen
    for (const alg of asym) {
      const want = KTY_FOR[alg]
      if (k.alg !== undefined ? k.alg !== alg : (k.kty !== want.kty || (want.crv !== undefined && k.crv !== want.crv))) continue
      let key: JoseCryptoKey
      try {
        key = await set({ alg, kid: k.kid })
      } catch (e) {
        throw new Error(`${where}: keys[${i}] (kid "${k.kid}", ${alg}) is unusable: ${(e as Error).message}`)
      }
      const bits = (key.algorithm as { modulusLength?: number }).modulusLength
      if (alg === 'RS256' && (bits === undefined || bits < MIN_RSA_BITS)) throw new Error(`${where}: keys[${i}] (kid "${k.kid}") is a ${bits ?? '?'}-bit RSA key; at least ${MIN_RSA_BITS} required`)
      usable++
    }
  }
  if (usable === 0) throw new Error(`${where}: no key with a "kid" usable for ${asym.join(', ')}`)
  return set
}

export interface PrivateSigningKey { key: JoseCryptoKey, kid: string, alg: AsymmetricAlgorithm }

/** Read a private JWK written by generateKeys() (needs kid and alg, alg among `algorithms`). */
export async function loadPrivateJwk (file: string, algorithms: readonly string[]): Promise<PrivateSigningKey> {
  const data = readJson(file, 'private JWK')
  if (!isObj(data)) throw new Error(`private JWK ${file}: not a JSON object`)
  const { kid, alg } = data
  if (typeof kid !== 'string' || kid === '') throw new Error(`private JWK ${file}: needs a "kid"`)
  if (alg !== 'RS256' && alg !== 'ES256' && alg !== 'EdDSA') throw new Error(`private JWK ${file}: "alg" must be RS256, ES256 or EdDSA, got ${JSON.stringify(alg)}`)
  if (!algorithms.includes(alg)) throw new Error(`private JWK ${file}: alg ${alg} is not among the policy's auth.algorithms (${algorithms.join(', ')})`)
  if (typeof data.d !== 'string') throw new Error(`private JWK ${file}: not a private key (no "d")`)
  let key: JoseCryptoKey | Uint8Array
  try {
    key = await importJWK(data as JWK, alg)
  } catch (e) {
    throw new Error(`private JWK ${file}: cannot import: ${(e as Error).message}`)
  }
  if (key instanceof Uint8Array) throw new Error(`private JWK ${file}: symmetric key`)
  return { key, kid, alg }
}

/** Write atomically (temp file + rename) so a reader never sees half a key and the mode is exact. */
function writeFileAtomic (file: string, text: string, mode: number): void {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`
  try {
    writeFileSync(tmp, text, { mode, flag: 'wx' })
    chmodSync(tmp, mode) // the umask may have narrowed it; make it exact
    renameSync(tmp, file)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
}

/**
 * Generate a key pair for `alg` into `dir`: `private.jwk.json` (mode 0600; kid, alg, use)
 * and `jwks.json` (the public key only). kid is the RFC 7638 thumbprint. Both files are
 * replaced: rotation (serving old + new public keys for a while) is the operator's choice.
 */
export async function generateKeys (
  dir: string, alg: AsymmetricAlgorithm,
): Promise<{ privateJwkFile: string, jwksFile: string, kid: string }> {
  if (!Object.hasOwn(KTY_FOR, alg)) throw new Error(`generateKeys: unsupported algorithm ${String(alg)} (RS256, ES256 or EdDSA)`)
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) })
  const pub = await exportJWK(publicKey)
  const priv = await exportJWK(privateKey)
  const kid = await calculateJwkThumbprint(pub, 'sha256')
  const meta = { kid, alg, use: 'sig' }
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const privateJwkFile = join(dir, 'private.jwk.json')
  const jwksFile = join(dir, 'jwks.json')
  writeFileAtomic(privateJwkFile, JSON.stringify({ ...priv, ...meta }, null, 2) + '\n', 0o600)
  writeFileAtomic(jwksFile, JSON.stringify({ keys: [{ ...pub, ...meta }] }, null, 2) + '\n', 0o644)
  return { privateJwkFile, jwksFile, kid }
}
