// The kernel-API front (default :18888 → the sandbox's :8888). One handler, one chain,
// readable top to bottom:
//   canonicalise → host → origin / preflight → route lookup → authenticate → authorise
//   → body → forward (re-serialised) → rewrite response (CORS, redaction)
// Each stage either passes or throws a HedgeError (enforce) / logs "would deny" (report-only).
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { readFileSync } from 'node:fs'
import type { CompiledPolicy, CompiledRoute } from '../policy/compile.ts'
import { HedgeError } from '../errors/codes.ts'
import { redactUrl } from '../logger.ts'
import type { Logger } from '../logger.ts'
import type { Verifier, Principal } from '../auth/jwt.ts'
import { canonicalisePath } from '../layers/canonical-path.ts'
import { applyVerdict } from '../layers/apply.ts'
import { checkHost } from '../layers/host.ts'
import { checkOrigin, readOrigin } from '../layers/origin.ts'
import { authenticate } from '../layers/auth.ts'
import { checkBody } from './body.ts'
import { corsPreflight, rewriteResponseHeaders } from './cors.ts'
import { redactKernelSecrets } from './redact.ts'
import { sendError } from '../errors/render.ts'
import { createUpstream, endToEndHeaders, endToEndResponseHeaders, forward } from './forward.ts'
import { guardListener, listenerLimitsFromPolicy } from '../net/listener-limits.ts'

export interface KernelFrontOptions {
  compiled: CompiledPolicy
  upstream: string // http://127.0.0.1:8888 or unix:/path/to/socket
  verifier: Verifier | null
  logger: Logger
  /** PEM files: serve HTTPS (policy listen.tlsCert / listen.tlsKey). */
  tls?: { cert: string, key: string }
}

// Headers some frameworks read as "the real method"; the route decision is made on the
// request line only, so they are dropped before forwarding (never trusted, never passed on).
const METHOD_OVERRIDE = ['x-http-method-override', 'x-http-method', 'x-method-override']
const FORWARDED = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-real-ip']

export async function buildKernelFront (o: KernelFrontOptions): Promise<FastifyInstance> {
  const { compiled: cp, logger } = o
  const bodyOn = cp.mode('body') !== 'off'
  const app = Fastify({
    ...(o.tls !== undefined ? { https: { cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key) } } : {}),
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }), // our audit lines are the request log
    bodyLimit: bodyOn ? cp.policy.kernel.maxBodyBytes : 64 * 1024 * 1024,
    return503OnClosing: true,
    // Malformed URLs the router cannot even parse are answered in our shape, not fastify's.
    frameworkErrors: (err, req, reply) => { sendError(reply, new HedgeError('HEDGE_PATH_INVALID', undefined, 'router'), req.raw, logger) },
  })
  // Every body arrives as raw bytes: the body layer decides and re-serialises; with the
  // layer off the bytes pass unchanged (the baseline is byte-for-byte transparent).
  // Silent sockets, slowloris, connection caps (before listen: node arms its sweep then).
  guardListener(app.server, listenerLimitsFromPolicy(cp.policy.listen.connections), logger, 'kernel')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => { done(null, body) })
  const upstream = createUpstream(o.upstream)
  app.addHook('onClose', async () => { upstream.agent.destroy(); upstream.fresh.destroy() })

  const trusted = new Set(cp.policy.hosts.trustedProxies)

  async function handle (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const raw = req.raw
    const url = raw.url ?? '/'
    // 1. canonicalise once; tricks are refused, never normalised into another route
    let path: string
    if (cp.mode('routes') !== 'off') {
      const c = canonicalisePath(url)
      if (!c.ok) applyVerdict(cp, { layer: 'routes', code: 'HEDGE_PATH_INVALID', rule: `path.${c.reason}` }, raw, logger)
      path = c.ok ? c.path : url.split('?')[0] ?? url
    } else {
      path = url.split('?')[0] ?? url
    }
    // 2. host (DNS rebinding) before anything else can happen
    if (cp.mode('host') !== 'off') applyVerdict(cp, checkHost(cp, raw, trusted), raw, logger)
    // 3. origin: the gateway answers preflights itself when the layer enforces
    const originMode = cp.mode('origin')
    if (originMode !== 'off') {
      if (raw.method === 'OPTIONS' && raw.headers['access-control-request-method'] !== undefined && readOrigin(raw).kind !== 'absent') {
        applyVerdict(cp, checkOrigin(cp, raw), raw, logger)
        if (originMode === 'enforce') { corsPreflight(cp, req, reply); return reply }
      } else {
        applyVerdict(cp, checkOrigin(cp, raw), raw, logger)
      }
    }
    // 4. route lookup (also tells authentication whether the route is public)
    const match = cp.matchRoute(raw.method ?? '', path)
    const route: CompiledRoute | undefined = match.kind === 'match' ? match.route : undefined
    // 5. authenticate
    let principal: Principal | undefined
    if (cp.mode('auth') !== 'off' && route?.scope !== 'public') {
      principal = await authenticate(cp, o.verifier, raw, 'kernel', logger)
    }
    // 6. authorise
    if (cp.mode('routes') !== 'off') {
      if (match.kind === 'none') applyVerdict(cp, { layer: 'routes', code: 'HEDGE_ROUTE_UNKNOWN', rule: 'kernel.routes(default-deny)' }, raw, logger)
      else if (match.kind === 'method') {
        reply.header('allow', match.allowed.join(', '))
        applyVerdict(cp, { layer: 'routes', code: 'HEDGE_METHOD_NOT_ALLOWED', rule: 'kernel.routes(method)' }, raw, logger)
      } else if (match.route.action === 'deny') applyVerdict(cp, { layer: 'routes', code: 'HEDGE_ROUTE_DENIED', rule: match.route.rule }, raw, logger)
      else if (principal !== undefined && match.route.scope !== 'public' && match.route.scope !== undefined && !principal.scopes.has(match.route.scope)) {
        applyVerdict(cp, { layer: 'routes', code: 'HEDGE_SCOPE_MISSING', rule: match.route.rule, message: `this route needs scope "${match.route.scope}"` }, raw, logger)
      }
    }
    // 7. body: JSON only, strictly parsed, re-serialised
    const body = checkBody(cp, raw, req.body as Buffer | undefined, route, logger)
    // 8. forward the target byte-exact, with the headers and body the chain decided
    const redact = cp.mode('routes') === 'enforce' && route?.action === 'redact'
    const headers = endToEndHeaders(raw.headers)
    if (cp.mode('auth') !== 'off') delete headers.authorization // the kernel never needs our tokens
    for (const k of METHOD_OVERRIDE) delete headers[k]
    if (cp.mode('host') !== 'off') for (const k of FORWARDED) delete headers[k]
    if (redact) delete headers['accept-encoding'] // we must read the answer to redact it
    if (body !== undefined) {
      if (body.header === undefined) delete headers['content-type']
      else headers['content-type'] = body.header
    }
    let res
    try {
      res = await forward(upstream, {
        method: raw.method ?? 'GET', target: url, headers, body: body?.bytes, timeoutMs: cp.policy.kernel.upstreamTimeoutMs,
        onRetry: code => { logger.info({ event: 'upstream-retry', cause: code, method: raw.method, url: redactUrl(url) }, 'reused upstream connection was closed under the request; sent again on a new one') },
      })
    } catch (err) {
      logger.warn({ event: 'upstream-error', code: (err as HedgeError).code, cause: ((err as Error).cause as { code?: string } | undefined)?.code, url: redactUrl(url) }, 'upstream failed')
      throw err
    }
    // 9. rewrite the response: our CORS instead of the sandbox's; redaction
    void reply.code(res.statusCode ?? 502).headers(rewriteResponseHeaders(cp, raw, endToEndResponseHeaders(res.headers)) as Record<string, string | string[]>)
    if (redact) { await redactKernelSecrets(reply, res, logger); return reply }
    return reply.send(res)
  }

  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    try {
      return (await handle(req, reply)) ?? reply
    } catch (err) {
      sendError(reply, err, req.raw, logger)
      return reply
    }
  }
  app.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'], url: '*', handler })
  app.setNotFoundHandler(handler)
  app.setErrorHandler((err, req, reply) => { sendError(reply, err, req.raw, logger) })
  return app
}
