// The live decisions view, in a real browser: open the admin port's /decisions page in
// Chromium, cause a denial through the gateway, and see its row appear. The page runs under
// its strict CSP (a violation would stop the script, and no row would appear). A screenshot
// is kept at docs/decisions-view.png.
import t from 'tap'
import { chromium } from 'playwright-core'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { startTestKernel } from '../helpers/kernel.ts'
import { rawRequest } from '../helpers/http.ts'

t.test('a denial appears in /decisions as it happens', async t => {
  const kernel = await startTestKernel(t)
  const gw = await startTestGateway(t, testPolicy('hedged'), { kernel: kernel.url })
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] })
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1100, height: 420 } })
  const violations: string[] = []
  page.on('console', m => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()) })
  const res = await page.goto(`${gw.urls.admin}/decisions`)
  t.equal(res?.status(), 200)
  t.match(res?.headers()['content-security-policy'] ?? '', /default-src 'none'; script-src 'sha256-/)
  await page.waitForFunction(() => document.getElementById('state')?.textContent === 'live', undefined, { timeout: 20_000 })

  const r = await rawRequest(gw.kernelPort, { path: '/kernel/status' })
  t.equal(r.status, 401, 'the gateway refused an unauthenticated call')
  const row = page.locator('#rows tr.denied', { hasText: 'auth.bearer' })
  await row.first().waitFor({ timeout: 20_000 })
  const cells = await row.first().locator('td').allTextContents()
  t.equal(cells[1], 'kernel', 'front')
  t.match(cells[3], /GET \/kernel\/status/, 'route')
  t.equal(cells[4], 'auth', 'layer')
  t.equal(cells[6], 'denied', 'decision')
  t.match(await page.locator('#counts').textContent(), /auth: 1 denied/)

  // the decision filter hides it; the principal filter too
  await page.selectOption('#decision', 'allowed')
  t.equal(await page.locator('#rows tr').count(), 0, 'filtered out by decision')
  await page.selectOption('#decision', '')
  t.ok(await page.locator('#rows tr').count() >= 1)
  t.same(violations, [], 'no CSP violation')
  if (process.env.HEDGE_UPDATE_SCREENSHOTS === '1') await page.screenshot({ path: 'docs/decisions-view.png' })
})

t.test('the view is refused on an admin listener that is not loopback-only', async t => {
  const { createAdminServer } = await import('../../src/admin.ts')
  const { captureLogs } = await import('../helpers/gateway.ts')
  const server = createAdminServer([], captureLogs().logger, { decisionsView: false })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise(resolve => server.close(resolve)))
  const port = (server.address() as { port: number }).port
  for (const path of ['/decisions', '/decisions/stream']) {
    const r = await rawRequest(port, { path })
    t.equal(r.status, 403, path)
    t.equal(r.json?.code, 'HEDGE_ROUTE_DENIED')
  }
})
