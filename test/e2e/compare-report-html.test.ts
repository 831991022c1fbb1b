// The HTML report in a real headless Chromium: it renders (styles applied under its own
// CSP, charts drawn, hostile evidence shown as text), it fetches nothing but itself, and a
// screenshot of it is a real page, not a blank one. The screenshot is left in /tmp for a
// human to look at. Loopback only: the page comes from a server this test starts.
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { writeFileSync } from 'node:fs'
import WebSocket from 'ws'
import { startTestChromium } from '../helpers/chromium.ts'
import { fakeReport } from '../helpers/fake-report.ts'
import { renderHtml } from '../../src/compare/report/html.ts'

export const SCREENSHOT = '/tmp/hedge-report-screenshot.png'
const TIMEOUT_MS = 30_000
const WIDTH = 1280

const html = renderHtml(fakeReport())
const server = createServer((req, res) => {
  const body = req.url === '/report.html' ? html : req.url === '/blank.html' ? '<!doctype html><title>blank</title><body></body>' : undefined
  if (body === undefined) { res.writeHead(404).end(); return }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(body)
})
await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise(resolve => { server.closeAllConnections(); server.close(resolve) }))
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

const chromium = await startTestChromium(t)

/** A minimal flat-session CDP client that also records every event (Network.requestWillBeSent). */
async function connect (): Promise<{
  send: (method: string, params?: object, sessionId?: string) => Promise<any>,
  events: Array<{ method: string, params: any }>,
  waitFor: (method: string) => Promise<void>,
  close: () => void,
}> {
  const v = await (await fetch(`${chromium.url}/json/version`, { signal: AbortSignal.timeout(TIMEOUT_MS) })).json() as { webSocketDebuggerUrl: string }
  const ws = new WebSocket(v.webSocketDebuggerUrl, { perMessageDeflate: false })
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  let id = 0
  const pending = new Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>()
  const events: Array<{ method: string, params: any }> = []
  const waiters: Array<{ method: string, done: () => void }> = []
  ws.on('message', data => {
    const m = JSON.parse(data.toString())
    if (typeof m.id === 'number') { const p = pending.get(m.id); pending.delete(m.id); m.error !== undefined ? p?.reject(new Error(m.error.message)) : p?.resolve(m.result); return }
    events.push({ method: m.method, params: m.params })
    for (const w of waiters.splice(0)) { if (w.method === m.method) w.done(); else waiters.push(w) }
  })
  const bounded = <T>(what: string, p: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined
    return Promise.race([p, new Promise<never>((_r, reject) => { timer = setTimeout(() => { reject(new Error(`${what} timed out`)) }, TIMEOUT_MS) })]).finally(() => { clearTimeout(timer) })
  }
  return {
    events,
    send: (method, params = {}, sessionId) => bounded(method, new Promise((resolve, reject) => {
      const n = ++id
      pending.set(n, { resolve, reject })
      ws.send(JSON.stringify({ id: n, method, params, ...(sessionId !== undefined ? { sessionId } : {}) }))
    })),
    waitFor: method => bounded(`event ${method}`, new Promise<void>(resolve => { waiters.push({ method, done: resolve }) })),
    close: () => { ws.terminate() },
  }
}

const cdp = await connect()
t.teardown(() => { cdp.close() })
const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' })
const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true })
const send = (method: string, params: object = {}): Promise<any> => cdp.send(method, params, sessionId)
await send('Page.enable')
await send('Network.enable')
await send('Emulation.setDeviceMetricsOverride', { width: WIDTH, height: 900, deviceScaleFactor: 1, mobile: false })
await send('Page.bringToFront') // headless: a tab not in front may never paint

async function load (path: string): Promise<void> {
  const loaded = cdp.waitFor('Page.loadEventFired')
  await send('Page.navigate', { url: `${base}${path}` })
  await loaded
}

async function screenshot (height: number): Promise<Buffer> {
  const { data } = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true, clip: { x: 0, y: 0, width: WIDTH, height, scale: 1 } })
  return Buffer.from(data as string, 'base64')
}

const evaluate = async (expression: string): Promise<any> => (await send('Runtime.evaluate', { expression, returnByValue: true })).result.value

t.test('the report renders in Chromium and fetches nothing else', async t => {
  cdp.events.length = 0
  await load('/report.html')
  const requested = cdp.events.filter(e => e.method === 'Network.requestWillBeSent').map(e => String(e.params.request.url))
  t.same(requested, [`${base}/report.html`], 'the only request is the report itself')
  t.equal(await evaluate('document.scripts.length'), 0)
  t.ok(await evaluate('document.querySelectorAll("svg rect").length') > 20, 'charts have bars')
  t.ok(await evaluate('document.querySelectorAll("table").length') >= 5, 'deployments, attacks, workflows, overhead, ablation tables')
  t.match(await evaluate('document.body.innerText'), /<script>alert\("x"\)<\/script>/, 'hostile evidence shows as text')
  t.equal(await evaluate('getComputedStyle(document.querySelector(".badge.bad")).backgroundColor'), 'rgb(255, 235, 233)', 'inline styles apply under the page\'s CSP')
  const width = await evaluate('document.documentElement.scrollWidth')
  t.ok(width <= WIDTH, `no horizontal overflow at ${WIDTH}px (scrollWidth ${width})`)
})

t.test('a screenshot of it is a real page, not a blank one', async t => {
  await load('/report.html')
  const { cssContentSize } = await send('Page.getLayoutMetrics')
  const height = Math.min(8000, Math.ceil(cssContentSize.height as number))
  t.ok(height > 900, `the report is longer than one screen (${height}px)`)
  const png = await screenshot(height)
  writeFileSync(SCREENSHOT, png)
  t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG')
  t.equal(png.readUInt32BE(16), WIDTH, 'PNG width')
  t.equal(png.readUInt32BE(20), height, 'PNG height')
  await load('/blank.html')
  const blank = await screenshot(height)
  t.ok(png.length > 10 * blank.length, `report ${png.length} B vs blank page ${blank.length} B of the same size`)
  t.comment(`screenshot: ${SCREENSHOT} (${png.length} B, ${WIDTH}×${height})`)
})
