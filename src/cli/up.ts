import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, str, port, helpText, type FlagSpecs } from './args.ts'
import { loadPolicy, resolvePolicyPath } from '../policy/load.ts'
import { startSandbox } from '../sandbox/stack.ts'
import { startGateway } from '../gateway.ts'
import { compilePolicy } from '../policy/compile.ts'
import { startEgressGuard, type EgressGuard } from '../egress/guard.ts'
import { mintToken } from '../auth/mint.ts'
import { createLogger } from '../logger.ts'
import { SCOPES, type Scope } from '../policy/schema.ts'
import { untilSignal } from './signals.ts'
import type { Command } from './main.ts'

const FLAGS: FlagSpecs = {
  policy: { type: 'string', help: 'policy name (policies/NAME.yaml) or file', default: 'hedged' },
  'kernel-port': { type: 'string', help: 'gateway kernel front port (0 = OS chooses)', default: '18888' },
  'cdp-port': { type: 'string', help: 'gateway CDP front port', default: '19223' },
  'admin-port': { type: 'string', help: 'gateway admin port', default: '18080' },
  'egress-port': { type: 'string', help: 'egress guard port (hedged shape)', default: '13128' },
  'sandbox-kernel-port': { type: 'string', help: 'documented shape only: the sandbox\'s own kernel port', default: '8888' },
  'chromium-port': { type: 'string', help: 'Chromium remote-debugging port (loopback)', default: '9222' },
  'sandbox-cdp-port': { type: 'string', help: 'documented shape only: the permissive forwarder\'s port', default: '9223' },
  workspace: { type: 'string', help: 'workspace root', default: '/mnt/okcomputer as root, else a temp folder' },
}
const HELP = helpText('hedge up [--policy NAME|FILE] [ports]',
  'Start the sandbox and the gateway in front of it. With a policy whose egress layer is off (baseline) the\n' +
  'sandbox keeps its documented shape (8888, 9223 reachable); otherwise the hedged shape: the kernel server on a\n' +
  'unix socket only the gateway opens, no 9223 forwarder, Chromium through the egress guard.\n' +
  'Prints "ready {json}" with every URL and development tokens (one per audience, every scope). Without\n' +
  'HEDGE_JWT_SECRET a random secret is made for this run, so its tokens die with it.', FLAGS)

export const command: Command = {
  summary: 'start the sandbox and the gateway',
  async run (argv) {
    if (argv.includes('--help')) { process.stdout.write(HELP); return 0 }
    const p = parse(argv, FLAGS)
    const policyArg = str(p, 'policy') ?? 'hedged'
    const policy = loadPolicy(policyArg)
    const logger = createLogger({}, process.stderr)
    const env = { ...process.env }
    if ((env.HEDGE_JWT_SECRET ?? '') === '' && policy.auth.secretFile === undefined) env.HEDGE_JWT_SECRET = randomBytes(32).toString('base64url')
    const hedgedShape = policy.layers.egress !== 'off'
    const sockDir = hedgedShape ? await mkdtemp(join(tmpdir(), 'hedge-run-')) : undefined
    const ws = str(p, 'workspace')
    // The guard first: Chromium is started pointing at it.
    const egress: EgressGuard | undefined = hedgedShape ? await startEgressGuard({ compiled: compilePolicy(policy), port: port(p, 'egress-port') ?? 13128, logger }) : undefined
    const sandbox = await startSandbox({
      ...(egress !== undefined ? { egressProxy: egress.url } : {}),
      kernelPort: port(p, 'sandbox-kernel-port') ?? 8888,
      chromiumPort: port(p, 'chromium-port') ?? 9222,
      cdpPort: port(p, 'sandbox-cdp-port') ?? 9223,
      ...(ws !== undefined ? { workspace: ws } : {}),
      ...(sockDir !== undefined ? { kernelUds: join(sockDir, 'kernel.sock'), forwarder: false } : {}),
      ...(hedgedShape ? { identities: 'separate' as const, browserHardening: 'hedged' as const } : {}),
      logger,
    })
    try {
      const gw = await startGateway({
        policy, logger, env,
        ...(egress !== undefined ? { egressGuard: egress } : {}),
        kernelUpstream: sandbox.urls.kernel,
        cdpUpstream: sandbox.urls.chromium,
        workspace: { output: sandbox.workspace.output, upload: sandbox.workspace.upload },
        ports: { kernel: port(p, 'kernel-port') ?? 18888, cdp: port(p, 'cdp-port') ?? 19223, admin: port(p, 'admin-port') ?? 18080 },
      })
      const all = (prefix: string): Scope[] => SCOPES.filter(s => s.startsWith(prefix))
      const token = policy.layers.auth === 'off'
        ? null
        : {
            kernel: await mintToken(policy.auth, { audience: 'kernel', scopes: all('kernel:'), ttlSeconds: 12 * 3600, env }),
            cdp: await mintToken(policy.auth, { audience: 'cdp', scopes: all('cdp:'), ttlSeconds: 12 * 3600, env }),
          }
      process.stdout.write(`ready ${JSON.stringify({ sandbox: sandbox.urls, gateway: gw.urls, policy: policy.name, policyFile: resolvePolicyPath(policyArg), token })}\n`)
      await untilSignal()
      await gw.close()
    } finally {
      await sandbox.stop()
      await egress?.close()
      if (sockDir !== undefined) await rm(sockDir, { recursive: true, force: true })
    }
    return 0
  },
}
