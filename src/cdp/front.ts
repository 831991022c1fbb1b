// The CDP front (default :19223 → Chromium's :9222). Chromium's own Host and Origin
// checks are kept rather than defeated: the gateway applies the host and origin layers
// itself, then talks to Chromium as a local client (Host 127.0.0.1:9222, no Origin).
//   HTTP  /json*: canonicalise → host → origin → authenticate → discovery rules → forward → rewrite URLs
//         /devtools/{browser,page}/ID without an Upgrade: 426 HEDGE_CDP_UPGRADE_REQUIRED
//   WS    /devtools/{browser,page}/ID: the same checks before the upgrade completes (401/403,
//         never 101), then the upstream socket is opened, then the client's is, then relay.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import { readFileSync } from 'node:fs'
import { WebSocketServer } from 'ws'
import { connectUpstream } from './upstream-socket.ts'
import { HedgeError } from '../errors/codes.ts'
import { rejectUpgrade, sendResponseError } from '../errors/render.ts'
import { applyVerdict } from '../layers/apply.ts'
import { redactUrl } from '../logger.ts'
import { relay } from './relay.ts'
import { handleDiscovery } from './discovery.ts'
import { admit, frontContext, judgeTarget, type CdpFrontContext, type CdpFrontOptions } from './admission.ts'
import { ConnectionQuota } from '../net/connection-quota.ts'

export type { CdpFrontOptions } from './admission.ts'

const WS_PATH = /^\/devtools\/(browser|page)\/([A-Za-z0-9-]{1,128})$/

export interface CdpFront { readonly server: Server, close: () => Promise<void> }

export function createCdpFront (o: CdpFrontOptions): CdpFront {
  const { compiled: cp, logger } = o
  const ctx: CdpFrontContext = frontContext(o)
  const filterOn = cp.mode('cdp-filter') !== 'off'
  // maxPayload bounds a whole message, not a frame: ws (8.x lib/receiver.js haveLength()) adds each data frame's
  // length from its header to the message's running total, fragments included, and fails the connection with
  // 1009 once the total passes it — before that frame's payload is buffered.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: filterOn ? cp.policy.cdp.maxMessageBytes : 256 * 1024 * 1024 })
  // The slots are taken before Chromium is dialled: concurrent attempts each see the others.
  const quota = new ConnectionQuota({ perToken: cp.policy.cdp.maxConnectionsPerToken, perSubject: cp.policy.cdp.maxConnectionsPerPrincipal })

  /** Plain HTTP: discovery; a DevTools socket path without an Upgrade gets 426 before any other check (like an unknown route). */
  const serveHttp = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (WS_PATH.test((req.url ?? '/').split('?')[0] as string)) {
      throw new HedgeError('HEDGE_CDP_UPGRADE_REQUIRED', undefined, 'cdp.upgrade-required')
    }
    await handleDiscovery(ctx, req, res)
  }
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    serveHttp(req, res).catch((err: unknown) => {
      if (err instanceof HedgeError) logger.warn({ event: 'deny', layer: 'cdp-filter', code: err.code, rule: err.rule, url: redactUrl(req.url) }, `discovery refused by ${err.rule ?? err.code}`)
      sendResponseError(res, err, req, logger)
    })
  }
  const server = o.tls === undefined ? createServer(onRequest) : createTlsServer({ cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key) }, onRequest)

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => { socket.destroy() })
    void (async () => {
      const url = req.url ?? '/'
      const q = url.indexOf('?')
      const path = q === -1 ? url : url.slice(0, q)
      const m = WS_PATH.exec(path)
      if (m === null || (filterOn && q !== -1 && !/^\?ticket=[A-Za-z0-9_-]{1,128}$/.test(url.slice(q)))) throw new HedgeError('HEDGE_ROUTE_UNKNOWN', undefined, 'cdp.ws-path')
      const principal = await admit(ctx, req, cp.policy.cdp.connectScope, path)
      if (filterOn && m[1] === 'page') {
        // A page socket is a session on that target: only for targets this client may reach.
        const v = await judgeTarget(ctx, m[2] as string, 'the browser\'s target list is unavailable')
        if (!v.allowed) applyVerdict(cp, { layer: 'cdp-filter', code: 'HEDGE_ROUTE_DENIED', rule: v.rule, message: v.message }, req, logger)
      }
      // Quotas: per token (its jti) and, larger, per subject; per client address without auth.
      const slot = quota.acquire(principal, req.socket.remoteAddress ?? '')
      if (!slot.ok) throw new HedgeError('HEDGE_TOO_MANY_CONNECTIONS', undefined, slot.rule)
      const release = slot.release
      // Chromium first: the client only ever gets 101 once there is something to talk to.
      const browser = await connectUpstream(new URL(path, o.upstream.replace(/^http/, 'ws')).href, 10_000).catch((err: { statusCode?: number }) => {
        release()
        throw new HedgeError(err.statusCode === 404 ? 'HEDGE_ROUTE_UNKNOWN' : 'HEDGE_UPSTREAM_UNAVAILABLE', undefined, 'cdp.upstream')
      })
      let adopted = false
      wss.handleUpgrade(req, socket, head, client => {
        adopted = true
        logger.info({ event: 'cdp-open', path, subject: principal?.subject, tokenId: principal?.tokenId }, 'cdp connection opened')
        relay(client, browser, {
          compiled: cp, filter: o.filter, logger, principal, rootKind: m[1] === 'browser' ? 'browser' : 'page', path,
          registry: ctx.registry, onClose: release,
        })
      })
      // ws answers a malformed handshake (bad Sec-WebSocket-Key or version) itself, and drops a
      // client that left while Chromium was being dialled, without calling back: give back the
      // slot and close the DevTools session opened for it (else both leak, one per attempt).
      if (!adopted) { browser.terminate(); release() }
    })().catch((err: unknown) => { rejectUpgrade(socket, err, req, logger) })
  })

  return {
    server,
    // Relayed sockets count as the server's connections, so they must end first or
    // server.close() would wait for clients that never leave.
    close: () => new Promise<void>(resolve => {
      for (const c of wss.clients) c.terminate()
      wss.close()
      server.close(() => { resolve() })
      server.closeAllConnections()
    }),
  }
}
