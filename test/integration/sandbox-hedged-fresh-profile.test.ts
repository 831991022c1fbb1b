// Hedged shape: the supervisor starts Chromium on a fresh profile (and HOME, TMPDIR) every
// time, so state planted before a crash or a Browser.close (a persistent cookie here; a
// service worker lives in the same profile) is gone after the restart. The documented
// Chromium keeps its one long-lived profile: the cookie survives there.
import t from 'tap'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startTestChromium } from '../helpers/chromium.ts'
import { browserCdp } from '../helpers/hedged.ts'
import type { ChromiumSupervisor } from '../../src/sandbox/chromium.ts'

const COOKIE = { name: 'planted', value: 'before-the-crash', domain: '127.0.0.1', path: '/', expires: Math.floor(Date.now() / 1000) + 86_400 }

async function plant (chromium: ChromiumSupervisor): Promise<void> {
  const cdp = await browserCdp(chromium.url)
  try { await cdp.send('Storage.setCookies', { cookies: [COOKIE] }) } finally { cdp.close() }
}

async function planted (chromium: ChromiumSupervisor): Promise<boolean> {
  const cdp = await browserCdp(chromium.url)
  try {
    const { cookies } = await cdp.send<{ cookies: Array<{ name: string, value: string }> }>('Storage.getCookies')
    return cookies.some(c => c.name === COOKIE.name && c.value === COOKIE.value)
  } finally { cdp.close() }
}

/** Browser.close: Chromium exits cleanly (cookies flushed to disk); the supervisor restarts it. */
async function closeAndRestart (chromium: ChromiumSupervisor): Promise<void> {
  const restarted = chromium.nextRestart()
  const cdp = await browserCdp(chromium.url)
  await cdp.send('Browser.close').catch(() => { /* the socket may close first */ })
  cdp.close()
  await restarted
}

async function killAndRestart (chromium: ChromiumSupervisor): Promise<void> {
  const restarted = chromium.nextRestart()
  process.kill(chromium.pid()!, 'SIGKILL')
  await restarted
}

t.test('documented: one long-lived profile, the planted cookie survives a restart', async t => {
  const chromium = await startTestChromium(t)
  await plant(chromium)
  t.ok(await planted(chromium), 'planted')
  await closeAndRestart(chromium)
  t.ok(await planted(chromium), 'still there after the restart (the state the hedged shape must not keep)')
})

t.test('hedged: Browser.close and restart, the cookie is gone', async t => {
  const chromium = await startTestChromium(t, { freshProfile: true })
  await plant(chromium)
  t.ok(await planted(chromium), 'planted')
  await closeAndRestart(chromium)
  t.notOk(await planted(chromium), 'gone after the restart')
})

t.test('hedged: kill -9 and restart, the cookie and anything dropped in the profile are gone', async t => {
  const chromium = await startTestChromium(t, { freshProfile: true })
  await plant(chromium)
  const marker = join(chromium.userDataDir, 'Default', 'planted-file')
  writeFileSync(marker, 'x')
  const homeMarker = join(chromium.root, 'home', 'planted-file')
  writeFileSync(homeMarker, 'x')
  await killAndRestart(chromium)
  t.notOk(await planted(chromium), 'cookie gone')
  t.notOk(existsSync(marker), 'profile recreated')
  t.notOk(existsSync(homeMarker), 'HOME recreated')
  t.equal(chromium.restarts, 1)
})
