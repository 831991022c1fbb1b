// Hedged Chromium's managed policies (docs/chromium-hardening.md), applied to that browser only
// through a private mount namespace: Ctrl+Shift+J / F12 no longer open a DevTools frontend,
// chrome:// and file:// pages do not load, WebUI targets hold an error page, and Playwright's
// connectOverCDP still drives pages. A documented Chromium started at the same time keeps the
// machine's (permissive) configuration: the accelerator opens DevTools there, chrome:// loads.
import t from 'tap'
import { existsSync } from 'node:fs'
import { chromium as playwright } from 'playwright-core'
import { separateIdentities } from '../../src/sandbox/agent-user.ts'
import { HEDGED_POLICIES } from '../../src/sandbox/chromium-hardening.ts'
import { startTestChromium, type CdpClient } from '../helpers/chromium.ts'
import { startFixtureServer } from '../helpers/fixture-server.ts'
import { browserCdp, firstPage, isRoot, NOT_ROOT, sleep } from '../helpers/hedged.ts'
import { waitUntil } from '../../src/util/wait.ts'

const QUIET_MS = 5_000

type Key = { modifiers: number, windowsVirtualKeyCode: number, code: string, key: string }
const CTRL = 2; const SHIFT = 8
const ACCELERATORS: Record<string, Key> = {
  'Ctrl+Shift+J': { modifiers: CTRL | SHIFT, windowsVirtualKeyCode: 74, code: 'KeyJ', key: 'J' },
  'Ctrl+Shift+I': { modifiers: CTRL | SHIFT, windowsVirtualKeyCode: 73, code: 'KeyI', key: 'I' },
  F12: { modifiers: 0, windowsVirtualKeyCode: 123, code: 'F12', key: 'F12' },
}
const CTRL_H: Key = { modifiers: CTRL, windowsVirtualKeyCode: 72, code: 'KeyH', key: 'h' }

async function press (cdp: CdpClient, sessionId: string, k: Key): Promise<void> {
  for (const type of ['rawKeyDown', 'keyUp']) await cdp.send('Input.dispatchKeyEvent', { type, ...k, nativeVirtualKeyCode: k.windowsVirtualKeyCode }, sessionId)
}

async function targetsOf (cdp: CdpClient, prefix: string): Promise<string[]> {
  const { targetInfos } = await cdp.send<{ targetInfos: Array<{ url: string }> }>('Target.getTargets')
  return targetInfos.map(ti => ti.url).filter(u => u.startsWith(prefix))
}
const devtoolsTargets = (cdp: CdpClient): Promise<string[]> => targetsOf(cdp, 'devtools:')

const pageText = async (cdp: CdpClient, sessionId: string): Promise<string> =>
  (await cdp.send<{ result: { value: string } }>('Runtime.evaluate', { expression: 'location.href + " | " + document.title', returnByValue: true }, sessionId)).result.value

const skip = { skip: !isRoot && NOT_ROOT }

t.test('policies bind over /etc/chromium for the hedged browser only', skip, async t => {
  t.notOk(existsSync('/etc/chromium/policies/managed/hedge.json'), 'nothing written to the machine\'s /etc/chromium')
  const [hedged, documented] = await Promise.all([
    startTestChromium(t, { agent: separateIdentities().browser, managedPolicies: HEDGED_POLICIES }),
    startTestChromium(t),
  ])
  const h = await browserCdp(hedged.url); t.teardown(() => { h.close() })
  const d = await browserCdp(documented.url); t.teardown(() => { d.close() })
  const hp = await firstPage(h); const dp = await firstPage(d)
  await h.send('Page.bringToFront', {}, hp.sessionId); await d.send('Page.bringToFront', {}, dp.sessionId)

  await t.test('no chrome:// target poses as a page (clients take the first page they see)', async t => {
    const { targetInfos } = await h.send<{ targetInfos: Array<{ type: string, url: string }> }>('Target.getTargets')
    t.same(targetInfos.filter(ti => ti.type === 'page' && !ti.url.startsWith('about:')).map(ti => ti.url), [], 'only about:blank pages at start')
  })

  await t.test('DevTools and history accelerators', async t => {
    await press(d, dp.sessionId, ACCELERATORS['Ctrl+Shift+J']!)
    await waitUntil('a devtools:// target in the documented browser', async () => (await devtoolsTargets(d)).length > 0, 15_000)
    t.pass('documented: Ctrl+Shift+J opens a devtools:// target (harm shown)')
    await press(d, dp.sessionId, CTRL_H)
    await waitUntil('chrome://history in the documented browser', async () => (await targetsOf(d, 'chrome://history')).length > 0, 15_000)
    t.pass('documented: Ctrl+H opens chrome://history (harm shown)')
    for (const k of [...Object.values(ACCELERATORS), CTRL_H]) await press(h, hp.sessionId, k)
    await sleep(QUIET_MS)
    t.same(await devtoolsTargets(h), [], `hedged: no devtools:// target after ${Object.keys(ACCELERATORS).join(', ')}`)
    t.same(await targetsOf(h, 'chrome://history'), [], 'hedged: Ctrl+H opens no chrome://history target')
    t.equal(await pageText(h, hp.sessionId), 'about:blank | ', 'hedged: the page itself stayed where it was')
    const od = await h.send('Target.openDevTools', { targetId: hp.targetId }).then(() => 'opened', (e: Error) => e.message)
    t.match(od, /Failed to create DevTools window/, 'hedged: Target.openDevTools cannot create one either')
  })

  await t.test('chrome://, devtools:// and file:// navigation', async t => {
    const dn = await d.send<{ errorText?: string }>('Page.navigate', { url: 'chrome://version' }, dp.sessionId)
    t.equal(dn.errorText, undefined, 'documented: chrome://version loads')
    for (const url of ['chrome://history', 'chrome://version', 'devtools://devtools/bundled/devtools_app.html', 'file:///etc/hostname']) {
      // a fresh tab per URL: one navigation's error page does not hold up the next
      const tab = await h.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' })
      const s = await h.send<{ sessionId: string }>('Target.attachToTarget', { targetId: tab.targetId, flatten: true })
      const r = await h.send<{ errorText?: string }>('Page.navigate', { url }, s.sessionId)
      t.equal(r.errorText, 'net::ERR_BLOCKED_BY_ADMINISTRATOR', `hedged: ${url} blocked`)
      await h.send('Target.closeTarget', { targetId: tab.targetId })
    }
    const { targetId } = await h.send<{ targetId: string }>('Target.createTarget', { url: 'chrome://history' })
    const { sessionId } = await h.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true })
    await waitUntil('the new target to settle', async () => (await pageText(h, sessionId)).startsWith('chrome-error://'), 15_000)
    t.pass('hedged: Target.createTarget("chrome://history") holds an error page, not the WebUI')
  })

  await t.test('Playwright connectOverCDP still browses and evaluates', async t => {
    const fx = await startFixtureServer(t)
    const browser = await playwright.connectOverCDP(hedged.url, { timeout: 30_000 })
    t.teardown(() => browser.close().catch(() => undefined))
    const page = await browser.contexts()[0]!.newPage()
    await page.goto(fx.url)
    await page.fill('#i', 'typed')
    await page.click('#b')
    t.equal(await page.evaluate(() => document.getElementById('h')?.textContent), 'clicked:typed')
    await page.close()
  })
})

t.test('fails closed: a start whose policies are not in effect is a failed start', skip, async t => {
  // No URLBlocklist among these, so chrome://version loads: exactly what an unreadable or
  // unmounted policy file looks like from the outside.
  await t.rejects(startTestChromium(t, { agent: separateIdentities().browser, managedPolicies: { SyncDisabled: true } }),
    /managed policies not in effect/)
})
