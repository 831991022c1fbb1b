import { randomBytes } from 'node:crypto'
import { parse, str, port, oneOf, helpText, type FlagSpecs } from './args.ts'
import { loadPolicy, resolvePolicyPath } from '../policy/load.ts'
import { startStack } from '../app/stack.ts'
import { defaultTopology, TOPOLOGIES } from '../app/topology.ts'
import { readyLine, parseReadyLine } from '../app/ready-line.ts'
import { banner, tokensEnv } from './banner.ts'
import { writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { mintToken } from '../auth/mint.ts'
import { createLogger, logFormatFor } from '../logger.ts'
import { SCOPES, type Scope } from '../policy/schema.ts'
import { untilSignal } from './signals.ts'
import type { Command } from './args.ts'

const DEFAULT_TOPOLOGY = 'documented for the policy named baseline, else hedged; never from a layer switch'
const FLAGS: FlagSpecs = {
  policy: { type: 'string', help: 'policy name (policies/NAME.yaml) or file', default: 'hedged' },
  topology: { type: 'string', help: `the stack's shape: ${TOPOLOGIES.join(', ')} (docs/ready-line.md)`, default: DEFAULT_TOPOLOGY },
  'kernel-port': { type: 'string', help: 'gateway kernel front port (0 = OS chooses)', default: '18888' },
  'cdp-port': { type: 'string', help: 'gateway CDP front port', default: '19223' },
  'admin-port': { type: 'string', help: 'gateway admin port', default: '18080' },
  'egress-port': { type: 'string', help: 'egress guard port (hedged topology)', default: '13128' },
  'sandbox-kernel-port': { type: 'string', help: 'documented and gateway topologies: the sandbox\'s own kernel port', default: '8888' },
  'chromium-port': { type: 'string', help: 'Chromium remote-debugging port (loopback)', default: '9222' },
  'sandbox-cdp-port': { type: 'string', help: 'documented topology only: the permissive forwarder\'s port', default: '9223' },
  workspace: { type: 'string', help: 'workspace root', default: '/mnt/okcomputer as root, else a temp folder' },
  'audit-dir': { type: 'string', help: 'audit trail folder (docs/audit.md), kept after the run', default: '~/.local/state/hedge/audit/<start time>' },
  'log-format': { type: 'string', help: 'json or pretty (logs on stderr; pretty also shows a banner instead of the ready line)', default: 'pretty on a terminal, else json' },
}
const HELP = helpText('hedge up [--policy NAME|FILE] [--topology documented|gateway|hedged] [ports]',
  'Start the sandbox and the gateway in front of it. The topology is the sandbox\'s shape, chosen by --topology or\n' +
  'else by the policy\'s name, never by a layer switch: baseline → documented (kernel on 8888 and the 9223 forwarder\n' +
  'reachable, as documented); any other → hedged (the kernel server on a unix socket only the gateway opens, no 9223\n' +
  'forwarder, Chromium through the egress guard, separate identities, hardened browser). gateway: no forwarder, but\n' +
  'the kernel stays on loopback TCP and Chromium unguarded (a comparison shape). HEDGE_LAYER_EGRESS=off with hedged\n' +
  'keeps the guard in front of Chromium, passing everything.\n' +
  'Prints "ready {json}" (docs/ready-line.md) with every URL and development tokens (one per audience, every scope).\n' +
  'Without HEDGE_JWT_SECRET a random secret is made for this run, so its tokens die with it.', FLAGS)

export const command: Command = {
  async run (argv) {
    if (argv.includes('--help')) { process.stdout.write(HELP); return 0 }
    const p = parse(argv, FLAGS)
    const policyArg = str(p, 'policy') ?? 'hedged'
    const policy = loadPolicy(policyArg)
    const topology = oneOf(p, 'topology', TOPOLOGIES) ?? defaultTopology(policy.name)
    const format = logFormatFor(str(p, 'log-format'), process.stdout)
    const logger = createLogger({ format }, process.stderr)
    const auditDir = str(p, 'audit-dir') ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'hedge', 'audit',
      `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`)
    const env = { ...process.env }
    if ((env.HEDGE_JWT_SECRET ?? '') === '' && policy.auth.secretFile === undefined) env.HEDGE_JWT_SECRET = randomBytes(32).toString('base64url')
    const ws = str(p, 'workspace')
    const stack = await startStack({
      policy, topology, logger, env, auditDir,
      ...(ws !== undefined ? { workspace: ws } : {}),
      ports: {
        kernel: port(p, 'kernel-port') ?? 18888,
        cdp: port(p, 'cdp-port') ?? 19223,
        admin: port(p, 'admin-port') ?? 18080,
        egress: port(p, 'egress-port') ?? 13128,
        sandboxKernel: port(p, 'sandbox-kernel-port') ?? 8888,
        chromium: port(p, 'chromium-port') ?? 9222,
        sandboxCdp: port(p, 'sandbox-cdp-port') ?? 9223,
      },
    })
    try {
      const all = (prefix: string): Scope[] => SCOPES.filter(s => s.startsWith(prefix))
      const token = policy.layers.auth === 'off'
        ? null
        : {
            kernel: await mintToken(policy.auth, { audience: 'kernel', scopes: all('kernel:'), ttlSeconds: 12 * 3600, env }),
            cdp: await mintToken(policy.auth, { audience: 'cdp', scopes: all('cdp:'), ttlSeconds: 12 * 3600, env }),
          }
      const gw = stack.gateway
      const line = readyLine({
        topology, sandbox: stack.sandbox.urls, gateway: gw !== null ? { ...gw.urls, ...(gw.audit !== undefined ? { audit: gw.audit } : {}) } : null,
        policy: policy.name, policyFile: resolvePolicyPath(policyArg), token,
      })
      if (format === 'pretty') {
        // For a person: tokens go to a 0600 file next to the audit trail, never to the screen.
        const tokensFile = token !== null ? join(auditDir, '..', `tokens-${process.pid}.env`) : null
        if (tokensFile !== null && token !== null) writeFileSync(tokensFile, tokensEnv(token), { mode: 0o600 })
        process.stdout.write(banner(parseReadyLine(line), tokensFile))
      } else process.stdout.write(`${line}\n`)
      await untilSignal()
    } finally {
      await stack.stop()
    }
    return 0
  },
}
