// The admin listener: liveness, readiness and metrics, with no token (probes and
// Prometheus scrape it), and nothing else: it never proxies.
import { createServer, type Server } from 'node:http'
import { getOk } from './util/wait.ts'
import type { Logger } from './logger.ts'
import { metrics } from './metrics.ts'
import { HedgeError } from './errors/codes.ts'
import { sendResponseError } from './errors/render.ts'

export interface ReadinessProbe { readonly name: string, readonly url: string }

export function createAdminServer (probes: readonly ReadinessProbe[], log: Logger): Server {
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
    if (req.url === '/metrics') { send(200, metrics.render(), 'text/plain; version=0.0.4'); return }
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
