// Assemble the gateway from a policy: the kernel front, the CDP front, the egress guard
// and the admin listener. Each front is built from the same compiled policy and verifier.
import { createHash } from 'node:crypto'
import { isIP } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Policy } from './policy/schema.ts'
import { compilePolicy, type CompiledPolicy } from './policy/compile.ts'
import { createVerifier, type Verifier } from './auth/jwt.ts'
import { buildKernelFront } from './kernel/front.ts'
import { createAdminServer, type ReadinessProbe } from './admin.ts'
import { TicketStore } from './auth/tickets.ts'
import { compileCdpFilter, type WorkspaceDirs } from './cdp/filter.ts'
import { createCdpFront } from './cdp/front.ts'
import { startEgressGuard, type EgressGuard, type Resolver } from './egress/guard.ts'
import type { Logger } from './logger.ts'
import { guardListener, listenerLimitsFromPolicy } from './net/listener-limits.ts'
import { raiseNofile } from './net/nofile.ts'
import { classifyAddress, isLocalhostName } from './net/address-policy.ts'
import { audit } from './audit/trail.ts'
import { setPolicyInfo } from './metrics.ts'
import { closeServer, listen } from './net/server.ts'
import { formatUpstream, parseUpstream, probeTarget } from './net/upstream.ts'

export interface GatewayConfig {
  policy: Readonly<Policy>
  /** http://127.0.0.1:8888 or unix:/path (net/upstream.ts parseUpstream: anything else is refused). */
  kernelUpstream: string
  cdpUpstream?: string // http://127.0.0.1:9222
  host?: string
  ports?: Partial<{ kernel: number, cdp: number, admin: number, egress: number }>
  /**
   * An egress guard started earlier (the stack starts it before Chromium); null: none, the browser
   * is not behind one (app/stack.ts topologies without it); absent: one is started when the layer is on.
   */
  egressGuard?: EgressGuard | null
  /** DNS for the egress guard (tests map names to loopback with it). */
  resolve?: Resolver
  logger: Logger
  env?: NodeJS.ProcessEnv
  /** The sandbox's workspace zones: downloads are confined to output/, file inputs to upload/ and output/. */
  workspace?: WorkspaceDirs
  /** Audit trail folder when the policy's audit.dir is empty (hedge up: its run folder). None → no trail. */
  auditDir?: string
}

export interface Gateway {
  readonly compiled: CompiledPolicy
  readonly urls: { kernel: string, cdp?: string, admin: string, egress?: string }
  /** The current audit file, when a trail is written. */
  readonly audit?: string
  close: () => Promise<void>
}

/** A listen address only this machine reaches (node:net parses it; names other than localhost are not). */
function isLoopbackHost (host: string): boolean {
  return isLocalhostName(host) || (isIP(host) !== 0 && classifyAddress(host) === 'loopback')
}

function hostForUrl (host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}

export async function startGateway (cfg: GatewayConfig): Promise<Gateway> {
  const { policy, logger } = cfg
  const kernelUpstream = parseUpstream(cfg.kernelUpstream) // before anything listens: a bad upstream starts nothing
  if (cfg.cdpUpstream !== undefined && parseUpstream(cfg.cdpUpstream).kind !== 'tcp') {
    throw new Error(`the CDP upstream must be http://HOST:PORT, got ${cfg.cdpUpstream}`)
  }
  const compiled = compilePolicy(policy)
  const host = cfg.host ?? policy.listen.host
  if ((policy.listen.tlsCert === undefined) !== (policy.listen.tlsKey === undefined)) throw new Error('listen.tlsCert and listen.tlsKey go together')
  const tls = policy.listen.tlsCert !== undefined
  const scheme = tls ? 'https' : 'http'
  const verifier: Verifier | null = compiled.mode('auth') === 'off' ? null : await createVerifier(policy.auth, { env: cfg.env ?? process.env })

  // four listeners, each connection possibly with an upstream leg
  raiseNofile(policy.listen.connections.nofile, 8 * policy.listen.connections.maxConnections + 256, logger)
  const limits = listenerLimitsFromPolicy(policy.listen.connections)
  const closers: Array<() => Promise<void>> = []
  const policySha = createHash('sha256').update(JSON.stringify(policy)).digest('hex')
  setPolicyInfo(policy.name, policySha)
  const auditDir = policy.audit.dir !== '' ? policy.audit.dir : cfg.auditDir
  if (auditDir !== undefined) {
    const keyText = (cfg.env ?? process.env)[policy.audit.keyEnv]
    const w = audit.open({
      dir: auditDir, maxBytes: policy.audit.maxFileBytes, maxFiles: policy.audit.maxFiles,
      ...(keyText !== undefined && keyText !== '' ? { key: Buffer.from(keyText, 'utf8') } : {}),
    }, err => { logger.error({ err, dir: auditDir }, 'audit trail write failed: no further lines will be written') })
    audit.record('policy.load', { policy: policy.name, sha256: policySha, layers: policy.layers })
    logger.info({ event: 'audit-open', path: w.path, genesis: w.genesisLink, keyed: keyText !== undefined && keyText !== '' }, 'audit trail open')
    closers.push(async () => { audit.close() })
  }
  try {
    const tlsFiles = tls ? { tls: { cert: policy.listen.tlsCert as string, key: policy.listen.tlsKey as string } } : {}
    const kernelFront = { compiled, upstream: formatUpstream(kernelUpstream), verifier, logger, ...tlsFiles }
    const kernel: FastifyInstance = await buildKernelFront(kernelFront)
    closers.push(async () => { await kernel.close() })
    const kernelAddr = await kernel.listen({ port: cfg.ports?.kernel ?? policy.listen.kernelPort, host })
    const kernelPort = new URL(kernelAddr).port

    let cdpPort: number | undefined
    if (cfg.cdpUpstream !== undefined) {
      const tickets = new TicketStore({ ttlSeconds: policy.auth.ticketTtlSeconds, maxPerPrincipal: policy.auth.ticketsPerPrincipal, maxEntries: policy.auth.maxTickets })
      const filter = compileCdpFilter(policy.cdp, cfg.workspace)
      const cdp = createCdpFront({
        compiled, filter, upstream: cfg.cdpUpstream, verifier, tickets, logger,
        ...tlsFiles,
      })
      closers.push(() => cdp.close())
      guardListener(cdp.server, limits, logger, 'cdp')
      cdpPort = await listen(cdp.server, cfg.ports?.cdp ?? policy.listen.cdpPort, host)
    }

    let egress = cfg.egressGuard ?? undefined
    if (cfg.egressGuard === undefined && compiled.mode('egress') !== 'off') {
      egress = await startEgressGuard({ compiled, host, port: cfg.ports?.egress ?? policy.listen.egressPort, logger, ...(cfg.resolve !== undefined ? { resolve: cfg.resolve } : {}) })
    }
    if (egress !== undefined) { const e = egress; closers.push(() => e.close()) }

    const probes: ReadinessProbe[] = [{ name: 'kernel', url: probeTarget(kernelUpstream, '/health') }]
    if (cfg.cdpUpstream !== undefined) probes.push({ name: 'cdp', url: new URL('/json/version', cfg.cdpUpstream).href })
    const admin = createAdminServer(probes, logger, { decisionsView: isLoopbackHost(host) })
    guardListener(admin, limits, logger, 'admin')
    closers.push(() => closeServer(admin))
    const adminPort = await listen(admin, cfg.ports?.admin ?? policy.listen.adminPort, host)

    const h = hostForUrl(host)
    logger.info({ event: 'gateway-listening', policy: policy.name, layers: policy.layers }, 'gateway listening')
    return {
      compiled,
      ...(audit.path !== undefined ? { audit: audit.path } : {}),
      urls: { kernel: `${scheme}://${h}:${kernelPort}`, ...(cdpPort !== undefined ? { cdp: `${scheme}://${h}:${cdpPort}` } : {}), admin: `http://${h}:${adminPort}`, ...(egress !== undefined ? { egress: egress.url } : {}) },
      async close () {
        for (const c of closers.reverse()) await c().catch(() => {})
        verifier?.close()
      },
    }
  } catch (err) {
    for (const c of closers.reverse()) await c().catch(() => {})
    verifier?.close()
    throw err
  }
}
