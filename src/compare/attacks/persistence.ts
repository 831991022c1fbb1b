// What one client leaves behind for the next, and privileged pages reached by the ordinary
// doors (discovery entries with tickets, Target.createTarget): in one long-lived shared
// browser context a cookie set by a rogue client outlives it (permission grants do not:
// Chromium resets them when the client leaves, measured on 156); chrome://
// pages are WebUI with Mojo bindings and must never carry a client's session.
import type { Attack, AttackContext } from '../types.ts'
import { waitUntil } from '../../util/wait.ts'
import { authHeaders, cdpConnect, closePage, describeAnswer, evaluate, httpCall, navigate, openPage, reason } from '../cdp-client.ts'
import { asRogue, nonce, rogueToken } from './cdp.ts'
import { targets } from './accelerators.ts'
import { direct } from './side-effect-tools.ts'

/** A later visitor opens `url` in a new page and evaluates `expr` there. */
async function laterVisitor (ctx: AttackContext, url: string, expr: string): Promise<string> {
  return await direct(ctx, async v => {
    const p = await openPage(v)
    try {
      await navigate(v, p.sessionId, url)
      return await evaluate<string>(v, p.sessionId, expr, { awaitPromise: true, timeoutMs: 5000 })
    } finally { await closePage(v, p) }
  })
}

/** Oracle: does any chrome:// target carry `title` (code the attacker ran there)? */
async function webuiTitled (ctx: AttackContext, title: string): Promise<boolean> {
  return await direct(ctx, async v => (await targets(v)).some(t => t.title === title && /^chrome(-untrusted)?:/.test(t.url)))
}

export const PERSISTENCE_ATTACKS: Attack[] = [
  {
    id: 'cookie-fixation-persists',
    category: 'side-effects',
    description: 'A rogue agent sets a cookie for the site (Storage.setCookies, allowed) and leaves; ' +
      'a later visitor of the site sends it (session fixation across clients of one shared browser context).',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const value = nonce('fixed')
      try {
        const set = await asRogue(ctx, async c => {
          const r = await c.send('Storage.setCookies', { cookies: [{ name: 'hedge_fixed', value, url: ctx.fixtures.site }] }).then(
            () => 'Storage.setCookies: ok',
            (err: unknown) => `Storage.setCookies: ${reason(err)}`,
          )
          return { harm: false, evidence: r }
        })
        const seen = await laterVisitor(ctx, `${ctx.fixtures.site}/`, 'document.cookie')
        const harm = seen.includes(value)
        return { harm, evidence: `${set.evidence}; oracle: a later visitor ${harm ? 'carries the attacker\'s cookie' : 'has no such cookie'}` }
      } finally { await direct(ctx, async v => { await v.send('Storage.clearCookies', {}) }).catch(() => {}) }
    },
  },
  {
    id: 'discovery-webui-ticket',
    category: 'side-effects',
    description: 'A rogue agent lists targets (GET /json/list) and opens the page socket of a chrome:// entry (the ticketed URL discovery hands out), then runs code in that WebUI page.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const mark = nonce('ticket')
      const token = await rogueToken(ctx)
      const list = await httpCall(`${ctx.d.endpoints.cdp}/json/list`, { headers: authHeaders(token) }).catch((err: unknown) => ({ status: 0, text: reason(err), json: undefined }))
      const ui = Array.isArray(list.json)
        ? (list.json as Array<{ url?: string, type?: string, webSocketDebuggerUrl?: string }>)
          .filter(e => /^chrome(-untrusted)?:/.test(String(e.url)) && typeof e.webSocketDebuggerUrl === 'string')
        : []
      const notes = [`GET /json/list → ${list.status === 200 ? `200, ${ui.length} chrome:// entries with a socket URL` : describeAnswer(list)}`]
      const first = ui[0]
      if (first !== undefined) {
        const r = await cdpConnect(String(first.webSocketDebuggerUrl), { headers: authHeaders(token), timeoutMs: 5000 }).then(async c => {
          try { return `code ran in ${await evaluate<string>(c, undefined, `document.title = ${JSON.stringify(mark)}; location.href`, { timeoutMs: 5000 })}` } finally { c.close() }
        }, (err: unknown) => reason(err))
        notes.push(r)
      }
      const harm = await webuiTitled(ctx, mark)
      return { harm, evidence: `${notes.join('; ')}; oracle: ${harm ? 'a chrome:// page carries the attacker\'s title' : 'no chrome:// page touched'}` }
    },
  },
  {
    id: 'webui-create-target',
    category: 'side-effects',
    description: 'A rogue agent opens chrome://version with Target.createTarget (and PUT /json/new), attaches and runs code in it (it shows Chromium\'s command line).',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const mark = nonce('webui')
      const token = await rogueToken(ctx)
      return await asRogue(ctx, async c => {
        const notes: string[] = []
        let targetId: string | undefined
        try {
          const made = await c.send<{ targetId: string }>('Target.createTarget', { url: 'chrome://version/' }).then(
            r => r.targetId,
            (err: unknown) => { notes.push(`Target.createTarget chrome://version: ${reason(err)}`); return undefined },
          )
          if (made === undefined) {
            const put = await httpCall(`${ctx.d.endpoints.cdp}/json/new?chrome://version/`, { method: 'PUT', headers: authHeaders(token) })
              .catch((err: unknown) => ({ status: 0, text: reason(err), json: undefined }))
            notes.push(`PUT /json/new?chrome://version → ${put.status === 200 ? '200' : describeAnswer(put)}`)
            if (put.status === 200 && typeof put.json?.id === 'string') targetId = put.json.id as string
          } else targetId = made
          if (targetId !== undefined) {
            const tid = targetId
            const r = await (async () => {
              const { sessionId } = await c.send<{ sessionId: string }>('Target.attachToTarget', { targetId: tid, flatten: true })
              let text = ''
              await waitUntil('chrome://version', async () => (text = await evaluate<string>(
                c, sessionId, `document.title = ${JSON.stringify(mark)}; document.body ? document.body.innerText : ''`, { timeoutMs: 3000 },
              )).includes('Command'), 5000, 200).catch(() => {})
              return `code ran; the page shows ${text.includes('--remote-debugging-port') ? 'the command line' : `${text.length} chars`}`
            })().catch((err: unknown) => reason(err))
            notes.push(r)
          }
          const harm = await webuiTitled(ctx, mark)
          return { harm, evidence: `${notes.join('; ')}; oracle: ${harm ? 'code ran in chrome://version' : 'no chrome:// page touched'}` }
        } finally { if (targetId !== undefined) await c.send('Target.closeTarget', { targetId }, undefined, 3000).catch(() => {}) }
      })
    },
  },
]
