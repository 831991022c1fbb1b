import { stringify } from 'yaml'
import { parse, helpText, UsageError } from './args.ts'
import { loadPolicy, PolicyError } from '../policy/load.ts'
import { compilePolicy } from '../policy/compile.ts'
import { policyDocs } from '../policy/docs.ts'
import { LAYERS } from '../policy/schema.ts'
import type { Command } from './args.ts'

const HELP = helpText('hedge policy check FILE|NAME  |  hedge policy docs',
  'check: validate and compile a policy (HEDGE_LAYER_* overrides applied) and print the effective settings;\n' +
  'a mistake is reported with its path in the file and exit status 1.\ndocs: print the table of every policy knob (generated from the schema).', {})

export const command: Command = {
  async run (argv) {
    if (argv.includes('--help')) { process.stdout.write(HELP); return 0 }
    const [sub, ...rest] = argv
    if (sub === 'docs') { parse(rest, {}); process.stdout.write(policyDocs()); return 0 }
    if (sub !== 'check') throw new UsageError(sub === undefined ? 'missing subcommand (check or docs)' : `unknown subcommand "${sub}"`)
    const p = parse(rest, {}, 1)
    const file = p.positionals[0]
    if (file === undefined) throw new UsageError('missing FILE')
    try {
      const policy = loadPolicy(file)
      compilePolicy(policy)
      const off = LAYERS.filter(l => policy.layers[l] === 'off')
      process.stdout.write(`# ${policy.name}: valid\n` + (off.length > 0 ? `# layers off: ${off.join(', ')}\n` : '') + stringify(policy))
      return 0
    } catch (err) {
      if (err instanceof PolicyError) { process.stderr.write(err.message + '\n'); return 1 }
      process.stderr.write(`${file}: invalid policy\n  ${(err as Error).message}\n`)
      return 1
    }
  },
}
