// The admin listener: liveness, readiness and metrics, with no token (probes and
// Prometheus scrape it), and nothing else: it never proxies.
import { createServer, type Server } from 'node:http'
import { getOk } from './util/wait.ts'
import type { Logger } from './logger.ts'
import { metrics } from './metrics.ts'
import { decisions } from './audit/decisions.ts'
import { serveDecisionsPage, streamDecisions } from './admin/decisions-view.ts'

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
    if (req.method !== 'GET') { send(405, { code: 'HEDGE_METHOD_NOT_ALLOWED' }); return }
    if (req.url === '/healthz') { send(200, { status: 'ok' }); return }
    if (req.url === '/metrics') {
      metrics.render().then(text => { send(200, text, metrics.contentType) }, (err: unknown) => {
        log.error({ err }, 'metrics failed')
        send(500, { code: 'HEDGE_INTERNAL' })
      })
      return
    }
    if (req.url === '/decisions' || req.url === '/decisions/stream') {
      // Decisions name principals and routes: not for a listener others can reach (no admin token yet).
      if (o.decisionsView !== true) { send(403, { code: 'HEDGE_ROUTE_DENIED', message: 'the decisions view is served on a loopback admin listener only' }); return }
      if (req.url === '/decisions') serveDecisionsPage(res)
      else streamDecisions(req, res, decisions)
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
    send(404, { code: 'HEDGE_ROUTE_UNKNOWN' })
  })
}
