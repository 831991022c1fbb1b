// Loopback stand-ins for the web: an ordinary site the agent browses and an attacker's
// site on another origin. Pages are registered one-off by attacks and workflows.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import type { Fixtures } from './types.ts'

export const SITE_PAGE = '<!doctype html><title>fixture</title><body><h1 id=h>hello</h1><input id=i>' +
  '<button id=b onclick="document.getElementById(\'h\').textContent=\'clicked:\'+document.getElementById(\'i\').value">go</button>' +
  '<a id=dl href="/download" download>download</a></body>'
const DOWNLOAD_BODY = 'hedge-download-bytes'

/** A one-off answer registered by an attack: any body, any headers (downloads, cookies, scripts). */
export interface FixtureResponse { readonly body: string, readonly headers?: Record<string, string>, readonly status?: number }

async function pageServer (
  pages: Map<string, string>, withDownload: boolean, port = 0, files = new Map<string, FixtureResponse>(),
): Promise<{ server: Server, url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const file = files.get(path)
    if (file !== undefined) {
      res.writeHead(file.status ?? 200, { 'cache-control': 'no-store', ...file.headers })
      res.end(file.body)
      return
    }
    if (withDownload && path === '/download') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="report.txt"' })
      res.end(DOWNLOAD_BODY)
      return
    }
    const page = path === '/' ? SITE_PAGE : pages.get(path)
    if (page === undefined) { res.writeHead(404).end('not found'); return }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    res.end(page)
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

/** Ports 0 = chosen by the OS; fixed ports let an already-running gateway's policy allow them. */
export async function startFixtures (ports: { site?: number, evil?: number } = {}): Promise<Fixtures & { close: () => Promise<void> }> {
  const sitePages = new Map<string, string>()
  const evilPages = new Map<string, string>()
  const siteFiles = new Map<string, FixtureResponse>()
  const evilFiles = new Map<string, FixtureResponse>()
  const site = await pageServer(sitePages, true, ports.site, siteFiles)
  const evil = await pageServer(evilPages, false, ports.evil, evilFiles)
  const register = (pages: Map<string, string>, base: string, html: string): string => {
    const path = `/p/${randomBytes(6).toString('hex')}`
    pages.set(path, html)
    return base + path
  }
  return {
    site: site.url,
    evil: evil.url,
    rebindName: `rebind.hedge.test:${new URL(site.url).port}`,
    evilPage: html => register(evilPages, evil.url, html),
    sitePage: html => register(sitePages, site.url, html),
    downloadBody: DOWNLOAD_BODY,
    respond (where, r, name = 'r') {
      const path = `/f/${randomBytes(6).toString('hex')}/${name}`
      ;(where === 'site' ? siteFiles : evilFiles).set(path, r)
      return (where === 'site' ? site.url : evil.url) + path
    },
    async close () {
      for (const s of [site.server, evil.server]) await new Promise(resolve => { s.closeAllConnections(); s.close(resolve) })
    },
  }
}
