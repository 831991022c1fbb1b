// The admin listener: liveness, readiness and metrics, with no token (probes and
// Prometheus scrape it), and the live decisions view on loopback; it never proxies.
import { createServer, type Server } from 'node:http'
import { getOk } from './util/wait.ts'
import type { Logger } from './logger.ts'
import { metrics } from './metrics.ts'
import { decisions } from './audit/decisions.ts'
import { serveDecisionsPage, streamDecisions } from './admin/decisions-view.ts'
import { HedgeError } from './errors/codes.ts'
import { sendResponseError } from './errors/render.ts'

export interface ReadinessProbe { readonly name: string, readonly url: string }

export interface AdminOptions {
  /** Serve the live decisions view (/decisions): only when the admin listener is on loopback. */
  readonly decisionsView?: boolean
}

export function createAdminServer (probes: readonly ReadinessProbe[], log: Logger, o: AdminOptions = {}): Server {
  return createServer((req, res) => {
    const send = (status: number, body: unknown, type = 'application/json'): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
      res.end(typeof body === 'string' ? body : JSON.stringify(body))
    }
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET')
      sendResponseError(res, new HedgeError('HEDGE_METHOD_NOT_ALLOWED', undefined, 'admin.method'), req, log)
      return
    }
    if (req.url === '/healthz') { send(200, { status: 'ok' }); return }
    if (req.url === '/metrics') {
      metrics.render().then(text => { send(200, text, metrics.contentType) }, (err: unknown) => {
        sendResponseError(res, err, req, log)
      })
      return
    }
    if (req.url === '/decisions' || req.url === '/decisions/stream') {
      // Decisions name principals and routes: not for a listener others can reach (no admin token yet).
      if (o.decisionsView !== true) {
        sendResponseError(res, new HedgeError('HEDGE_ROUTE_DENIED', 'the decisions view is served on a loopback admin listener only', 'admin.decisions'), req, log)
        return
      }
      if (req.url === '/decisions') serveDecisionsPage(res)
      else if (!streamDecisions(req, res, decisions)) {
        sendResponseError(res, new HedgeError('HEDGE_TOO_MANY_CONNECTIONS', 'too many decision watchers', 'admin.decisions-watchers'), req, log)
      }
      return
    }
    if (req.url === '/readyz') {
      void Promise.all(probes.map(async p => [p.name, await getOk(p.url)] as const)).then(results => {
        const ready = results.every(([, ok]) => ok)
        if (!ready) log.warn({ event: 'not-ready', results: Object.fromEntries(results) }, 'not ready')
        send(ready ? 200 : 503, { status: ready ? 'ready' : 'not-ready', upstreams: Object.fromEntries(results) })
      })
      return
    }
    sendResponseError(res, new HedgeError('HEDGE_ROUTE_UNKNOWN', undefined, 'admin.routes'), req, log)
  })
}
