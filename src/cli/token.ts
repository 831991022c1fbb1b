import { randomBytes } from 'node:crypto'
import { parse, str, oneOf, helpText, UsageError, type FlagSpecs } from './args.ts'
import { loadPolicy } from '../policy/load.ts'
import { mintToken, parseTtl } from '../auth/mint.ts'
import { SCOPES, type Scope } from '../policy/schema.ts'
import type { Command } from './args.ts'

const FLAGS: FlagSpecs = {
  scope: { type: 'string', help: `space-separated scopes (${SCOPES.filter(s => s !== 'public').join(', ')})` },
  ttl: { type: 'string', help: 'lifetime: 30s, 15m, 1h, 7d or seconds', default: '15m' },
  aud: { type: 'string', help: 'service the token is for: kernel or cdp (tokens are not interchangeable)', default: 'kernel' },
  sub: { type: 'string', help: 'subject (who the token identifies); default: a fresh agent-<random>, so per-subject quotas never lump this token with others' },
  policy: { type: 'string', help: 'policy whose auth settings (issuer, audiences, key) to use', default: 'hedged' },
  key: { type: 'string', help: 'private JWK file from "hedge keys" (asymmetric policies)' },
}
const HELP = helpText('hedge token --scope "kernel:read kernel:control" [--ttl 15m] [--aud kernel|cdp]',
  'Mint a development token from the configured key (HS256: the secret in $HEDGE_JWT_SECRET or the policy\'s\nsecretFile). Prints the token alone on stdout.', FLAGS)

export const command: Command = {
  async run (argv) {
    if (argv.includes('--help')) { process.stdout.write(HELP); return 0 }
    const p = parse(argv, FLAGS)
    const scopeText = str(p, 'scope')
    if (scopeText === undefined) throw new UsageError('--scope is required (e.g. --scope "kernel:read")')
    const scopes = scopeText.split(/\s+/).filter(Boolean)
    for (const s of scopes) if (!(SCOPES as readonly string[]).includes(s) || s === 'public') throw new UsageError(`--scope: unknown scope "${s}"`)
    let ttlSeconds: number
    try { ttlSeconds = parseTtl(str(p, 'ttl') ?? '15m') } catch (err) { throw new UsageError(`--ttl: ${(err as Error).message}`) }
    const audience = oneOf(p, 'aud', ['kernel', 'cdp'] as const) ?? 'kernel'
    const policy = loadPolicy(str(p, 'policy') ?? 'hedged')
    const key = str(p, 'key')
    // A distinct subject per minted token unless asked (issue 9, item 9): with the development
    // tokens' subject, a limited token shared their per-subject connection quota and could
    // take all of it. Every token also has its own random jti (mintToken).
    const subject = str(p, 'sub') ?? `agent-${randomBytes(6).toString('hex')}`
    if (subject === '') throw new UsageError('--sub must not be empty')
    const token = await mintToken(policy.auth, {
      audience,
      scopes: scopes as Scope[],
      ttlSeconds,
      subject,
      ...(key !== undefined ? { privateJwkFile: key } : {}),
    })
    process.stdout.write(token + '\n')
    return 0
  },
}
