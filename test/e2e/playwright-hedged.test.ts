// Playwright's connectOverCDP through `hedged` doing real work against a loopback fixture,
// with the workspace's output/ as the only place downloads can land; and the refusals an
// agent meets there (cookies, the kernel's URL, main-world init scripts), each failing
// quickly with an error that names the rule. Only loopback is ever contacted.
import t from 'tap'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { chromium as playwright, type Browser } from 'playwright-core'
import { startTestChromium, pageTargets, CDP_TIMEOUT_MS } from '../helpers/chromium.ts'
import { startTestKernel } from '../helpers/kernel.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { startFixtureServer, PAGE } from '../helpers/fixture-server.ts'
import { waitUntil } from '../../src/util/wait.ts'

const STEP_MS = 60_000 // every Playwright call is bounded; the machine is slow and shared

/** Reject after `ms` so that a hang is a failure, not a stuck test. */
function bounded<T> (what: string, p: Promise<T>, ms = STEP_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: no answer in ${ms} ms (hang)`)) }, ms) })
  return Promise.race([p, timeout]).finally(() => { clearTimeout(timer) })
}

const chromium = await startTestChromium(t)
const kernel = await startTestKernel(t)
const site = await startFixtureServer(t, {
  '/two': (_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<!doctype html><title>two</title><p>second page</p>') },
  '/dl': (_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<!doctype html><title>dl</title><a id=a href="/download">get the report</a>') },
})
const gw = await startTestGateway(t, testPolicy('hedged', { cdp: { urls: { allowHosts: [`127.0.0.1:${site.port}`] } } }),
  { kernel: kernel.url, cdp: chromium.url }, { workspace: { output: kernel.workspace.output, upload: kernel.workspace.upload } })
const token = await gw.token(['cdp:control'], { audience: 'cdp' })

const browser: Browser = await bounded('connectOverCDP', playwright.connectOverCDP(gw.urls.cdp as string, { headers: { authorization: `Bearer ${token}` }, timeout: STEP_MS }))
t.teardown(() => browser.close().catch(() => {}))

const denials = (): string[] => gw.logs.lines.filter(l => l.event === 'deny').map(l => `${String(l.method)} ${String(l.rule)}`)

t.test('connecting: Playwright\'s download folder is rewritten into output/', async t => {
  t.ok(browser.isConnected(), 'connected through the gateway')
  t.ok(gw.logs.lines.some(l => l.event === 'rewrite' && l.rule === 'cdp.downloads:rewritten'), 'Browser.setDownloadBehavior rewritten, not refused')
  t.same(denials(), [], 'nothing Playwright needs to connect was refused')
})

t.test('default context: goto, fill, type, click, evaluate, screenshot, pdf, goBack', async t => {
  const context = browser.contexts()[0]
  if (context === undefined) throw new Error('no default context')
  const page = await bounded('newPage', context.newPage())
  t.teardown(() => page.close().catch(() => {}))
  page.setDefaultTimeout(STEP_MS)
  await page.goto(`${site.url}/`)
  t.equal(await page.title(), 'fixture', 'goto')
  await page.fill('#i', 'ab')
  await page.locator('#i').pressSequentially('cd')
  await page.click('#b')
  t.equal(await page.textContent('#h'), 'clicked:abcd', 'fill + type + click')
  t.equal(await page.evaluate(() => 6 * 7), 42, 'evaluate')
  t.equal(await page.evaluate(() => document.querySelector('h1')?.id), 'h', 'evaluate reads the DOM')

  const png = await page.screenshot()
  t.ok(png.length > 1000, `screenshot has content (${png.length} bytes)`)
  t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'and is a PNG')

  const pdf = await page.pdf() // Page.printToPDF (ReturnAsStream) + IO.read on the handle it got
  t.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-', `page.pdf() works (${pdf.length} bytes)`)

  await page.goto(`${site.url}/two`)
  t.equal(await page.title(), 'two', 'second page')
  await page.goBack() // Page.getNavigationHistory + Page.navigateToHistoryEntry
  t.equal(page.url(), `${site.url}/`, 'goBack returned to the first page')
  t.equal(await page.title(), 'fixture', 'and shows it')
  await page.goForward()
  t.equal(page.url(), `${site.url}/two`, 'goForward too')
  t.same(denials(), [], 'no command of this workflow was refused')
})

t.test('a new context works the same way and is disposed', async t => {
  const context = await bounded('newContext', browser.newContext())
  const page = await bounded('newPage', context.newPage())
  page.setDefaultTimeout(STEP_MS)
  await page.goto(`${site.url}/`)
  await page.fill('#i', 'ctx')
  await page.click('#b')
  t.equal(await page.textContent('#h'), 'clicked:ctx', 'fill + click in the new context')
  t.ok((await page.screenshot()).length > 1000, 'screenshot in the new context')
  await bounded('context.close', context.close())
  t.same(denials(), [], 'nothing refused')
})

t.test('a download lands in the workspace output/', async t => {
  const before = new Set(await readdir(kernel.workspace.output))
  const page = await bounded('newPage', browser.contexts()[0]!.newPage())
  t.teardown(() => page.close().catch(() => {}))
  page.setDefaultTimeout(STEP_MS)
  await page.goto(`${site.url}/dl`)
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#a')])
  t.equal(download.suggestedFilename(), 'report.txt', 'Playwright saw the download start')
  let landed: string | undefined
  await waitUntil('the download in output/', async () => {
    for (const name of await readdir(kernel.workspace.output)) {
      if (before.has(name) || name.endsWith('.crdownload')) continue
      if ((await readFile(join(kernel.workspace.output, name), 'utf8')) === 'downloaded-bytes') { landed = name; return true }
    }
    return false
  }, STEP_MS, 100)
  t.ok(landed, `the file is in output/ (${landed ?? ''}), named by Playwright's GUID`)
  // Trade-off of the rewrite: Playwright looks for the file in the folder it asked for (its
  // own temp dir), so download.saveAs() / createReadStream() cannot find it. Fails, not hangs.
  await t.rejects(bounded('saveAs', download.saveAs(join(tmpdir(), `hedge-pw-saveas-${process.pid}.txt`))), /ENOENT/, 'trade-off: download.saveAs() does not find the file')
})

t.test('refusals fail fast and name the rule', async t => {
  const context = browser.contexts()[0]!
  await t.rejects(bounded('context.cookies', context.cookies()), /cdp\.methods\.deny:Storage\.getCookies/, 'context.cookies() → Storage.getCookies refused')

  const page = await bounded('newPage', context.newPage())
  t.teardown(() => page.close().catch(() => {}))
  page.setDefaultTimeout(STEP_MS)
  await page.goto(`${site.url}/`)
  await t.rejects(bounded('goto kernel', page.goto(`http://127.0.0.1:${gw.kernelPort}/kernel/connection`)), /url\.address:loopback/, 'the kernel\'s connection URL (through the gateway\'s own port)')
  await t.rejects(bounded('goto kernel', page.goto(`${kernel.url}/kernel/connection`)), /url\.address:loopback/, 'the kernel server itself')
  await t.rejects(bounded('goto file', page.goto('file:///etc/passwd')), /url\.scheme:file/, 'file://')
  t.equal(page.url(), `${site.url}/`, 'the page stayed where it was')

  await t.rejects(bounded('addInitScript', page.addInitScript('window.__hooked = 1')), /cdp\.initScripts:isolated-only/, 'page.addInitScript (main world) fails clearly, without hanging')
  await page.reload()
  t.equal(await page.evaluate('typeof window.__hooked'), 'undefined', 'and was not installed')
  t.equal(await page.evaluate(() => 1 + 1), 2, 'the page is still usable after the refusals')
})

t.test('browser.close() only disconnects: Chromium stays up', async t => {
  await bounded('browser.close', browser.close())
  t.notOk(browser.isConnected(), 'Playwright is disconnected')
  const res = await fetch(`${chromium.url}/json/version`, { signal: AbortSignal.timeout(CDP_TIMEOUT_MS) })
  t.equal(res.status, 200, 'Chromium still answers')
  t.ok((await pageTargets(chromium.url)).length >= 1, 'with its tabs')
  t.notOk(gw.logs.lines.some(l => l.event === 'deny' && /Browser\.close/.test(l.rule)), 'Playwright never even sent Browser.close')
  // and the gateway serves the next client
  const again = await bounded('reconnect', playwright.connectOverCDP(gw.urls.cdp as string, { headers: { authorization: `Bearer ${token}` }, timeout: STEP_MS }))
  const page = await bounded('newPage', again.contexts()[0]!.newPage())
  await page.setContent(PAGE)
  t.equal(await page.textContent('#h'), 'hello', 'a new connection works')
  await page.close()
  await again.close()
})
