// `hedge audit verify PATH…`: check an audit trail's chain (docs/audit.md).
import { parse, helpText, UsageError, type FlagSpecs } from './args.ts'
import { verifyTrail } from '../audit/verify.ts'
import type { Command } from './args.ts'

const FLAGS: FlagSpecs = {
  'key-env': { type: 'string', help: 'environment variable holding the HMAC key of a keyed trail', default: 'HEDGE_AUDIT_KEY' },
  json: { type: 'boolean', help: 'print the result as JSON' },
}
const HELP = helpText('hedge audit verify FOLDER|FILE… [--key-env HEDGE_AUDIT_KEY] [--json]',
  'Verify an audit trail: every line links to the one before, sequence numbers run without gaps, rotated files\n' +
  'continue each other, and a cleanly closed file ends where its seal note says. Exit 0 when intact, 1 naming the\n' +
  'first broken line.', FLAGS)

export const command: Command = {
  async run (argv) {
    if (argv.includes('--help')) { process.stdout.write(HELP); return 0 }
    const p = parse(argv, FLAGS, 64)
    const [verb, ...paths] = p.positionals
    if (verb !== 'verify') throw new UsageError('the only subcommand is "verify"')
    if (paths.length === 0) throw new UsageError('give the trail folder or its files, oldest first')
    const keyEnv = typeof p.values['key-env'] === 'string' ? p.values['key-env'] : 'HEDGE_AUDIT_KEY'
    const keyText = process.env[keyEnv]
    const key = keyText !== undefined && keyText !== '' ? Buffer.from(keyText, 'utf8') : undefined
    const r = verifyTrail(paths, key)
    if (p.values.json === true) process.stdout.write(JSON.stringify(r) + '\n')
    else if (r.ok) process.stdout.write(`intact: ${r.lines} lines${r.sealed ? ', sealed' : ', not sealed (still open, or the writer stopped)'}${r.continuation ? ', continuing an earlier file' : ''}\n`)
    else process.stdout.write(`broken: ${r.broken?.file ?? '?'} line ${r.broken?.line ?? '?'}: ${r.broken?.reason ?? ''}\n`)
    return r.ok ? 0 : 1
  },
}
