// Assemble the gateway from a policy: the kernel front, the CDP front, the egress guard
// and the admin listener. Each front is built from the same compiled policy and verifier.
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
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

export interface GatewayConfig {
  policy: Readonly<Policy>
  kernelUpstream: string // http://127.0.0.1:8888 or unix:/path
  cdpUpstream?: string // http://127.0.0.1:9222
  host?: string
  ports?: Partial<{ kernel: number, cdp: number, admin: number, egress: number }>
  /** An egress guard started earlier (hedge up starts it before Chromium); else one is started when the layer is on. */
  egressGuard?: EgressGuard
  /** DNS for the egress guard (tests map names to loopback with it). */
  resolve?: Resolver
  logger: Logger
  env?: NodeJS.ProcessEnv
  /** The sandbox's workspace zones: downloads are confined to output/, file inputs to upload/ and output/. */
  workspace?: WorkspaceDirs
}

export interface Gateway {
  readonly compiled: CompiledPolicy
  readonly urls: { kernel: string, cdp?: string, admin: string, egress?: string }
  close: () => Promise<void>
}

function hostForUrl (host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}

async function listenNode (server: Server | import('node:https').Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  return (server.address() as AddressInfo).port
}

export async function startGateway (cfg: GatewayConfig): Promise<Gateway> {
  const { policy, logger } = cfg
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
  try {
    const tlsFiles = tls ? { tls: { cert: policy.listen.tlsCert as string, key: policy.listen.tlsKey as string } } : {}
    const kernel: FastifyInstance = await buildKernelFront({ compiled, upstream: cfg.kernelUpstream, verifier, logger, ...tlsFiles })
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
      cdpPort = await listenNode(cdp.server, cfg.ports?.cdp ?? policy.listen.cdpPort, host)
    }

    let egress = cfg.egressGuard
    if (egress === undefined && compiled.mode('egress') !== 'off') {
      egress = await startEgressGuard({ compiled, host, port: cfg.ports?.egress ?? policy.listen.egressPort, logger, ...(cfg.resolve !== undefined ? { resolve: cfg.resolve } : {}) })
    }
    if (egress !== undefined) { const e = egress; closers.push(() => e.close()) }

    const probes: ReadinessProbe[] = [{ name: 'kernel', url: cfg.kernelUpstream.startsWith('unix:') ? `${cfg.kernelUpstream}:/health` : new URL('/health', cfg.kernelUpstream).href }]
    if (cfg.cdpUpstream !== undefined) probes.push({ name: 'cdp', url: new URL('/json/version', cfg.cdpUpstream).href })
    const admin = createAdminServer(probes, logger)
    guardListener(admin, limits, logger, 'admin')
    closers.push(() => new Promise(resolve => { admin.close(() => { resolve() }); admin.closeAllConnections() }))
    const adminPort = await listenNode(admin, cfg.ports?.admin ?? policy.listen.adminPort, host)

    const h = hostForUrl(host)
    logger.info({ event: 'gateway-listening', policy: policy.name, layers: policy.layers }, 'gateway listening')
    return {
      compiled,
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
