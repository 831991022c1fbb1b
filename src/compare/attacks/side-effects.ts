// Side-effect attacks: every command here is one an automation client legitimately sends
// (a key press, a download, Fetch interception, a navigation); the harm is what Chromium
// does as a consequence — a DevTools window with raw CDP, a file in the kernel's startup
// folder, a service worker that outlives the client, a file outside output/, a WebUI page
// with another client's history. Harm is judged behind the curtain, never by a status code.
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Attack, AttackContext, AttackOutcome } from '../types.ts'
import { waitUntil } from '../../util/wait.ts'
import { assertLocal, browserWsUrl, cdpConnect, closePage, evaluate, navigate, openPage, reason, type CdpConnection, type PageHandle } from '../cdp-client.ts'
import { asRogue, nonce, plantCookie } from './cdp.ts'
import { closeNew, CTRL_H, frontendChannel, newTarget, openDevtoolsByKey, press, targets, type FrontendChannel } from './accelerators.ts'
import { runPage } from './victim-browser.ts'

/** "ok" or the refusal, for evidence. */
async function attempt<T> (what: string, fn: () => Promise<T>): Promise<{ ok: true, value: T, note: string } | { ok: false, note: string }> {
  try { const value = await fn(); return { ok: true, value, note: `${what}: ok` } } catch (err) { return { ok: false, note: `${what}: ${reason(err)}` } }
}

/**
 * The accelerator channel: a page on the site, a DevTools frontend opened by a key press on
 * it, raw CDP through the frontend's embedder. `steps` runs with the channel (or undefined,
 * with notes saying why there is none). The frontend and the page are closed afterwards.
 */
async function withFrontend (ctx: AttackContext, c: CdpConnection, steps: (ch: RawPage | undefined, notes: string[]) => Promise<AttackOutcome>): Promise<AttackOutcome> {
  const before = new Set((await targets(c)).map(t => t.targetId))
  let page: PageHandle | undefined
  const notes: string[] = []
  let ch: RawPage | undefined
  try {
    page = await openPage(c)
    await navigate(c, page.sessionId, `${ctx.fixtures.site}/`)
    const { target, notes: n } = await openDevtoolsByKey(c, page.sessionId)
    notes.push(...n)
    if (target !== undefined) {
      const r = await attempt('raw CDP via the frontend', async () => {
        const fe = await frontendChannel(c, target)
        // the frontend talks to the tab target: attach (through it) to the page, and to any other target
        const { sessionId } = await fe.send<{ sessionId: string }>('Target.attachToTarget', { targetId: (page as PageHandle).targetId, flatten: true })
        return { fe, send: async <T = any>(method: string, params: object = {}) => await fe.send<T>(method, params, sessionId) }
      })
      if (r.ok) ch = r.value; else notes.push(r.note)
    }
  } catch (err) { notes.push(reason(err)) }
  try { return await steps(ch, notes) } finally {
    await closePage(c, page)
    await closeNew(c, before)
  }
}

/** Raw CDP to the inspected page (`send`), and the frontend itself (`fe`: sessions on any target). */
interface RawPage { readonly fe: FrontendChannel, send: <T = any>(method: string, params?: object) => Promise<T> }

/** Oracle view: a fresh connection straight to Chromium (a later visitor, or the harness). */
async function direct<T> (ctx: AttackContext, fn: (c: CdpConnection) => Promise<T>): Promise<T> {
  const c = await cdpConnect(await browserWsUrl(ctx.d.internals.chromium, null))
  try { return await fn(c) } finally { c.close() }
}

/** Set (or reset to default) where downloads go, straight at Chromium (harness cleanup). */
async function resetDownloads (ctx: AttackContext): Promise<void> {
  await direct(ctx, async c => { await c.send('Browser.setDownloadBehavior', { behavior: 'default' }, undefined, 5000) }).catch(() => {})
}

/** New files (not partial downloads) in `dir` that were not in `before`, within `ms`. */
async function filesAppear (dir: string, before: ReadonlySet<string>, ms: number, match: (name: string) => boolean = () => true): Promise<string[]> {
  let fresh: string[] = []
  await waitUntil(`a file in ${dir}`, async () => {
    fresh = (await readdir(dir).catch(() => [] as string[])).filter(n => !before.has(n) && !n.endsWith('.crdownload') && match(n))
    return fresh.length > 0
  }, ms, 100).catch(() => {})
  return fresh
}

export const SIDE_EFFECT_ATTACKS: Attack[] = [
  {
    id: 'accelerator-devtools-cookies',
    category: 'side-effects',
    description: 'A rogue agent presses Ctrl+Shift+J (then Ctrl+Shift+I, F12) on a page with Input.dispatchKeyEvent: Chromium opens a DevTools frontend; the agent attaches to it and sends raw CDP through InspectorFrontendHost.sendMessageToBackend (Network.getAllCookies) to read an httpOnly cookie.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const secret = nonce('cookie')
      await plantCookie(ctx, secret)
      try {
        return await asRogue(ctx, async c => await withFrontend(ctx, c, async (ch, notes) => {
          let stolen = false
          if (ch !== undefined) {
            const r = await attempt('Network.getAllCookies via the frontend', async () => await ch.send('Network.getAllCookies'))
            stolen = r.ok && JSON.stringify(r.value).includes(secret)
            notes.push(stolen ? 'Network.getAllCookies via the frontend: secret returned' : r.note)
          }
          return { harm: stolen, evidence: `${notes.join('; ')}; oracle: httpOnly cookie ${stolen ? 'read through the DevTools channel' : 'not read'}` }
        }))
      } finally { await plantCookie(ctx, null).catch(() => {}) }
    },
  },
]
