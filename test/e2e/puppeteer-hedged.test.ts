// Puppeteer's connect({ browserWSEndpoint, headers }) through `hedged`: real work on a
// loopback fixture, a refusal that fails fast, and disconnect() leaving Chromium running.
// Only loopback is ever contacted.
import t from 'tap'
import puppeteer, { type Browser } from 'puppeteer-core'
import { startTestChromium, pageTargets, CDP_TIMEOUT_MS } from '../helpers/chromium.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { startFixtureServer } from '../helpers/fixture-server.ts'
import { rawRequest } from '../helpers/http.ts'

const STEP_MS = 60_000

function bounded<T> (what: string, p: Promise<T>, ms = STEP_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: no answer in ${ms} ms (hang)`)) }, ms) })
  return Promise.race([p, timeout]).finally(() => { clearTimeout(timer) })
}

const chromium = await startTestChromium(t)
const site = await startFixtureServer(t)
// the kernel front is not used here: its upstream is a closed loopback port
const gw = await startTestGateway(t, testPolicy('hedged', { cdp: { urls: { allowHosts: [`127.0.0.1:${site.port}`] } } }), { kernel: 'http://127.0.0.1:9', cdp: chromium.url })
const cdpPort = Number(new URL(gw.urls.cdp as string).port)
const headers = { authorization: `Bearer ${await gw.token(['cdp:control'], { audience: 'cdp' })}` }

// discovery through the gateway gives the browser endpoint (with a one-time ticket we do not need: the header authenticates)
const version = await rawRequest(cdpPort, { path: '/json/version', headers: [['Authorization', headers.authorization]] })
const browserWSEndpoint = (version.json.webSocketDebuggerUrl as string).split('?')[0] as string

const browser: Browser = await bounded('connect', puppeteer.connect({ browserWSEndpoint, headers, protocolTimeout: STEP_MS, defaultViewport: { width: 800, height: 600 } }))
t.teardown(() => { if (browser.connected) void browser.disconnect() })

const denials = (): string[] => gw.logs.lines.filter(l => l.event === 'deny').map(l => `${String(l.method)} ${String(l.rule)}`)
// Puppeteer 25 asks every page for WebMCP.enable (an experimental domain hedged does not list)
// and ignores the error: refused, logged, harmless. Anything else refused is a breakage.
const TOLERATED = 'WebMCP.enable cdp.methods.default:deny'
const breakages = (): string[] => denials().filter(d => d !== TOLERATED)

t.test('connect: nothing Puppeteer needs is refused', async t => {
  t.ok(browser.connected, 'connected through the gateway')
  t.match(await bounded('version', browser.version()), /Chrome/, 'browser.version()')
  t.same(breakages(), [], 'no refusal while connecting')
})

t.test('new page: goto, type, click, evaluate, screenshot', async t => {
  const page = await bounded('newPage', browser.newPage())
  t.teardown(() => page.close().catch(() => {}))
  page.setDefaultTimeout(STEP_MS)
  const res = await page.goto(`${site.url}/`)
  t.equal(res?.status(), 200, 'goto')
  t.equal(await page.title(), 'fixture', 'the fixture loaded')
  await page.type('#i', 'pptr')
  await page.click('#b')
  t.equal(await page.$eval('#h', el => el.textContent), 'clicked:pptr', 'type + click')
  t.equal(await page.evaluate(() => 6 * 7), 42, 'evaluate')
  const png = await page.screenshot()
  t.ok(png.length > 1000, `screenshot has content (${png.length} bytes)`)
  t.same([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'and is a PNG')
  t.same(breakages(), [], 'no command this workflow needs was refused')
  t.ok(denials().includes(TOLERATED), 'only WebMCP.enable, which Puppeteer tolerates')
})

t.test('a refusal fails fast and names the rule; the page stays usable', async t => {
  const page = await bounded('newPage', browser.newPage())
  t.teardown(() => page.close().catch(() => {}))
  page.setDefaultTimeout(STEP_MS)
  await page.goto(`${site.url}/`)
  await t.rejects(bounded('goto file', page.goto('file:///etc/passwd')), /url\.scheme:file/, 'file:// refused')
  await t.rejects(bounded('goto kernel', page.goto('http://127.0.0.1:8888/kernel/connection')), /url\.address:loopback/, 'the kernel\'s URL refused')
  t.equal(page.url(), `${site.url}/`, 'the page stayed where it was')
  t.equal(await page.evaluate(() => document.title), 'fixture', 'and still works')
  t.ok(denials().includes('Page.navigate url.scheme:file'), 'the refusal is logged with its method and rule')
})

t.test('disconnect() leaves Chromium running', async t => {
  await bounded('disconnect', browser.disconnect())
  t.notOk(browser.connected, 'Puppeteer is disconnected')
  const res = await fetch(`${chromium.url}/json/version`, { signal: AbortSignal.timeout(CDP_TIMEOUT_MS) })
  t.equal(res.status, 200, 'Chromium still answers')
  t.ok((await pageTargets(chromium.url)).length >= 1, 'with its tabs')
  const again = await bounded('reconnect', puppeteer.connect({ browserWSEndpoint, headers, protocolTimeout: STEP_MS }))
  t.match(await bounded('version', again.version()), /Chrome/, 'the gateway serves the next client')
  await again.disconnect()
})
