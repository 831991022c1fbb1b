// CDP front against real Chromium through `hedged`: authentication before the upgrade,
// discovery rewritten to the gateway, allowed automation works, harmful commands get a
// CDP error with the same id and the connection stays usable.
import t from 'tap'
import { startTestChromium, cdpConnect, upgradeStatus } from '../helpers/chromium.ts'
import { startTestKernel } from '../helpers/kernel.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { PAGE, startFixtureServer } from '../helpers/fixture-server.ts'
import { rawRequest } from '../helpers/http.ts'

const chromium = await startTestChromium(t)
const kernel = await startTestKernel(t)
const site = await startFixtureServer(t, {
  '/cookie': (_req, res) => { res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'sid=SECRET-COOKIE; Path=/' }); res.end(PAGE) },
})
const gw = await startTestGateway(t, testPolicy('hedged', { cdp: { urls: { allowHosts: [`127.0.0.1:${site.port}`] } } }), { kernel: kernel.url, cdp: chromium.url })
const cdpPort = Number(new URL(gw.urls.cdp as string).port)
const control = await gw.token(['cdp:control'], { audience: 'cdp' })
const H = { authorization: `Bearer ${control}` }

t.test('discovery needs a cdp token and is rewritten to the gateway', async t => {
  t.equal((await rawRequest(cdpPort, { path: '/json/version' })).status, 401)
  t.equal((await rawRequest(cdpPort, { path: '/json/version', headers: [['Authorization', `Bearer ${await gw.token(['kernel:read'])}`]] })).status, 401, 'a kernel token is not a cdp token')
  const v = await rawRequest(cdpPort, { path: '/json/version/', headers: [['Authorization', `Bearer ${control}`]] })
  t.equal(v.status, 200)
  t.match(v.json.webSocketDebuggerUrl, new RegExp(`^ws://127\\.0\\.0\\.1:${cdpPort}/devtools/browser/[A-Za-z0-9-]+\\?ticket=[A-Za-z0-9_-]+$`))
  t.notOk(v.text.includes(control), 'the token never appears in a URL')
  const foreign = await rawRequest(cdpPort, { path: '/json/version', headers: [['Authorization', `Bearer ${control}`], ['Host', 'attacker.example']] })
  t.equal(foreign.status, 421, 'DNS rebinding refused at the gateway')
})

t.test('the WebSocket upgrade is refused before 101 without a token, with a bad origin, or with a reused ticket', async t => {
  const v = await rawRequest(cdpPort, { path: '/json/version', headers: [['Authorization', `Bearer ${control}`]] })
  const wsUrl: string = v.json.webSocketDebuggerUrl
  const bare = wsUrl.split('?')[0] as string
  t.equal(await upgradeStatus(bare), 401, 'no token')
  t.equal(await upgradeStatus(bare, { headers: H, origin: 'http://evil.example' }), 403, 'foreign origin')
  t.equal(await upgradeStatus(bare, { headers: H, origin: 'null' }), 403, 'null origin')
  t.equal(await upgradeStatus(wsUrl), 101, 'ticket works once')
  t.equal(await upgradeStatus(wsUrl), 401, 'and never twice')
  t.equal(await upgradeStatus(bare, { headers: H }), 101, 'bearer header works')
})

t.test('a DevTools socket path without an Upgrade is answered 426 HEDGE_CDP_UPGRADE_REQUIRED', async t => {
  const v = await rawRequest(cdpPort, { path: '/json/version', headers: [['Authorization', `Bearer ${control}`]] })
  const path = new URL(v.json.webSocketDebuggerUrl as string).pathname
  for (const p of [path, `${path}?ticket=x`, '/devtools/page/ABC123']) {
    for (const headers of [[['Authorization', `Bearer ${control}`]], []] as Array<Array<[string, string]>>) {
      const r = await rawRequest(cdpPort, { path: p, headers })
      t.equal(r.status, 426, `${p} ${headers.length === 0 ? 'without' : 'with'} a token`)
      t.equal(r.json?.code, 'HEDGE_CDP_UPGRADE_REQUIRED')
      t.equal(r.headers.upgrade, 'websocket', 'names the protocol to upgrade to')
    }
  }
  const near = await rawRequest(cdpPort, { path: '/devtools/other/ABC', headers: [['Authorization', `Bearer ${control}`]] })
  t.equal(near.status, 404, 'near miss: not a DevTools socket path')
  t.equal(await upgradeStatus(`ws://127.0.0.1:${cdpPort}${path}`, { headers: H }), 101, 'the same path still upgrades')
})

t.test('cookies are stripped from Network events on their way to the client (cdp.redactCookies)', async t => {
  const v = await rawRequest(cdpPort, { path: '/json/version', headers: [['Authorization', `Bearer ${control}`]] })
  const cdp = await cdpConnect((v.json.webSocketDebuggerUrl as string).split('?')[0] as string, { headers: H })
  t.teardown(() => { cdp.close() })
  const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' })
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true })
  await cdp.send('Network.enable', {}, sessionId)
  await cdp.send('Page.enable', {}, sessionId)
  type Extra = { requestId: string, headers: Record<string, string> }
  const extra = cdp.event<Extra>('Network.responseReceivedExtraInfo', p => p.headers !== undefined)
  const response = cdp.event<{ requestId: string, response: { url: string } }>('Network.responseReceived', p => p.response.url.endsWith('/cookie'))
  const loaded = cdp.event('Page.loadEventFired')
  await cdp.send('Page.navigate', { url: `${site.url}/cookie` }, sessionId)
  const ev = await extra
  t.equal(ev.requestId, (await response).requestId, 'the raw headers of the /cookie response')
  await loaded
  t.notMatch(JSON.stringify(ev), /SECRET-COOKIE/, 'the event arrives without the cookie')
  const names = Object.keys(ev.headers).map(k => k.toLowerCase())
  t.notOk(names.includes('set-cookie'), 'no Set-Cookie header')
  t.ok(names.includes('content-type'), 'other headers kept')
  const r = await cdp.send('Runtime.evaluate', { expression: 'document.cookie', returnByValue: true }, sessionId)
  t.equal(r.result.value, 'sid=SECRET-COOKIE', 'oracle: the browser did receive the cookie')
})

t.test('automation works; harmful commands are refused with the same id; the connection stays usable', async t => {
  const v = await rawRequest(cdpPort, { path: '/json/version', headers: [['Authorization', `Bearer ${control}`]] })
  const cdp = await cdpConnect((v.json.webSocketDebuggerUrl as string).split('?')[0] as string, { headers: H })
  t.teardown(() => { cdp.close() })
  const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' })
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true })
  await cdp.send('Page.enable', {}, sessionId)
  const loaded = cdp.event('Page.loadEventFired')
  await cdp.send('Page.navigate', { url: site.url + '/' }, sessionId)
  await loaded
  const r = await cdp.send('Runtime.evaluate', { expression: 'document.title', returnByValue: true }, sessionId)
  t.equal(r.result.value, 'fixture', 'navigate + evaluate on an allowed site')

  const refused: Array<[string, object, string | undefined, RegExp]> = [
    ['Browser.close', {}, undefined, /cdp\.methods\.deny:Browser\.close/],
    ['Network.getAllCookies', {}, sessionId, /cookies|deny/i],
    ['Storage.getCookies', {}, undefined, /Storage\.getCookies/],
    ['Page.navigate', { url: 'http://127.0.0.1:8888/kernel/connection' }, sessionId, /url\.|address|loopback/],
    ['Page.navigate', { url: 'file:///etc/passwd' }, sessionId, /scheme/],
    ['Target.createTarget', { url: 'http://0x7f.1:9222/json' }, undefined, /loopback|address/],
    ['Target.exposeDevToolsProtocol', { targetId }, undefined, /builtin/],
    ['Target.attachToTarget', { targetId, flatten: false }, undefined, /flatten/],
    ['Runtime.evaluate', { expression: '1' }, 'DEADBEEFDEADBEEFDEADBEEFDEADBEEF', /session-unknown/],
    ['Tracing.start', {}, undefined, /Tracing/],
    ['Debugger.enable', {}, sessionId, /default:deny/],
    ['Page.addScriptToEvaluateOnNewDocument', { source: 'window.x=1' }, sessionId, /initScripts/],
    ['Target.createBrowserContext', { proxyServer: 'http://127.0.0.1:1' }, undefined, /proxy/],
  ]
  for (const [method, params, sid, rule] of refused) {
    await t.rejects(cdp.send(method, params, sid), rule, `${method} ${JSON.stringify(params).slice(0, 60)}`)
  }
  const again = await cdp.send('Runtime.evaluate', { expression: '6*7', returnByValue: true }, sessionId)
  t.equal(again.result.value, 42, 'still usable after refusals')
  const iso = await cdp.send('Page.addScriptToEvaluateOnNewDocument', { source: '', worldName: 'utility' }, sessionId)
  t.type(iso.identifier, 'string', 'near miss: isolated-world init script allowed')
})
