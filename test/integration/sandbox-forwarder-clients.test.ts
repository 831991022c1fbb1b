// Real automation clients through the baseline forwarder: Playwright's connectOverCDP
// and Puppeteer's connect open a page served on loopback and read its title.
import t from 'tap'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium as playwright } from 'playwright-core'
import puppeteer from 'puppeteer-core'
import { startTestChromium, startTestForwarder } from '../helpers/chromium.ts'

const chromium = await startTestChromium(t)
const fwd = await startTestForwarder(t, chromium)

const site: Server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
  res.end(`<!doctype html><title>hedge ${req.url === '/two' ? 'two' : 'one'}</title><p>ok</p>`)
})
await new Promise<void>(resolve => site.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise<void>(resolve => { site.closeAllConnections(); site.close(() => { resolve() }) }))
const siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`

t.test('Playwright connectOverCDP through the forwarder', async t => {
  const browser = await playwright.connectOverCDP(fwd.url, { timeout: 60_000 })
  t.teardown(() => browser.close())
  t.ok(browser.contexts().length >= 1, 'sees the default context')
  const context = browser.contexts()[0]!
  const page = await context.newPage()
  await page.goto(`${siteUrl}/one`, { timeout: 60_000 })
  t.equal(await page.title(), 'hedge one')
  t.equal(await page.evaluate('1+1'), 2)
  await page.close()

  // a fresh context (Target.createBrowserContext) works as well
  const ctx = await browser.newContext()
  const p2 = await ctx.newPage()
  await p2.goto(`${siteUrl}/two`, { timeout: 60_000 })
  t.equal(await p2.title(), 'hedge two')
  await ctx.close()
})

t.test('Puppeteer connect({ browserURL }) through the forwarder', async t => {
  const browser = await puppeteer.connect({ browserURL: fwd.url, protocolTimeout: 60_000 })
  t.teardown(() => browser.disconnect())
  t.match(browser.wsEndpoint(), `ws://127.0.0.1:${fwd.port}/devtools/browser/`, 'connected via the rewritten URL')
  const page = await browser.newPage()
  await page.goto(`${siteUrl}/two`, { timeout: 60_000 })
  t.equal(await page.title(), 'hedge two')
  await page.close()
})
