// The supervisor keeps a tab open: closing every page yields a fresh about:blank.
import t from 'tap'
import { waitUntil } from '../../src/util/wait.ts'
import { cdpConnect, pageTargets, startTestChromium } from '../helpers/chromium.ts'

t.test('closing all page tabs results in a new tab', async t => {
  const chromium = await startTestChromium(t)
  await waitUntil('a page tab', async () => (await pageTargets(chromium.url)).length > 0, 30_000)
  const version = await (await fetch(`${chromium.url}/json/version`, { signal: AbortSignal.timeout(10_000) })).json() as { webSocketDebuggerUrl: string }
  const cdp = await cdpConnect(version.webSocketDebuggerUrl)
  t.teardown(() => { cdp.close() })

  // open a second page, then close both
  await cdp.send('Target.createTarget', { url: 'about:blank' })
  const before = await pageTargets(chromium.url)
  t.ok(before.length >= 2, 'two pages open')
  for (const p of before) await cdp.send('Target.closeTarget', { targetId: p.id })

  let after: Awaited<ReturnType<typeof pageTargets>> = []
  await waitUntil('a replacement tab', async () => {
    after = await pageTargets(chromium.url)
    return after.length > 0 && after.every(p => !before.some(b => b.id === p.id))
  }, 30_000)
  t.equal(after.length, 1, 'exactly one new tab')
  t.equal(after[0]?.url, 'about:blank')

  // and it keeps doing so
  await cdp.send('Target.closeTarget', { targetId: after[0]!.id })
  await waitUntil('another replacement tab', async () => {
    const now = await pageTargets(chromium.url)
    return now.length > 0 && now.every(p => p.id !== after[0]!.id)
  }, 30_000)
  t.pass('replaced again')
})
