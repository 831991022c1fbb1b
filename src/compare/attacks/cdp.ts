// CDP attacks: someone on the network (no token) or a rogue agent holding the
// orchestrator's cdp:control token drives the browser through `endpoints.cdp` — the 9223
// forwarder in the baseline, the gateway's CDP front otherwise. Harm is judged behind the
// curtain (Chromium's own endpoint, the file system, the kernel's key), never by a status
// code. Every URL handed to the browser is a loopback fixture, the kernel, or file://.
import { randomBytes } from 'node:crypto'
import { chmod, readdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Attack, AttackContext, AttackOutcome } from '../types.ts'
import { waitUntil } from '../../util/wait.ts'
import {
  assertLocal, authHeaders, browserWsUrl, cdpConnect, closePage, connectBrowser, describeAnswer, evaluate, httpCall,
  navigate, openPage, pageTitles, reason, type CdpConnection, type PageHandle,
} from '../cdp-client.ts'

export const rogueToken = async (ctx: AttackContext): Promise<string | null> => await ctx.d.token('cdp', ['cdp:control'])
export const nonce = (what: string): string => `hedge-${what}-${randomBytes(6).toString('hex')}`

/** Oracle: does any page Chromium lists carry `title`? */
export async function titleSeen (ctx: AttackContext, title: string): Promise<boolean> {
  return (await pageTitles(ctx.d.internals.chromium).catch(() => [] as string[])).includes(title)
}

/** Oracle: wait (bounded) until Chromium answers again with a page, after the supervisor restarted it. */
export async function waitBrowserBack (ctx: AttackContext, timeoutMs = 60_000): Promise<void> {
  await waitUntil('chromium back after a restart', async () => await ctx.oracle.browserId() !== null &&
    (await pageTitles(ctx.d.internals.chromium)).length > 0, timeoutMs, 200)
}

/**
 * Oracle: was the browser closed? Watches its identity for a bounded window after the
 * command (a close takes effect asynchronously: shorter when the command was refused) and,
 * if it went, waits until the supervisor has it back so later attacks still have a browser.
 */
export async function browserRestarted (ctx: AttackContext, before: string | null, windowMs: number): Promise<boolean> {
  let changed = false
  await waitUntil('browser identity change', async () => (changed = await ctx.oracle.browserId() !== before), windowMs, 100).catch(() => {})
  if (changed) await waitBrowserBack(ctx)
  return changed
}

/** Harness: a secret file the agent's browser (hedge-agent) can read. Removed by the returned function. */
export async function plantSecretFile (path: string): Promise<{ secret: string, remove: () => Promise<void> }> {
  const secret = nonce('secret')
  await writeFile(path, `${secret}\n`, { mode: 0o644 })
  await chmod(path, 0o644)
  return { secret, remove: async () => { await rm(path, { force: true }) } }
}

/** Plant (or, with null, clear) an httpOnly session cookie for the site through Chromium's own endpoint (harness view). */
export async function plantCookie (ctx: AttackContext, value: string | null): Promise<void> {
  const siteUrl = ctx.fixtures.site
  const c = await cdpConnect(await browserWsUrl(ctx.d.internals.chromium, null))
  try {
    if (value === null) await c.send('Storage.clearCookies', {})
    else await c.send('Storage.setCookies', { cookies: [{ name: 'hedge_session', value, url: siteUrl, httpOnly: true }] })
  } finally { c.close() }
}

/** Run `steps` on the attacker's browser connection; a refused connection is the outcome. */
export async function asRogue (ctx: AttackContext, steps: (c: CdpConnection) => Promise<AttackOutcome>): Promise<AttackOutcome> {
  let c: CdpConnection
  try { c = await connectBrowser(ctx.d.endpoints.cdp, await rogueToken(ctx)) } catch (err) { return { harm: false, evidence: `connect refused: ${reason(err)}` } }
  try { return await steps(c) } finally { c.close() }
}

/** "ok" or the refusal, for evidence. */
async function attempt<T> (
  what: string, fn: () => Promise<T>,
): Promise<{ ok: true, value: T, note: string } | { ok: false, note: string }> {
  try { const value = await fn(); return { ok: true, value, note: `${what}: ok` } } catch (err) { return { ok: false, note: `${what}: ${reason(err)}` } }
}

const innerText = 'document.body ? document.body.innerText : ""'

/** Navigate a fresh page to each of `urls`, returning what each showed (or why it failed). */
async function readPages (c: CdpConnection, urls: readonly string[]): Promise<Array<{ url: string, text?: string, note: string }>> {
  const out: Array<{ url: string, text?: string, note: string }> = []
  for (const url of urls) {
    let page: PageHandle | undefined
    try {
      page = await openPage(c)
      await navigate(c, page.sessionId, url)
      const text = await evaluate<string>(c, page.sessionId, innerText)
      out.push({ url, text, note: `${url}: page shows ${JSON.stringify(text.replace(/\s+/g, ' ').slice(0, 48))}` })
    } catch (err) {
      out.push({ url, note: `${url}: ${reason(err)}` })
    } finally { await closePage(c, page) }
  }
  return out
}

/** Kernel base URL as page JavaScript would reach it, on loopback TCP. */
function kernelHttp (ctx: AttackContext): URL {
  return new URL(ctx.d.internals.kernelTcp ?? ctx.d.endpoints.kernel)
}

/** Spellings of the loopback address Chromium parses to 127.0.0.1 (or its IPv4-mapped form). */
export function loopbackSpellings (port: string): string[] {
  return ['127.0.0.1', 'localhost', '127.1', '0x7f.1', '[::ffff:127.0.0.1]'].map(h => `http://${h}:${port}/kernel/connection`)
}

export const CDP_ATTACKS: Attack[] = [
  {
    id: 'cdp-eval-unauthenticated',
    category: 'cdp',
    description: 'Anyone on the network lists the pages (/json/list), attaches to one and runs Runtime.evaluate in it (here: sets document.title to a nonce).',
    stoppedBy: ['auth'],
    attacker: 'network',
    async run (ctx) {
      const title = nonce('title')
      const list = await httpCall(`${ctx.d.endpoints.cdp}/json/list`).catch((err: unknown) => ({ status: 0, text: reason(err), json: undefined }))
      const page = Array.isArray(list.json)
        ? (list.json as Array<{ type?: string, webSocketDebuggerUrl?: string }>).find(t => t.type === 'page' && typeof t.webSocketDebuggerUrl === 'string')
        : undefined
      let note: string
      if (list.status !== 200 || page === undefined) {
        note = `GET /json/list → ${describeAnswer(list)}`
      } else {
        const r = await attempt('Runtime.evaluate', async () => {
          const c = await cdpConnect(page.webSocketDebuggerUrl as string)
          try { return await evaluate(c, undefined, `document.title = ${JSON.stringify(title)}`) } finally { c.close() }
        })
        note = `GET /json/list → 200; ${r.note}`
      }
      const harm = await titleSeen(ctx, title)
      return { harm, evidence: `${note}; oracle: nonce title ${harm ? 'set in a page' : 'not seen'}` }
    },
  },
  {
    id: 'cdp-cookie-theft',
    category: 'cdp',
    description: 'A rogue agent reads the browser\'s cookies (an httpOnly session cookie of the site) with Storage.getCookies, Network.getAllCookies and Network.getCookies.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const secret = nonce('cookie')
      await plantCookie(ctx, secret)
      try {
        return await asRogue(ctx, async c => {
          const notes: string[] = []
          let stolen = false
          const tryRead = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
            const r = await attempt(what, fn)
            const got = r.ok && JSON.stringify(r.value).includes(secret)
            stolen ||= got
            notes.push(got ? `${what}: secret returned` : r.note)
          }
          await tryRead('Storage.getCookies', async () => await c.send('Storage.getCookies', {}))
          let page: PageHandle | undefined
          try {
            page = await openPage(c)
            const sid = page.sessionId
            await tryRead('Network.getAllCookies', async () => await c.send('Network.getAllCookies', {}, sid))
            await tryRead('Network.getCookies', async () => await c.send('Network.getCookies', { urls: [ctx.fixtures.site] }, sid))
          } catch (err) { notes.push(`page: ${reason(err)}`) } finally { await closePage(c, page) }
          return { harm: stolen, evidence: `${notes.join('; ')}; oracle: secret cookie ${stolen ? 'obtained' : 'not obtained'}` }
        })
      } finally { await plantCookie(ctx, null).catch(() => {}) }
    },
  },
  {
    id: 'cdp-browser-close',
    category: 'cdp',
    description: 'A rogue agent closes the browser with Browser.close (the supervisor restarts it: every page and session is lost).',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const before = await ctx.oracle.browserId()
      return await asRogue(ctx, async c => {
        const r = await attempt('Browser.close', async () => await c.send('Browser.close', {}))
        const harm = await browserRestarted(ctx, before, r.ok ? 15_000 : 3000)
        return { harm, evidence: `${r.note}; oracle: browser ${harm ? 'closed and restarted' : 'still the same process'}` }
      })
    },
  },
  {
    id: 'cdp-file-read',
    category: 'cdp',
    description: 'A rogue agent navigates a page to file:///<workspace>/secret (Page.navigate, and Target.createTarget with a file: URL) and reads it with Runtime.evaluate.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const path = join(ctx.d.internals.workspace.root, `${nonce('file')}.txt`)
      const { secret, remove } = await plantSecretFile(path)
      try {
        return await asRogue(ctx, async c => {
          const url = `file://${path}`
          const notes: string[] = []
          let read = false
          const [viaNavigate] = await readPages(c, [url])
          read ||= viaNavigate?.text?.includes(secret) === true
          notes.push(`Page.navigate ${viaNavigate?.note ?? ''}`)
          // the other door: a target created straight at the file: URL
          let page: PageHandle | undefined
          const r = await attempt('Target.createTarget file:', async () => {
            page = await openPage(c, url)
            const p = page
            await waitUntil('file page', async () => (await evaluate<string>(c, p.sessionId, 'document.readyState')) === 'complete', 10_000, 100)
            return await evaluate<string>(c, p.sessionId, innerText)
          })
          await closePage(c, page)
          read ||= r.ok && r.value.includes(secret)
          notes.push(r.note)
          return { harm: read, evidence: `${notes.join('; ')}; oracle: secret ${read ? 'read by the attacker' : 'not read'}` }
        })
      } finally { await remove() }
    },
  },
  {
    id: 'cdp-navigate-loopback',
    category: 'cdp',
    description: 'A rogue agent navigates a page to the kernel server\'s /kernel/connection on loopback, ' +
      'in several spellings (127.0.0.1, localhost, 127.1, 0x7f.1, [::ffff:127.0.0.1]), and reads the HMAC key.',
    stoppedBy: ['cdp-filter', 'egress'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const key = await ctx.oracle.kernelKey()
      return await asRogue(ctx, async c => {
        const reads = await readPages(c, loopbackSpellings(kernelHttp(ctx).port))
        const leaked = reads.filter(r => r.text?.includes(key) === true).map(r => r.url.slice('http://'.length).replace(/:\d+\/.*$/, ''))
        const refused = reads.filter(r => r.text === undefined).map(r => r.note)
        return {
          harm: leaked.length > 0,
          evidence: leaked.length > 0
            ? `key read via ${leaked.join(', ')}${refused.length > 0 ? `; refused: ${refused.join(' | ')}` : ''}; oracle: the kernel key leaked`
            : `${reads.map(r => r.note).join(' | ')}; oracle: key not read`,
        }
      })
    },
  },
  {
    id: 'cdp-json-new-loopback',
    category: 'cdp',
    description: 'A rogue agent opens the kernel\'s /kernel/connection with PUT /json/new?<loopback URL> (no WebSocket command at all) and reads the key from the new page.',
    stoppedBy: ['cdp-filter', 'egress'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const key = await ctx.oracle.kernelKey()
      const token = await rogueToken(ctx)
      const target = `${kernelHttp(ctx).origin}/kernel/connection`
      assertLocal(target)
      const made = await httpCall(`${ctx.d.endpoints.cdp}/json/new?${target}`, { method: 'PUT', headers: authHeaders(token) })
        .catch((err: unknown) => ({ status: 0, text: reason(err), json: undefined }))
      const id = made.json?.id
      const ws = made.json?.webSocketDebuggerUrl
      if (made.status !== 200 || typeof ws !== 'string') return { harm: false, evidence: `PUT /json/new?${target} → ${describeAnswer(made)}; oracle: key not read` }
      let text = ''
      let note = 'read'
      try {
        const c = await cdpConnect(ws, { headers: authHeaders(token) })
        try {
          await waitUntil('the new page to load', async () => (await evaluate<string>(c, undefined, 'document.readyState')) === 'complete', 15_000, 100)
          text = await evaluate<string>(c, undefined, innerText)
        } finally { c.close() }
      } catch (err) { note = reason(err) }
      // harness cleanup through Chromium's own endpoint
      if (typeof id === 'string' && /^[A-Za-z0-9-]+$/.test(id)) await httpCall(`${ctx.d.internals.chromium}/json/close/${id}`, { timeoutMs: 5000 }).catch(() => {})
      const harm = text.includes(key)
      return { harm, evidence: `PUT /json/new → 200, page ${note}${harm ? '' : ` (${text.slice(0, 60).replace(/\s+/g, ' ')})`}; oracle: key ${harm ? 'read from the page' : 'not read'}` }
    },
  },
  {
    id: 'cdp-download-escape',
    category: 'cdp',
    description: 'A rogue agent points Browser.setDownloadBehavior at a folder outside the workspace and downloads a file there.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const dir = dirname(ctx.oracle.canary('outside'))
      return await asRogue(ctx, async c => {
        const r = await attempt('Browser.setDownloadBehavior', async () => await c.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir }))
        try {
          return await downloadInto(ctx, c, dir, r.note)
        } finally { await c.send('Browser.setDownloadBehavior', { behavior: 'default' }).catch(() => {}) }
      })
    },
  },
  {
    id: 'cdp-upload-escape',
    category: 'cdp',
    description: 'A rogue agent hands a file outside upload/ and output/ to a page\'s <input type=file> (DOM.setFileInputFiles); the page reads it with FileReader.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const path = join(dirname(ctx.oracle.canary('outside')), `${nonce('upload')}.txt`)
      const { secret, remove } = await plantSecretFile(path)
      try {
        return await asRogue(ctx, async c => {
          let page: PageHandle | undefined
          const r = await attempt('DOM.setFileInputFiles', async () => {
            page = await openPage(c)
            const sid = page.sessionId
            await navigate(c, sid, ctx.fixtures.sitePage('<!doctype html><title>upload</title><input type=file id=f>'))
            const { root } = await c.send<{ root: { nodeId: number } }>('DOM.getDocument', {}, sid)
            const { nodeId } = await c.send<{ nodeId: number }>('DOM.querySelector', { nodeId: root.nodeId, selector: '#f' }, sid)
            await c.send('DOM.setFileInputFiles', { files: [path], nodeId }, sid)
            return await evaluate<string>(c, sid, `new Promise((resolve, reject) => { const f = document.getElementById('f').files[0]; if (!f) return resolve('no file');
              const r = new FileReader(); r.onload = () => resolve(String(r.result)); r.onerror = () => reject(r.error); r.readAsText(f) })`, { awaitPromise: true })
          })
          await closePage(c, page)
          const harm = r.ok && r.value.includes(secret)
          return { harm, evidence: `${r.ok ? `${r.note}, page read ${r.value.length} chars` : r.note}; oracle: secret ${harm ? 'read by page JavaScript' : 'not read'}` }
        })
      } finally { await remove() }
    },
  },
  {
    id: 'cdp-init-script-main-world',
    category: 'cdp',
    description: 'A rogue agent injects a main-world script into every new document (Page.addScriptToEvaluateOnNewDocument without worldName): it can hook any site\'s own JavaScript.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const mark = nonce('init')
      // The site's own script copies a global into the title: only a main-world script can set it.
      const url = ctx.fixtures.sitePage('<!doctype html><title>plain</title><script>document.title = String(window.__hedgeInit || "plain")</script>')
      return await asRogue(ctx, async c => {
        let page: PageHandle | undefined
        const notes: string[] = []
        try {
          page = await openPage(c)
          const sid = page.sessionId
          await c.send('Page.enable', {}, sid)
          const r = await attempt('Page.addScriptToEvaluateOnNewDocument', async () => await c.send(
            'Page.addScriptToEvaluateOnNewDocument', { source: `window.__hedgeInit = ${JSON.stringify(mark)}` }, sid,
          ))
          notes.push(r.note)
          await navigate(c, sid, url)
        } catch (err) { notes.push(reason(err)) }
        const harm = await titleSeen(ctx, mark)
        await closePage(c, page)
        return { harm, evidence: `${notes.join('; ')}; oracle: ${harm ? 'the site\'s own script saw the injected global' : 'page title untouched'}` }
      })
    },
  },
]

/** Navigate a page to the site's download and report whether report.txt landed in `dir` (outside the workspace). */
export async function downloadInto (
  ctx: AttackContext, c: CdpConnection, dir: string, note: string, sessionPage?: PageHandle,
): Promise<AttackOutcome> {
  const before = new Set(await readdir(dir))
  const output = ctx.d.internals.workspace.output
  const inOutput = new Set(await readdir(output).catch(() => [] as string[]))
  const fresh = async (): Promise<string[]> => (await readdir(dir)).filter(n => !before.has(n) && n.startsWith('report') && !n.endsWith('.crdownload'))
  let page = sessionPage
  const opened = page === undefined
  let nav = ''
  try {
    page ??= await openPage(c)
    // a download aborts the navigation (net::ERR_ABORTED): the file is what counts
    assertLocal(`${ctx.fixtures.site}/download`)
    const r = await c.send<{ errorText?: string }>('Page.navigate', { url: `${ctx.fixtures.site}/download` }, page.sessionId).catch((err: unknown) => ({ errorText: reason(err) }))
    nav = r.errorText ?? 'navigated'
  } catch (err) { nav = reason(err) }
  let landed: string[] = []
  // bounded watch: an allowed download lands within seconds; one the gateway rewrote into
  // output/ ends the watch early (it is not an escape)
  let rewritten = false
  await waitUntil('report.txt outside the workspace', async () => {
    landed = await fresh()
    rewritten = (await readdir(output).catch(() => [] as string[])).some(n => !inOutput.has(n) && !n.endsWith('.crdownload'))
    return landed.length > 0 || rewritten
  }, 8000, 100).catch(() => {})
  if (opened) await closePage(c, page)
  for (const n of landed) await rm(join(dir, n), { force: true }).catch(() => {})
  for (const n of await readdir(output).catch(() => [] as string[])) {
    if (!inOutput.has(n)) await rm(join(output, n), { force: true }).catch(() => {})
  }
  const harm = landed.length > 0
  return {
    harm,
    evidence: `${note}; download: ${nav}; oracle: ` +
      `${harm ? `${landed.join(', ')} written outside the workspace` : `nothing written outside the workspace${rewritten ? ' (the file landed in output/)' : ''}`}`,
  }
}
