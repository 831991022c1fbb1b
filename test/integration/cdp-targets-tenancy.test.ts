// The CDP model against real Chromium through `hedged`: each browser connection lives in a
// disposable browser context of its own (tenancy isolated), sees only its own targets, never
// a privileged one (browser_ui, chrome://, devtools://), loses a session whose target becomes
// privileged, cannot intercept browser-wide, and cannot press a browser accelerator.
// Harm oracles look through Chromium's own endpoint, never through the gateway.
import t from 'tap'
import { mkdtempSync, chmodSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestChromium, cdpConnect, type CdpClient } from '../helpers/chromium.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { startFixtureServer } from '../helpers/fixture-server.ts'
import { rawRequest } from '../helpers/http.ts'
import { waitUntil } from '../../src/util/wait.ts'
import { MOD } from '../../src/cdp/input-rules.ts'

const chromium = await startTestChromium(t)
const site = await startFixtureServer(t)
const dirs = mkdtempSync(join(tmpdir(), 'hedge-tenancy-'))
t.teardown(() => { rmSync(dirs, { recursive: true, force: true }) })
chmodSync(dirs, 0o755)
const output = join(dirs, 'output')
const upload = join(dirs, 'upload')
mkdirSync(output, { mode: 0o777 }); chmodSync(output, 0o777)
mkdirSync(upload, { mode: 0o755 })
const policy = testPolicy('hedged', { cdp: { urls: { allowHosts: [`127.0.0.1:${site.port}`] }, maxConnectionsPerToken: 3, maxConnectionsPerPrincipal: 5 } })
const gw = await startTestGateway(t, policy, { kernel: 'http://127.0.0.1:9', cdp: chromium.url }, { workspace: { output, upload } })
const cdpPort = Number(new URL(gw.urls.cdp as string).port)

async function browserPath (): Promise<string> {
  const v = await (await fetch(`${chromium.url}/json/version`)).json() as { webSocketDebuggerUrl: string }
  return new URL(v.webSocketDebuggerUrl).pathname
}
const bpath = await browserPath()

async function client (t: { teardown (fn: () => unknown): void }, token?: string): Promise<CdpClient> {
  const c = await cdpConnect(`ws://127.0.0.1:${cdpPort}${bpath}`, { headers: { authorization: `Bearer ${token ?? await gw.token(['cdp:control'], { audience: 'cdp' })}` } })
  t.teardown(() => { c.close() })
  return c
}
/** Chromium's own view (the harness, not a client). */
async function direct (t: { teardown (fn: () => unknown): void }): Promise<CdpClient> {
  const c = await cdpConnect(`ws://127.0.0.1:${new URL(chromium.url).port}${bpath}`)
  t.teardown(() => { c.close() })
  return c
}
interface Info { targetId: string, type: string, url: string, browserContextId: string }
const targets = async (c: CdpClient): Promise<Info[]> => (await c.send<{ targetInfos: Info[] }>('Target.getTargets')).targetInfos

t.test('each connection gets a context of its own with one blank page; clients never see each other', async t => {
  const a = await client(t)
  const b = await client(t)
  const ta = await targets(a)
  t.equal(ta.filter(x => x.type === 'page').length, 1, 'A starts with one page, as a fresh browser has')
  t.ok(ta.every(x => !/^(chrome|devtools|chrome-untrusted):/.test(x.url) && x.type !== 'browser_ui'), 'no privileged target is listed')
  const all = await targets(await direct(t))
  t.ok(all.some(x => x.type === 'browser_ui'), 'oracle: Chromium does have browser_ui targets')
  const { targetId } = await a.send('Target.createTarget', { url: `${site.url}/` })
  t.notOk((await targets(b)).some(x => x.targetId === targetId), 'B does not see A\'s page')
  await t.rejects(b.send('Target.attachToTarget', { targetId, flatten: true }), /cdp\.tenancy\.context/, 'B cannot attach to A\'s page')
  await t.rejects(b.send('Target.closeTarget', { targetId }), /cdp\.tenancy\.context/, 'nor close it')
  const ctxA = ta[0]?.browserContextId as string
  await t.rejects(b.send('Target.createTarget', { url: 'about:blank', browserContextId: ctxA }), /cdp\.tenancy\.context/, 'nor open a page in A\'s context')
  await t.rejects(b.send('Storage.setCookies', { cookies: [{ name: 'x', value: 'y', url: site.url }], browserContextId: ctxA }), /cdp\.tenancy\.context/, 'nor touch its cookies')
  const contexts = await b.send<{ browserContextIds: string[], defaultBrowserContextId: string }>('Target.getBrowserContexts')
  t.same(contexts.browserContextIds, [], 'B lists no context but its own')
  t.not(contexts.defaultBrowserContextId, ctxA)
  // discovery announces only B's own
  const created: string[] = []
  const seen = b.event('Target.targetCreated', p => { created.push((p as { targetInfo: Info }).targetInfo.targetId); return false }).catch(() => {})
  await b.send('Target.setDiscoverTargets', { discover: true })
  await a.send('Target.createTarget', { url: 'about:blank' })
  const mine = await b.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' })
  await waitUntil('B sees its own new page', async () => created.includes(mine.targetId), 10_000)
  t.notOk(created.includes(targetId), 'discovery never announced A\'s page to B')
  void seen
})

t.test('cookies stay in their context; a context dies with its connection', async t => {
  const a = await client(t)
  await a.send('Storage.setCookies', { cookies: [{ name: 'tenant', value: 'A-secret', url: site.url }] })
  const b = await client(t)
  const bc = await b.send<{ cookies: Array<{ value: string }> }>('Storage.getCookies', {}).catch((e: Error) => e)
  t.ok(bc instanceof Error, 'Storage.getCookies stays denied by the hedged method list')
  // oracle: the default context (the profile) has no such cookie, and A's context has it
  const d = await direct(t)
  const inDefault = await d.send<{ cookies: Array<{ value: string }> }>('Storage.getCookies', {})
  t.notOk(inDefault.cookies.some(c => c.value === 'A-secret'), 'the shared profile never got A\'s cookie')
  const ctxA = (await targets(a))[0]?.browserContextId as string
  t.ok((await d.send<{ cookies: Array<{ value: string }> }>('Storage.getCookies', { browserContextId: ctxA })).cookies.some(c => c.value === 'A-secret'), 'oracle: A\'s own context has it')
  a.close()
  await waitUntil('A\'s context disposed', async () => !(await d.send<{ browserContextIds: string[] }>('Target.getBrowserContexts')).browserContextIds.includes(ctxA), 15_000)
  t.pass('A\'s context is gone once A disconnected')
})

t.test('auto-attach reaches only the client\'s own pages; nothing waits for a debugger that left', async t => {
  const other = await client(t)
  const { targetId: foreign } = await other.send('Target.createTarget', { url: 'about:blank' })
  const c = await client(t)
  const attached: Info[] = []
  void c.event('Target.attachedToTarget', p => { attached.push((p as { targetInfo: Info }).targetInfo); return false }).catch(() => {})
  await c.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true })
  await waitUntil('own page attached', async () => attached.length >= 1, 10_000)
  t.notOk(attached.some(x => x.targetId === foreign), 'the other client\'s page was not handed over')
  t.ok(attached.every(x => x.type === 'page' || x.type === 'tab'), 'only pages')
  // a page the OTHER client opens now is not paused by c's auto-attach (the gateway let go of it)
  const { targetId } = await other.send('Target.createTarget', { url: `${site.url}/` })
  const { sessionId } = await other.send('Target.attachToTarget', { targetId, flatten: true })
  const r = await other.send('Runtime.evaluate', { expression: 'document.readyState', returnByValue: true }, sessionId)
  t.ok(['loading', 'interactive', 'complete'].includes(r.result.value), 'the other client\'s page runs')
})

t.test('a target that becomes privileged loses the client\'s session', async t => {
  const c = await client(t)
  const { targetId } = await c.send('Target.createTarget', { url: 'about:blank' })
  const { sessionId } = await c.send('Target.attachToTarget', { targetId, flatten: true })
  const detached = c.event('Target.detachedFromTarget', p => (p as { sessionId: string }).sessionId === sessionId)
  const told = c.event('Inspector.detached', () => true)
  // the harness (not the client) sends the page to a chrome:// URL
  const d = await direct(t)
  const { sessionId: ds } = await d.send('Target.attachToTarget', { targetId, flatten: true })
  await d.send('Page.navigate', { url: 'chrome://version' }, ds)
  await detached
  t.pass('the client was detached')
  t.match((await told).reason, /cdp\.targets\.scheme/, 'and told why')
  t.ok(gw.logs.lines.some(l => l.event === 'detach' && l.rule === 'cdp.targets.scheme'), 'logged with the rule')
  await t.rejects(c.send('Runtime.evaluate', { expression: 'document.body.innerText' }, sessionId), /session-unknown|cdp\.targets/, 'and cannot use the session')
  await t.rejects(c.send('Target.attachToTarget', { targetId, flatten: true }), /cdp\.targets\.scheme/, 'nor attach again')
})

t.test('browser-wide Fetch is refused; a page session may intercept its own requests', async t => {
  const c = await client(t)
  await t.rejects(c.send('Fetch.enable', { patterns: [{ urlPattern: '*' }] }), /cdp\.builtin:browser-fetch/)
  const { targetId } = await c.send('Target.createTarget', { url: 'about:blank' })
  const { sessionId } = await c.send('Target.attachToTarget', { targetId, flatten: true })
  await c.send('Fetch.enable', { patterns: [{ urlPattern: '*' }] }, sessionId)
  t.pass('page-level Fetch.enable works')
})

t.test('key accelerators are refused through the gateway; typing and editing keys work', async t => {
  const c = await client(t)
  const { targetId } = await c.send('Target.createTarget', { url: `${site.url}/` })
  const { sessionId } = await c.send('Target.attachToTarget', { targetId, flatten: true })
  await waitUntil('page loaded', async () => (await c.send('Runtime.evaluate', { expression: 'document.readyState', returnByValue: true }, sessionId)).result.value === 'complete', 10_000)
  const table = JSON.parse(readFileSync(new URL('../../docs/chromium-accelerators.json', import.meta.url), 'utf8')) as { accelerators: Array<{ key: string, windowsVirtualKeyCode: number, modifiers: string, accepted?: string }> }
  let refused = 0
  for (const a of table.accelerators) {
    if (a.accepted !== undefined) continue
    const modifiers = a.modifiers === '' ? 0 : a.modifiers.split('+').reduce((n, k) => n | MOD[k as keyof typeof MOD], 0)
    const err = await c.send('Input.dispatchKeyEvent', { type: 'rawKeyDown', modifiers, windowsVirtualKeyCode: a.windowsVirtualKeyCode }, sessionId).then(() => null, (e: Error) => e)
    if (err !== null && /cdp\.input:/.test(err.message)) refused++
    else t.fail(`${a.modifiers}+${a.key} was not refused`)
  }
  t.equal(refused, table.accelerators.filter(a => a.accepted === undefined).length, `all ${refused} accelerators refused by the live gateway`)
  await c.send('Runtime.evaluate', { expression: 'document.getElementById("i").focus()' }, sessionId)
  for (const ch of 'hi') await c.send('Input.dispatchKeyEvent', { type: 'keyDown', key: ch, code: `Key${ch.toUpperCase()}`, windowsVirtualKeyCode: ch.toUpperCase().charCodeAt(0), text: ch }, sessionId)
  await c.send('Input.dispatchKeyEvent', { type: 'rawKeyDown', modifiers: MOD.ctrl, key: 'a', code: 'KeyA', windowsVirtualKeyCode: 65, commands: ['selectAll'] }, sessionId)
  await c.send('Input.dispatchKeyEvent', { type: 'keyDown', key: 'Backspace', windowsVirtualKeyCode: 8 }, sessionId)
  await c.send('Input.dispatchKeyEvent', { type: 'keyDown', key: 'z', code: 'KeyZ', windowsVirtualKeyCode: 90, text: 'z' }, sessionId)
  const v = await c.send('Runtime.evaluate', { expression: 'document.getElementById("i").value', returnByValue: true }, sessionId)
  t.equal(v.result.value, 'z', 'typed, Control+A selected all, Backspace deleted, typed again')
  const all = await targets(await direct(t))
  t.notOk(all.some(x => x.url.startsWith('devtools://') || x.url.startsWith('chrome://history') || x.url.startsWith('chrome://downloads')), 'oracle: no DevTools or WebUI page was opened')
})

t.test('downloads: the client\'s context downloads into output/, also with behavior "default"', async t => {
  const c = await client(t)
  await c.send('Browser.setDownloadBehavior', { behavior: 'default' })
  const { targetId } = await c.send('Target.createTarget', { url: 'about:blank' })
  const { sessionId } = await c.send('Target.attachToTarget', { targetId, flatten: true })
  await c.send('Page.navigate', { url: `${site.url}/download` }, sessionId).catch(() => {})
  await waitUntil('the download in output/', async () => readdirSync(output).some(f => readFileSync(join(output, f), 'utf8') === 'downloaded-bytes'), 20_000)
  t.pass('downloaded into output/')
  t.ok(gw.logs.lines.some(l => l.event === 'rewrite' && l.rule === 'cdp.downloads:rewritten'), '"default" was rewritten')
})

t.test('quotas: per token, and per subject across its tokens', async t => {
  const tok = await gw.token(['cdp:control'], { audience: 'cdp' })
  const held: CdpClient[] = []
  for (let i = 0; i < 3; i++) held.push(await client(t, tok))
  const status = async (token: string): Promise<number> => (await rawRequest(cdpPort, {
    path: bpath,
    headers: [
      ['Authorization', `Bearer ${token}`], ['Connection', 'Upgrade'], ['Upgrade', 'websocket'],
      ['Sec-WebSocket-Version', '13'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
    ],
  })).status
  t.equal(await status(tok), 429, 'a fourth connection on the same token is refused')
  const other = await gw.token(['cdp:control'], { audience: 'cdp' })
  const c = await client(t, other)
  t.ok(c, 'another token of the same subject still connects')
  for (const h of held) h.close()
})
