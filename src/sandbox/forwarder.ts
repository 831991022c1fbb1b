// The documented sandbox's port 9223: a permissive forwarder in front of Chromium's
// loopback-only DevTools port. No auth, no filtering. It rewrites Host to the upstream's
// 127.0.0.1:PORT and drops Origin, which is precisely what defeats Chromium's own
// DNS-rebinding check (`Host header is specified and is not an IP address or localhost.`)
// and its `--remote-allow-origins` check. Faithful to the baseline on purpose: the
// gateway in src/cdp/ is the fixed version, and the comparison measures the difference.
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import httpProxy from 'http-proxy'
import { redactUrl, silentLogger, type Logger } from '../logger.ts'
import { closeServer, listen } from '../net/server.ts'

export interface ForwarderOptions {
  /** The documented forwarder listens on every interface: '0.0.0.0' by default. */
  host?: string
  /** 9223 by default, 0 = OS picks. */
  port?: number
  /** Chromium's base URL, e.g. http://127.0.0.1:9222; asked on every request. */
  upstream: () => string
  logger?: Logger
}

export interface Forwarder { readonly url: string, readonly port: number, close(): Promise<void> }

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/i

/** The host[:port] the client addressed, which the rewritten URLs must point back to. */
function clientHost (req: http.IncomingMessage, fallback: string): string {
  const host = req.headers.host
  return host !== undefined && host !== '' ? host : fallback
}

/** ws:// for loopback clients, wss:// otherwise (as the documented forwarder does). */
function wsScheme (host: string): 'ws' | 'wss' {
  return LOOPBACK_HOST.test(host) ? 'ws' : 'wss'
}

/** Point every webSocketDebuggerUrl / devtoolsFrontendUrl in a /json answer at `host`. */
export function rewriteDiscovery (body: unknown, host: string): unknown {
  const scheme = wsScheme(host)
  const fix = (item: unknown): unknown => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item
    const out = { ...(item as Record<string, unknown>) }
    if (typeof out.webSocketDebuggerUrl === 'string') {
      out.webSocketDebuggerUrl = out.webSocketDebuggerUrl.replace(/^wss?:\/\/[^/]+/, `${scheme}://${host}`)
    }
    if (typeof out.devtoolsFrontendUrl === 'string') {
      out.devtoolsFrontendUrl = out.devtoolsFrontendUrl.replace(/([?&])wss?=[^/&]*/, `$1${scheme}=${host}`)
    }
    return out
  }
  return Array.isArray(body) ? body.map(fix) : fix(body)
}

export async function startForwarder (opts: ForwarderOptions): Promise<Forwarder> {
  const log = (opts.logger ?? silentLogger).child({ component: 'forwarder' })
  // changeOrigin: Host becomes the upstream's 127.0.0.1:PORT, for HTTP and WebSocket alike.
  const proxy = httpProxy.createProxyServer({ changeOrigin: true, selfHandleResponse: true, ws: true, xfwd: false })
  const sockets = new Set<Socket | Duplex>()
  const upgraded = new WeakSet<Duplex>() // client sockets already speaking WebSocket
  let listenHost = ''

  // Chromium answers 403 to an upgrade whose Origin is not allowed, and accepts none at all.
  proxy.on('proxyReq', proxyReq => { proxyReq.removeHeader('origin') })
  proxy.on('proxyReqWs', (proxyReq, _req, socket) => {
    proxyReq.removeHeader('origin')
    // tie both ends' lifetimes: http-proxy only ends the upstream on a clean client close
    proxyReq.on('upgrade', (_res, upstream: Socket) => {
      upgraded.add(socket)
      sockets.add(upstream)
      upstream.on('close', () => { sockets.delete(upstream); socket.destroy() })
      socket.on('close', () => { upstream.destroy() })
    })
  })

  proxy.on('proxyRes', (proxyRes, req, res) => {
    const path = req.url ?? ''
    const isJson = /^\/json(?:[/?]|$)/.test(path) && /json/i.test(String(proxyRes.headers['content-type'] ?? ''))
    if (!isJson) {
      res.writeHead(proxyRes.statusCode ?? 502, proxyRes.headers)
      proxyRes.pipe(res)
      return
    }
    const chunks: Buffer[] = []
    proxyRes.on('data', (c: Buffer) => chunks.push(c))
    proxyRes.on('error', () => { res.destroy() })
    proxyRes.on('end', () => {
      let body = Buffer.concat(chunks)
      try {
        body = Buffer.from(JSON.stringify(rewriteDiscovery(JSON.parse(body.toString('utf8')), clientHost(req, listenHost)), null, 3))
      } catch { /* not JSON after all: pass it through untouched */ }
      const headers = { ...proxyRes.headers, 'content-length': String(body.length) }
      delete headers['transfer-encoding']
      res.writeHead(proxyRes.statusCode ?? 502, headers)
      res.end(body)
    })
  })

  const badGateway = (err: Error, req: http.IncomingMessage, target: http.ServerResponse | Duplex): void => {
    log.warn({ err: err.message, url: redactUrl(req.url) }, 'upstream error')
    if (target instanceof http.ServerResponse) {
      if (target.headersSent || target.destroyed) { target.destroy(); return }
      target.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway: chromium is not reachable\n')
    } else if (upgraded.has(target)) {
      target.destroy() // mid-session: the WebSocket simply ends
    } else if (!target.destroyed) {
      target.end('HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
    }
  }
  // http-proxy emits 'error' when no callback took it; never let it crash the process
  proxy.on('error', (err, req, target) => { badGateway(err, req, target as http.ServerResponse | Duplex) })

  const server = http.createServer((req, res) => {
    proxy.web(req, res, { target: opts.upstream() }, (err: Error) => { badGateway(err, req, res) })
  })
  server.on('connection', s => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // after an upgrade Node no longer handles errors on this socket: a reset must not crash us
    socket.on('error', err => { log.debug({ err: err.message }, 'client socket error') })
    proxy.ws(req, socket, head, { target: opts.upstream() }, (err: Error) => { badGateway(err, req, socket) })
  })
  server.on('clientError', (_err, socket) => { socket.destroy() })

  await listen(server, opts.port ?? 9223, opts.host ?? '0.0.0.0')
  const addr = server.address() as AddressInfo
  listenHost = addr.family === 'IPv6' ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`
  const urlHost = addr.address === '0.0.0.0' || addr.address === '::' ? `127.0.0.1:${addr.port}` : listenHost
  log.info({ event: 'forwarder.listening', address: listenHost }, 'forwarder listening')

  return {
    url: `http://${urlHost}`,
    port: addr.port,
    async close () {
      const closed = closeServer(server)
      for (const s of sockets) s.destroy() // upgraded (WebSocket) sockets too, which the http server no longer tracks
      proxy.close()
      await closed
    },
  }
}
