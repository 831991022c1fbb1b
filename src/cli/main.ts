// `hedge` — thin dispatch to one module per command. Each command parses its own flags
// strictly and returns an exit code; errors become one clear line on stderr.
import { UsageError, type Command } from './args.ts'

const COMMANDS: Record<string, () => Promise<Command>> = {
  sandbox: async () => (await import('./sandbox.ts')).command,
  up: async () => (await import('./up.ts')).command,
  gateway: async () => (await import('./gateway.ts')).command,
  token: async () => (await import('./token.ts')).command,
  keys: async () => (await import('./keys.ts')).command,
  policy: async () => (await import('./policy.ts')).command,
  compare: async () => (await import('./compare.ts')).command,
  bench: async () => (await import('./bench.ts')).command,
  audit: async () => (await import('./audit.ts')).command,
}

const SUMMARIES: Record<string, string> = {
  sandbox: 'start the permissive baseline sandbox (kernel server, Chromium, 9223 forwarder, workspace)',
  up: 'start the sandbox and the gateway in front of it, with a policy',
  gateway: 'start the gateway alone, in front of running upstreams (the sidecar shape)',
  token: 'mint a development token from the configured key',
  keys: 'make an asymmetric key pair and its JWKS',
  policy: 'check a policy file, or print the documentation of every knob',
  compare: 'the A/B comparison: attacks, workflows and overhead against each deployment, with reports',
  bench: 'measure the gateway\'s overhead against direct connections (ratios, same run)',
  audit: 'verify an audit trail (hash chain, rotation, seal)',
}

export function usage (): string {
  const rows = Object.keys(COMMANDS).map(c => `  ${c.padEnd(10)} ${SUMMARIES[c] ?? ''}`)
  return `usage: hedge <command> [options]\n\ncommands:\n${rows.join('\n')}\n\nRun "hedge <command> --help" for a command's options.\n`
}

export async function main (argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage())
    return name === undefined ? 2 : 0
  }
  const load = COMMANDS[name]
  if (load === undefined) {
    process.stderr.write(`hedge: unknown command "${name}"\n\n${usage()}`)
    return 2
  }
  try {
    return await (await load()).run(rest)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`hedge ${name}: ${err.message}\nRun "hedge ${name} --help" for usage.\n`)
      return 2
    }
    process.stderr.write(`hedge ${name}: ${err instanceof Error ? err.message : String(err)}\n`)
    return 1
  }
}
