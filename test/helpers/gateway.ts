// Start a gateway for a test with a policy derived from a shipped one, a fixed test
// secret, and token minting; logs captured as parsed objects for assertions.
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { loadPolicy, derivePolicy } from '../../src/policy/load.ts'
import { startGateway, type Gateway } from '../../src/gateway.ts'
import { mintToken } from '../../src/auth/mint.ts'
import { REDACT_PATHS, type Logger } from '../../src/logger.ts'
import type { Policy, Scope } from '../../src/policy/schema.ts'

export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789abcdef'
export const TEST_ENV: NodeJS.ProcessEnv = { HEDGE_JWT_SECRET: TEST_SECRET }

export interface CapturedLogs { readonly lines: any[], readonly raw: string[], logger: Logger }

export function captureLogs (): CapturedLogs {
  const lines: any[] = []
  const raw: string[] = []
  const dest = new Writable({ write (chunk: Buffer, _enc, cb) { const s = chunk.toString(); raw.push(s); for (const l of s.split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l)); cb() } })
  const logger = pino({ level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, dest)
  return { lines, raw, logger }
}

export function testPolicy (base: string, patch: Record<string, unknown> = {}): Readonly<Policy> {
  return derivePolicy(loadPolicy(base, {}), patch)
}

export interface TestGateway extends Gateway { readonly kernelPort: number, readonly logs: CapturedLogs, token: (scopes: Scope[], o?: { audience?: 'kernel' | 'cdp', ttlSeconds?: number }) => Promise<string> }

export interface TestGatewayExtras { workspace?: { output: string, upload: string }, resolve?: (host: string) => Promise<string[]> }

export async function startTestGateway (t: { teardown (fn: () => unknown): void }, policy: Readonly<Policy>, upstreams: { kernel: string, cdp?: string }, extras: TestGatewayExtras = {}): Promise<TestGateway> {
  const logs = captureLogs()
  const gw = await startGateway({
    policy, kernelUpstream: upstreams.kernel, ...(upstreams.cdp !== undefined ? { cdpUpstream: upstreams.cdp } : {}),
    host: '127.0.0.1', ports: { kernel: 0, cdp: 0, admin: 0, egress: 0 }, logger: logs.logger, env: TEST_ENV,
    ...(extras.workspace !== undefined ? { workspace: extras.workspace } : {}), ...(extras.resolve !== undefined ? { resolve: extras.resolve } : {}),
  })
  t.teardown(() => gw.close())
  return {
    ...gw,
    kernelPort: Number(new URL(gw.urls.kernel).port),
    logs,
    token: (scopes, o = {}) => mintToken(policy.auth, { audience: o.audience ?? 'kernel', scopes, ttlSeconds: o.ttlSeconds ?? 300, env: TEST_ENV }),
  }
}
