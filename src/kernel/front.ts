// The kernel-API front (default :18888 → the sandbox's :8888). One handler, one chain,
// readable top to bottom in handle(): one numbered stage per layer, each a pure decision
// (src/layers/, kernel/headers.ts) whose Verdict goes through applyVerdict: 'deny' throws
// the HedgeError the error renderer answers with, 'would-deny' (report-only) is logged and
// the request carries on as it came.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { IncomingMessage } from 'node:http'
import { readFileSync } from 'node:fs'
import type { CompiledPolicy } from '../policy/compile.ts'
import { HedgeError } from '../errors/codes.ts'
import { redactUrl } from '../logger.ts'
import type { Logger } from '../logger.ts'
import type { Verifier } from '../auth/jwt.ts'
import { applyVerdict } from '../layers/apply.ts'
import { checkHost } from '../layers/host.ts'
import { allowedOrigin, checkOrigin, isPreflight } from '../layers/origin.ts'
import { decidePath, decideRoute, findRoute } from '../layers/routes.ts'
import { authenticate } from '../layers/auth.ts'
import { decideBody } from '../layers/body.ts'
import { preflightHeaders, rewriteRequestHeaders, rewriteResponseHeaders } from './headers.ts'
import { redactKernelSecrets } from './redact.ts'
import { sendError } from '../errors/render.ts'
import { createUpstream, forward, type ForwardRequest } from './forward.ts'
import { guardListener, listenerLimitsFromPolicy } from '../net/listener-limits.ts'

export interface KernelFrontOptions {
  compiled: CompiledPolicy
  upstream: string // http://127.0.0.1:8888 or unix:/path/to/socket
  verifier: Verifier | null
  logger: Logger
  /** PEM files: serve HTTPS (policy listen.tlsCert / listen.tlsKey). */
  tls?: { cert: string, key: string }
}

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
  const timeoutMs = cp.policy.kernel.upstreamTimeoutMs

  async function handle (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const raw = req.raw
    const url = raw.url ?? '/'
    const method = raw.method ?? ''
    // 1. canonical path
    const { path, verdict: pathVerdict } = decidePath(url)
    applyVerdict(cp, pathVerdict, raw, logger)
    // 2. host (DNS rebinding), before anything else can happen
    applyVerdict(cp, checkHost(cp, raw, trusted), raw, logger)
    // 3. origin; a preflight is answered here when the layer enforces (never forwarded)
    applyVerdict(cp, checkOrigin(cp, raw), raw, logger)
    if (cp.mode('origin') === 'enforce' && isPreflight(raw)) {
      const h = preflightHeaders(allowedOrigin(cp, raw), raw.headers['access-control-request-method'], cp.policy.origins.maxAgeSeconds)
      return reply.code(204).headers(h).send()
    }
    // 4. route the request line names (authentication asks whether it is public)
    const route = findRoute(cp, method, path)
    // 5. authenticate
    const needsToken = cp.mode('auth') !== 'off' && route?.scope !== 'public'
    const principal = needsToken ? await authenticate(cp, o.verifier, raw, 'kernel', logger) : undefined
    // 6. authorise: default deny, method, denied routes, scope
    const decision = decideRoute(cp, method, path, principal)
    if (decision.allow !== undefined && cp.mode('routes') !== 'off') reply.header('allow', decision.allow)
    applyVerdict(cp, decision.verdict, raw, logger)
    // 7. body: JSON only, strictly parsed, re-serialised
    const body = decideBody(cp.mode('body'), {
      contentType: raw.headers['content-type'], contentEncoding: raw.headers['content-encoding'],
      bytes: req.body as Buffer | undefined, routeNeedsBody: route?.body === true,
    })
    applyVerdict(cp, body.verdict, raw, logger)
    // 8. forward the target byte-exact, with the headers and body the chain decided
    const redact = cp.mode('routes') === 'enforce' && route?.action === 'redact'
    const headers = rewriteRequestHeaders(raw.headers, { auth: cp.mode('auth'), host: cp.mode('host'), redact, body: body.forward })
    const res = await forwardLogged(raw, { method: raw.method ?? 'GET', target: url, headers, body: body.forward?.bytes, timeoutMs })
    // 9. the response: our CORS instead of the sandbox's; redaction
    const resHeaders = rewriteResponseHeaders(res.headers, { origin: cp.mode('origin'), allowedOrigin: allowedOrigin(cp, raw) })
    void reply.code(res.statusCode ?? 502).headers(resHeaders)
    if (redact) { await redactKernelSecrets(reply, res, logger); return reply }
    return reply.send(res)
  }

  /** forward() with its retries and failures in the log. */
  async function forwardLogged (raw: IncomingMessage, r: ForwardRequest): Promise<IncomingMessage> {
    const url = redactUrl(r.target)
    const onRetry = (cause: string | undefined): void => {
      const msg = 'reused upstream connection was closed under the request; sent again on a new one'
      logger.info({ event: 'upstream-retry', cause, method: raw.method, url }, msg)
    }
    try {
      return await forward(upstream, { ...r, onRetry })
    } catch (err) {
      const cause = ((err as Error).cause as { code?: string } | undefined)?.code
      logger.warn({ event: 'upstream-error', code: (err as HedgeError).code, cause, url }, 'upstream failed')
      throw err
    }
  }

  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    try {
      return await handle(req, reply)
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
