// Shared by the side-effect attacks: the DevTools channel opened by a key press, the
// harness's own direct line to Chromium (oracle and cleanup), and file watches.
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { AttackContext, AttackOutcome } from '../types.ts'
import { waitUntil } from '../../util/wait.ts'
import { browserWsUrl, cdpConnect, closePage, navigate, openPage, reason, type CdpConnection, type PageHandle } from '../cdp-client.ts'
import { closeNew, frontendChannel, openDevtoolsByKey, targets, type FrontendChannel } from './accelerators.ts'

/** "ok" or the refusal, for evidence. */
export async function attempt<T> (
  what: string, fn: () => Promise<T>,
): Promise<{ ok: true, value: T, note: string } | { ok: false, note: string }> {
  try { const value = await fn(); return { ok: true, value, note: `${what}: ok` } } catch (err) { return { ok: false, note: `${what}: ${reason(err)}` } }
}

/**
 * The accelerator channel: a page on the site, a DevTools frontend opened by a key press on
 * it, raw CDP through the frontend's embedder. `steps` runs with the channel (or undefined,
 * with notes saying why there is none). The frontend and the page are closed afterwards.
 */
export async function withFrontend (
  ctx: AttackContext, c: CdpConnection, steps: (ch: RawPage | undefined, notes: string[]) => Promise<AttackOutcome>,
): Promise<AttackOutcome> {
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
export interface RawPage { readonly fe: FrontendChannel, send: <T = any>(method: string, params?: object) => Promise<T> }

/** Oracle view: a fresh connection straight to Chromium (a later visitor, or the harness). */
export async function direct<T> (ctx: AttackContext, fn: (c: CdpConnection) => Promise<T>): Promise<T> {
  const c = await cdpConnect(await browserWsUrl(ctx.d.internals.chromium, null))
  try { return await fn(c) } finally { c.close() }
}

/** Set (or reset to default) where downloads go, straight at Chromium (harness cleanup). */
export async function resetDownloads (ctx: AttackContext): Promise<void> {
  await direct(ctx, async c => { await c.send('Browser.setDownloadBehavior', { behavior: 'default' }, undefined, 5000) }).catch(() => {})
}

/** New files (not partial downloads) in `dir` that were not in `before`, within `ms`. */
export async function filesAppear (
  dir: string, before: ReadonlySet<string>, ms: number, match: (name: string) => boolean = () => true,
): Promise<string[]> {
  let fresh: string[] = []
  await waitUntil(`a file in ${dir}`, async () => {
    fresh = (await readdir(dir).catch(() => [] as string[])).filter(n => !before.has(n) && !n.endsWith('.crdownload') && match(n))
    return fresh.length > 0
  }, ms, 100).catch(() => {})
  return fresh
}

/** Text of a page including every shadow root, plus href/title attributes (WebUI pages are web components). */
export const DEEP_TEXT = `(() => { const out = []; const walk = n => { if (!n) return;
  if (n.nodeType === 1) {
    for (const a of ['href', 'title']) { const v = n.getAttribute(a); if (v) out.push(v) }
    if (n.item && n.item.url) out.push(String(n.item.url));
    if (Array.isArray(n.historyData_)) for (const i of n.historyData_) out.push(String(i.url));
    if (n.shadowRoot) walk(n.shadowRoot) }
  if (n.nodeType === 3) out.push(n.textContent);
  for (const ch of n.childNodes || []) walk(ch) };
  walk(document); return out.join(' ') })()`

/** The browser user's default download folder (~/Downloads). */
export function chromiumDownloads (ctx: AttackContext): string {
  const home = ctx.d.internals.chromiumHome
  if (home === undefined) throw new Error('the browser\'s HOME is unknown for this deployment')
  return join(home, 'Downloads')
}

/** Remove what appeared in `dir` since `before` (harness cleanup). */
export async function removeNew (dir: string, before: ReadonlySet<string>): Promise<void> {
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    if (!before.has(n)) await rm(join(dir, n), { force: true, recursive: true }).catch(() => {})
  }
}
