// A tiny page server on 127.0.0.1:0 for browser tests (the only kind of site tests visit).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FixtureServer { readonly url: string, readonly port: number, readonly hits: string[] }

export type Routes = Record<string, (req: IncomingMessage, res: ServerResponse) => void>

export const PAGE = '<!doctype html><title>fixture</title><body><h1 id=h>hello</h1><input id=i><button id=b onclick="document.getElementById(\'h\').textContent=\'clicked:\'+document.getElementById(\'i\').value">go</button></body>'

export async function startFixtureServer (t: { teardown (fn: () => unknown): void }, routes: Routes = {}): Promise<FixtureServer> {
  const hits: string[] = []
  const server = createServer((req, res) => {
    hits.push(req.url ?? '')
    const route = routes[(req.url ?? '/').split('?')[0] ?? '/']
    if (route !== undefined) { route(req, res); return }
    if (req.url === '/download') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="report.txt"' })
      res.end('downloaded-bytes')
      return
    }
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end(PAGE)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise(resolve => { server.closeAllConnections(); server.close(() => { resolve(undefined) }) }))
  const port = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}`, port, hits }
}
