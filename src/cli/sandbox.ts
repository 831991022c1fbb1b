import { parse, str, port, helpText, UsageError, type FlagSpecs } from './args.ts'
import { startSandbox } from '../sandbox/stack.ts'
import { createLogger } from '../logger.ts'
import { untilSignal } from './signals.ts'
import type { Command } from './args.ts'

export const SANDBOX_FLAGS: FlagSpecs = {
  host: { type: 'string', help: 'bind address for the kernel server and forwarder (0.0.0.0 in the container)', default: '127.0.0.1' },
  'kernel-port': { type: 'string', help: 'kernel server port (0 = OS chooses)', default: '8888' },
  'chromium-port': { type: 'string', help: 'Chromium remote-debugging port, loopback only', default: '9222' },
  'cdp-port': { type: 'string', help: 'permissive CDP forwarder port', default: '9223' },
  workspace: { type: 'string', help: 'workspace root', default: '/mnt/okcomputer as root, else a temp folder' },
  headful: { type: 'boolean', help: 'run Chromium with a window (needs a display)' },
  'kernel-uds': { type: 'string', help: 'hedged shape: serve the kernel API only on this unix socket' },
  'no-forwarder': { type: 'boolean', help: 'hedged shape: do not start the permissive 9223 forwarder' },
  'egress-proxy': { type: 'string', help: 'hedged shape: Chromium --proxy-server (the gateway\'s egress guard)' },
  identities: { type: 'string', help: 'shared (documented: one agent uid) or separate (hedged: kernel as hedge-agent, Chromium as hedge-browser; root only)', default: 'shared' },
  'browser-hardening': { type: 'string', help: 'off (documented) or hedged (fresh profile, downloads into output/, managed policies; root only)', default: 'off' },
  'dedicated-container': { type: 'boolean', help: 'this launcher is alone in its container: the hedged browser\'s managed policies go to /etc/chromium/policies/managed (no CAP_SYS_ADMIN needed)' },
}

/** One of `allowed`, or a usage error naming the flag (no silent fallback to a weaker shape). */
export function choice<T extends string> (value: string | undefined, name: string, allowed: readonly T[], dflt: T): T {
  if (value === undefined) return dflt
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got "${value}"`)
  return value as T
}
const HELP = helpText('hedge sandbox [options]',
  'Start the baseline sandbox exactly as documented, without Docker: the kernel server (no auth, CORS *),\n' +
  'Chromium with --no-sandbox and CDP on loopback, the permissive 9223 forwarder, and the workspace zones.\n' +
  'Prints one line "ready {json}" when every part answers its health check; Ctrl-C/SIGTERM stops everything.', SANDBOX_FLAGS)

export const command: Command = {
  async run (argv) {
    if (argv.includes('--help')) { process.stdout.write(HELP); return 0 }
    const p = parse(argv, SANDBOX_FLAGS)
    const logger = createLogger({}, process.stderr)
    const egress = str(p, 'egress-proxy')
    const uds = str(p, 'kernel-uds')
    const identities = choice(str(p, 'identities'), 'identities', ['shared', 'separate'] as const, 'shared')
    const hardening = choice(str(p, 'browser-hardening'), 'browser-hardening', ['off', 'hedged'] as const, 'off')
    const dedicated = p.values['dedicated-container'] === true
    const sandbox = await startSandbox({
      host: str(p, 'host') ?? '127.0.0.1',
      kernelPort: port(p, 'kernel-port') ?? 8888,
      chromiumPort: port(p, 'chromium-port') ?? 9222,
      cdpPort: port(p, 'cdp-port') ?? 9223,
      ...(str(p, 'workspace') !== undefined ? { workspace: str(p, 'workspace') as string } : {}),
      headless: p.values.headful !== true,
      ...(uds !== undefined ? { kernelUds: uds } : {}),
      forwarder: p.values['no-forwarder'] !== true,
      ...(egress !== undefined ? { egressProxy: egress } : {}),
      identities,
      browserHardening: hardening,
      browserPolicies: dedicated ? 'system' : 'namespace',
      logger,
    })
    process.stdout.write(`ready ${JSON.stringify({ sandbox: sandbox.urls })}\n`)
    await untilSignal()
    await sandbox.stop()
    return 0
  },
}
