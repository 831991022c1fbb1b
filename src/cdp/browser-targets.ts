// The browser's own list of targets, with their browser contexts (which /json/list does not
// give): one short DevTools connection of the gateway's, `Target.getTargets`, closed. Used
// where a decision is made outside a relayed connection — a page-socket upgrade, a discovery
// list — so that it rests on what the browser says, not on what the gateway last saw.
import { request } from 'node:http'
import { WebSocket } from 'ws'
import { isTargetInfo, type TargetInfo } from './targets.ts'

function getJson (url: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const r = request({ host: u.hostname, port: u.port, path: u.pathname, headers: { host: u.host }, timeout: timeoutMs }, res => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => { size += c.length; if (size > 1024 * 1024) r.destroy(new Error('answer too large')); else chunks.push(c) })
      res.on('end', () => { try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))) } catch (err) { reject(err) } })
    })
    r.on('timeout', () => { r.destroy(new Error('timed out')) })
    r.on('error', reject)
    r.end()
  })
}

/** Every target Chromium has (pages, iframes, workers, browser_ui, …) with its browserContextId. Throws on any failure. */
export async function browserTargets (upstream: string, timeoutMs = 10_000): Promise<TargetInfo[]> {
  const version = await getJson(new URL('/json/version', upstream).href, timeoutMs) as { webSocketDebuggerUrl?: unknown }
  if (typeof version?.webSocketDebuggerUrl !== 'string') throw new Error('no browser endpoint')
  const path = new URL(version.webSocketDebuggerUrl).pathname
  const ws = new WebSocket(new URL(path, upstream.replace(/^http/, 'ws')).href, { perMessageDeflate: false, handshakeTimeout: timeoutMs, maxPayload: 64 * 1024 * 1024 })
  try {
    return await new Promise<TargetInfo[]>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('Target.getTargets timed out')) }, timeoutMs)
      ws.once('error', err => { clearTimeout(timer); reject(err) })
      ws.once('open', () => { ws.send('{"id":1,"method":"Target.getTargets"}') })
      ws.on('message', (data: Buffer) => {
        const msg = JSON.parse(data.toString('utf8')) as { id?: number, result?: { targetInfos?: unknown[] }, error?: unknown }
        if (msg.id !== 1) return
        clearTimeout(timer)
        if (!Array.isArray(msg.result?.targetInfos)) { reject(new Error('no targetInfos')); return }
        resolve(msg.result.targetInfos.filter(isTargetInfo))
      })
    })
  } finally { ws.terminate() }
}
