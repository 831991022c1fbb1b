// The baseline 9223 forwarder: discovery URLs rewritten to the forwarder, CDP works
// through it, and — faithfully to the documented sandbox — it defeats Chromium's own
// Host (DNS rebinding) and Origin checks that Chromium's port enforces by itself.
import t from 'tap'
import { createServer, type AddressInfo } from 'node:net'
import { startForwarder } from '../../src/sandbox/forwarder.ts'
import { silentLogger } from '../../src/logger.ts'
import { rawRequest } from '../helpers/http.ts'
import { cdpConnect, evaluateInPage, startTestChromium, startTestForwarder, upgradeStatus } from '../helpers/chromium.ts'

const chromium = await startTestChromium(t)
const fwd = await startTestForwarder(t, chromium)
const host = `127.0.0.1:${fwd.port}`

t.test('/json/version answers with URLs pointing at the forwarder', async t => {
  const res = await rawRequest(fwd.port, { path: '/json/version' })
  t.equal(res.status, 200)
  t.match(res.json.Browser, /^(Headless)?Chrome\//)
  t.match(res.json.webSocketDebuggerUrl, new RegExp(`^ws://${host}/devtools/browser/[0-9a-f-]+$`))
  t.equal(Number(res.headers['content-length']), Buffer.byteLength(res.text), 'content-length matches the rewritten body')
})

t.test('/json/list rewrites every target, frontend URL included', async t => {
  const res = await rawRequest(fwd.port, { path: '/json/list' })
  t.equal(res.status, 200)
  const pages = (res.json as Array<{ type: string, webSocketDebuggerUrl: string, devtoolsFrontendUrl: string }>).filter(x => x.type === 'page')
  t.ok(pages.length > 0)
  for (const p of pages) {
    t.match(p.webSocketDebuggerUrl, new RegExp(`^ws://${host}/devtools/page/`))
    t.match(p.devtoolsFrontendUrl, new RegExp(`[?&]ws=${host}/devtools/page/`))
    t.notMatch(p.devtoolsFrontendUrl, `:${chromium.port}`)
  }
})

t.test('Runtime.evaluate through the rewritten URL', async t => {
  const res = await rawRequest(fwd.port, { path: '/json/version' })
  t.equal(await evaluateInPage(res.json.webSocketDebuggerUrl, '1+1'), 2)
  const page = (await rawRequest(fwd.port, { path: '/json/list' })).json.find((x: { type: string }) => x.type === 'page')
  const cdp = await cdpConnect(page.webSocketDebuggerUrl)
  t.teardown(() => { cdp.close() })
  const { result } = await cdp.send('Runtime.evaluate', { expression: '1+1', returnByValue: true })
  t.equal(result.value, 2, 'a page socket (/devtools/page/ID) works too')
})

t.test('an unrelated Host header: Chromium refuses it, the forwarder lets it through', async t => {
  const direct = await rawRequest(chromium.port, { path: '/json/version', headers: [['Host', 'attacker.example']] })
  t.equal(direct.status, 500)
  t.match(direct.text, 'Host header is specified and is not an IP address or localhost.')

  const via = await rawRequest(fwd.port, { path: '/json/version', headers: [['Host', 'attacker.example']] })
  t.equal(via.status, 200, 'DNS rebinding works against the baseline')
  t.match(via.json.webSocketDebuggerUrl, /^wss:\/\/attacker\.example\/devtools\/browser\//, 'non-loopback host gets wss:// like the documented one')

  const list = await rawRequest(fwd.port, { path: '/json/list', headers: [['Host', 'attacker.example:9223']] })
  t.equal(list.status, 200)
  t.ok(list.json.every((x: { webSocketDebuggerUrl: string }) => x.webSocketDebuggerUrl.startsWith('wss://attacker.example:9223/')))
})

t.test('a foreign Origin on the upgrade: Chromium refuses it, the forwarder lets it through', async t => {
  const version = await rawRequest(chromium.port, { path: '/json/version' })
  const directUrl: string = version.json.webSocketDebuggerUrl
  t.equal(await upgradeStatus(directUrl, { origin: 'http://evil.example' }), 403, 'Chromium: 403')
  t.equal(await upgradeStatus(directUrl), 101, 'Chromium: no Origin is fine')
  t.equal(await upgradeStatus(directUrl, { headers: { Host: 'attacker.example' } }), 500, 'Chromium 156 checks Host on the upgrade too')

  const viaUrl = directUrl.replace(`127.0.0.1:${chromium.port}`, host)
  t.equal(await upgradeStatus(viaUrl, { origin: 'http://evil.example' }), 101, 'forwarder: accepted')
  t.equal(await evaluateInPage(viaUrl, '1+1', { origin: 'http://evil.example' }), 2, 'and it drives the browser')
  t.equal(await upgradeStatus(viaUrl, { origin: 'http://evil.example', headers: { Host: 'attacker.example' } }), 101, 'with a rebinding Host too')
})

t.test('upstream down: 502, and the forwarder stays up', async t => {
  // a port that was free a moment ago and is closed now
  const spare = createServer()
  await new Promise<void>(resolve => spare.listen(0, '127.0.0.1', resolve))
  const deadPort = (spare.address() as AddressInfo).port
  await new Promise<void>(resolve => spare.close(() => { resolve() }))
  let upstream = `http://127.0.0.1:${deadPort}`
  const dead = await startForwarder({ host: '127.0.0.1', port: 0, upstream: () => upstream, logger: silentLogger })
  t.teardown(() => dead.close())

  t.equal((await rawRequest(dead.port, { path: '/json/version' })).status, 502)
  t.equal(await upgradeStatus(`ws://127.0.0.1:${dead.port}/devtools/browser/x`), 502, 'upgrade: 502')
  t.equal((await rawRequest(dead.port, { path: '/json/list' })).status, 502, 'still answering')

  upstream = chromium.url // the upstream is asked per request
  const res = await rawRequest(dead.port, { path: '/json/version' })
  t.equal(res.status, 200)
  t.match(res.json.webSocketDebuggerUrl, `ws://127.0.0.1:${dead.port}/`)
})

t.test('Chromium killed mid-session: the session ends, the forwarder stays up and works after the restart', async t => {
  const url: string = (await rawRequest(fwd.port, { path: '/json/version' })).json.webSocketDebuggerUrl
  const cdp = await cdpConnect(url)
  t.teardown(() => { cdp.close() })
  const closed = cdp.closed
  const restarted = chromium.nextRestart()
  process.kill(chromium.pid()!, 'SIGKILL')
  await closed
  t.pass('client socket closed with the browser')
  await restarted
  const again: string = (await rawRequest(fwd.port, { path: '/json/version' })).json.webSocketDebuggerUrl
  t.not(again, url, 'a new browser id behind the same forwarder URL')
  t.equal(await evaluateInPage(again, '6*7'), 42)
})
