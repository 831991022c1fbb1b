import { join } from 'node:path'
import { parse, str, port, helpText, UsageError, type FlagSpecs } from './args.ts'
import { parseUpstream } from '../net/upstream.ts'
import { loadPolicy } from '../policy/load.ts'
import { startGateway } from '../gateway.ts'
import { createLogger } from '../logger.ts'
import { untilSignal } from './signals.ts'
import type { Command } from './args.ts'

const FLAGS: FlagSpecs = {
  policy: { type: 'string', help: 'policy name (policies/NAME.yaml) or file', default: 'hedged' },
  'kernel-upstream': { type: 'string', help: 'kernel server: http://HOST:PORT or unix:/path/to/socket', default: 'http://127.0.0.1:8888' },
  'cdp-upstream': { type: 'string', help: 'Chromium DevTools endpoint', default: 'http://127.0.0.1:9222' },
  host: { type: 'string', help: 'listen address (policy listen.host)' },
  'kernel-port': { type: 'string', help: 'kernel front port (policy listen.kernelPort; 0 = OS chooses)' },
  'cdp-port': { type: 'string', help: 'CDP front port (policy listen.cdpPort)' },
  'admin-port': { type: 'string', help: 'admin port: /healthz /readyz /metrics, no token (policy listen.adminPort)' },
  'egress-port': { type: 'string', help: 'egress guard port, when the egress layer is on (policy listen.egressPort)' },
  workspace: { type: 'string', help: 'the sandbox workspace root as Chromium sees it (downloads confined to its output/, file inputs to upload/ and output/)' },
}
const HELP = helpText('hedge gateway --policy hedged [--kernel-upstream URL] [--cdp-upstream URL] [ports]',
  'Run the gateway alone, in front of upstreams that are already running: the sidecar shape.\nPrints one line "ready {json}" with the listeners\' URLs when it serves; logs are JSON on stderr.', FLAGS)

export const command: Command = {
  async run (argv) {
    if (argv.includes('--help')) { process.stdout.write(HELP); return 0 }
    const p = parse(argv, FLAGS)
    const policy = loadPolicy(str(p, 'policy') ?? 'hedged')
    const logger = createLogger({}, process.stderr)
    const ports = { kernel: port(p, 'kernel-port'), cdp: port(p, 'cdp-port'), admin: port(p, 'admin-port'), egress: port(p, 'egress-port') }
    const ws = str(p, 'workspace')
    const kernelUpstream = str(p, 'kernel-upstream') ?? 'http://127.0.0.1:8888'
    try { parseUpstream(kernelUpstream) } catch (err) { throw new UsageError(`--kernel-upstream: ${(err as Error).message}`) }
    const cdpUpstream = str(p, 'cdp-upstream') ?? 'http://127.0.0.1:9222'
    try {
      if (parseUpstream(cdpUpstream).kind !== 'tcp') throw new Error('Chromium\'s DevTools endpoint is http://HOST:PORT')
    } catch (err) { throw new UsageError(`--cdp-upstream: ${(err as Error).message}`) }
    const gw = await startGateway({
      policy,
      kernelUpstream,
      cdpUpstream,
      ...(str(p, 'host') !== undefined ? { host: str(p, 'host') as string } : {}),
      ports: Object.fromEntries(Object.entries(ports).filter(([, v]) => v !== undefined)),
      logger,
      ...(ws !== undefined ? { workspace: { output: join(ws, 'output'), upload: join(ws, 'upload') } } : {}),
    })
    process.stdout.write(`ready ${JSON.stringify({ gateway: gw.urls, policy: policy.name })}\n`)
    await untilSignal()
    await gw.close()
    return 0
  },
}
