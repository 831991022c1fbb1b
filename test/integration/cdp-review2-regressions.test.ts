// Regressions for the adversarial review of the CDP model (tenancy and bounded work), each
// replayed against real Chromium through `hedged` with its harm oracle:
//   F1 a reused message id got the second answer through unfiltered (other clients' pages)
//   F2 a page socket named another client's browser context (pages and requests in it)
//   F3 any client resized or minimised another client's window by its id
//   F4 Security.* on the browser session decided other clients' certificate errors
//   F6 refusals ignored backpressure: a client that did not read grew the gateway without bound
//   F7 a leaving client's pages were listed to others before Chromium disposed of its context
import t from 'tap'
import { fork } from 'node:child_process'
import { createRequire } from 'node:module'
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestChromium, cdpConnect, type CdpClient } from '../helpers/chromium.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { rawRequest } from '../helpers/http.ts'

const chromium = await startTestChromium(t)
const gw = await startTestGateway(t, testPolicy('hedged'), { kernel: 'http://127.0.0.1:9', cdp: chromium.url })
const cdpPort = Number(new URL(gw.urls.cdp as string).port)
const bpath = new URL(((await (await fetch(`${chromium.url}/json/version`)).json()) as { webSocketDebuggerUrl: string }).webSocketDebuggerUrl).pathname
const token = async (): Promise<string> => await gw.token(['cdp:control'], { audience: 'cdp' })

async function client (t: { teardown (fn: () => unknown): void }, path = bpath): Promise<CdpClient> {
  const c = await cdpConnect(`ws://127.0.0.1:${cdpPort}${path}`, { headers: { authorization: `Bearer ${await token()}` } })
  t.teardown(() => { c.close() })
  return c
}
interface Info { targetId: string, url: string, browserContextId: string }

/** A victim with a page whose URL carries a secret; returns its target and context. */
async function victim (t: { teardown (fn: () => unknown): void }): Promise<{ c: CdpClient, secret: string, targetId: string, ctx: string }> {
  const c = await client(t)
  const secret = `victim-secret-${Math.random().toString(36).slice(2)}`
  const { targetId } = await c.send('Target.createTarget', { url: 'about:blank' })
  const { sessionId } = await c.send('Target.attachToTarget', { targetId, flatten: true })
  await c.send('Runtime.evaluate', { expression: `location.hash = ${JSON.stringify(secret)}` }, sessionId)
  await new Promise(resolve => setTimeout(resolve, 100))
  const { targetInfos } = await c.send<{ targetInfos: Info[] }>('Target.getTargets')
  return { c, secret, targetId, ctx: (targetInfos.find(x => x.targetId === targetId) as Info).browserContextId }
}

/** Send raw frames and collect the answers to `id` (the helper client numbers its own). */
async function rawAnswers (path: string, frames: string[], id: number, want: number): Promise<any[]> {
  const { default: WebSocket } = await import('ws')
  const ws = new WebSocket(`ws://127.0.0.1:${cdpPort}${path}`, { headers: { authorization: `Bearer ${await token()}` } })
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  const got: any[] = []
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`only ${got.length} answers`)) }, 20_000)
    ws.on('message', d => { const m = JSON.parse(d.toString()); if (m.id === id) { got.push(m); if (got.length === want) { clearTimeout(timer); resolve() } } })
  })
  for (const f of frames) ws.send(f)
  await done.finally(() => { ws.terminate() })
  return got
}

t.test('F1: the same id twice: both answers are filtered and carry the client\'s id', async t => {
  const v = await victim(t)
  const answers = await rawAnswers(bpath, ['{"id":77,"method":"Target.getTargets"}', '{"id":77,"method":"Target.getTargets"}', '{"id":77,"method":"Target.getBrowserContexts"}'], 77, 3)
  const text = JSON.stringify(answers)
  t.notOk(text.includes(v.secret), 'the victim\'s URL never reaches the attacker')
  t.notOk(text.includes(v.ctx), 'nor its browser context id')
  t.notOk(text.includes('chrome://'), 'nor a WebUI target')
})

t.test('F2: a page socket cannot name another client\'s context', async t => {
  const v = await victim(t)
  const direct = await cdpConnect(`ws://127.0.0.1:${new URL(chromium.url).port}${bpath}`)
  t.teardown(() => { direct.close() })
  const inCtx = async (): Promise<number> => (await direct.send<{ targetInfos: Info[] }>('Target.getTargets')).targetInfos.filter(x => x.browserContextId === v.ctx).length
  const before = await inCtx()
  const made = await rawRequest(cdpPort, { method: 'PUT', path: '/json/new?about:blank', headers: [['Authorization', `Bearer ${await token()}`]] })
  const p = await client(t, `/devtools/page/${made.json.id as string}`)
  await t.rejects(p.send('Target.createTarget', { url: 'about:blank', browserContextId: v.ctx }), /cdp\.tenancy\.context/)
  await t.rejects(p.send('Browser.setDownloadBehavior', { behavior: 'deny', browserContextId: v.ctx }), /cdp\.tenancy\.context/)
  await t.rejects(p.send('Target.createBrowserContext', {}), /cdp\.tenancy\.context/)
  t.equal(await inCtx(), before, 'oracle: no new page appeared in the victim\'s context')
})

t.test('F3: window ids only from getWindowForTarget on the client\'s own targets', async t => {
  const v = await victim(t)
  const direct = await cdpConnect(`ws://127.0.0.1:${new URL(chromium.url).port}${bpath}`)
  t.teardown(() => { direct.close() })
  const { windowId } = await direct.send<{ windowId: number }>('Browser.getWindowForTarget', { targetId: v.targetId })
  const a = await client(t)
  await t.rejects(a.send('Browser.setWindowBounds', { windowId, bounds: { windowState: 'minimized' } }), /cdp\.tenancy\.window/, 'minimising the victim\'s window is refused')
  await t.rejects(a.send('Browser.getWindowBounds', { windowId }), /cdp\.tenancy\.window/, 'so is reading it')
  await t.rejects(a.send('Browser.getWindowForTarget', { targetId: v.targetId }), /cdp\.tenancy\.context/, 'and learning it')
  const { targetId } = await a.send('Target.createTarget', { url: 'about:blank' })
  const own = await a.send<{ windowId: number }>('Browser.getWindowForTarget', { targetId })
  t.ok((await a.send('Browser.getWindowBounds', { windowId: own.windowId })).bounds, 'near miss: its own window works')
  t.equal((await direct.send('Browser.getWindowBounds', { windowId })).bounds.windowState, 'normal', 'oracle: the victim\'s window untouched')
})

t.test('F4: certificate decisions only on page sessions', async t => {
  const a = await client(t)
  await t.rejects(a.send('Security.setIgnoreCertificateErrors', { ignore: true }), /cdp\.builtin:browser-security/)
  await t.rejects(a.send('Security.setOverrideCertificateErrors', { override: true }), /cdp\.builtin:browser-security/)
  const { targetId } = await a.send('Target.createTarget', { url: 'about:blank' })
  const { sessionId } = await a.send('Target.attachToTarget', { targetId, flatten: true })
  await a.send('Security.enable', {}, sessionId)
  t.pass('near miss: Security on the client\'s own page session works')
})

t.test('F6: a refusal flood from a client that does not read stays bounded', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hedge-flood-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  // The attacker in its own process: connect, stop reading, send refused frames for 4 s.
  const script = join(dir, 'flood.cjs')
  writeFileSync(script, `
    const WebSocket = require(${JSON.stringify(createRequire(import.meta.url).resolve('ws'))})
    const ws = new WebSocket(process.argv[2], { headers: { authorization: 'Bearer ' + process.argv[3] } })
    ws.on('open', () => {
      ws.pause()
      const end = Date.now() + 4000
      const pump = () => { for (let i = 0; i < 2000 && ws.bufferedAmount < 64 * 1024 * 1024; i++) ws.send('{"id":1,"method":"Browser.close"}'); if (Date.now() < end) setImmediate(pump); else { ws.terminate(); process.exit(0) } }
      pump()
    })
    ws.on('error', () => process.exit(0))`)
  const before = process.memoryUsage().rss
  let peak = before
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 50)
  const child = fork(script, [`ws://127.0.0.1:${cdpPort}${bpath}`, await token()], { stdio: 'ignore' })
  const probe = await (async () => { const s = Date.now(); const r = await rawRequest(cdpPort, { path: '/json/version', headers: [['Authorization', `Bearer ${await token()}`]] }); return { status: r.status, ms: Date.now() - s } })()
  await new Promise(resolve => child.once('exit', resolve))
  clearInterval(sampler)
  const grew = (peak - before) / 1024 / 1024
  t.ok(grew < 256, `gateway memory grew ${grew.toFixed(0)} MiB during the flood (unbounded before: ~1 GiB in 8 s)`)
  t.equal(probe.status, 200, `discovery answered during the flood (${probe.ms} ms)`)
  const denies = gw.logs.lines.filter(l => l.event === 'deny' && l.rule === 'cdp.methods.deny:Browser.close').length
  t.ok(denies <= 20 * 6, `deny lines budgeted (${denies})`)
  t.ok(gw.logs.lines.some(l => l.event === 'deny-suppressed'), 'the rest summarised')
})

t.test('F7: a leaving client\'s pages are never listed to others', async t => {
  for (let round = 0; round < 3; round++) {
    const v = await victim(t)
    v.c.close()
    const list = await rawRequest(cdpPort, { path: '/json/list', headers: [['Authorization', `Bearer ${await token()}`]] })
    t.notOk(list.text.includes(v.secret), `round ${round + 1}: not listed while Chromium disposes of its context`)
  }
})
