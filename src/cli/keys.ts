import { parse, str, oneOf, helpText, type FlagSpecs } from './args.ts'
import { generateKeys } from '../auth/keys.ts'
import type { Command } from './args.ts'

const FLAGS: FlagSpecs = {
  alg: { type: 'string', help: 'RS256, ES256 or EdDSA', default: 'ES256' },
  out: { type: 'string', help: 'directory to write into', default: 'certs' },
}
const HELP = helpText('hedge keys [--alg ES256] [--out certs]',
  'Make a key pair for asymmetric tokens: a private JWK (mode 0600, for "hedge token --key") and a JWKS\n' +
  'with the public key (for the policy\'s auth.jwksFile). Private keys are never committed.', FLAGS)

export const command: Command = {
  async run (argv) {
    if (argv.includes('--help')) { process.stdout.write(HELP); return 0 }
    const p = parse(argv, FLAGS)
    const alg = oneOf(p, 'alg', ['RS256', 'ES256', 'EdDSA'] as const) ?? 'ES256'
    const r = await generateKeys(str(p, 'out') ?? 'certs', alg)
    process.stdout.write(JSON.stringify({ alg, kid: r.kid, privateJwkFile: r.privateJwkFile, jwksFile: r.jwksFile }) + '\n')
    return 0
  },
}
