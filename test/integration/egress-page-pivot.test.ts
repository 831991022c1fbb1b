// The browser as a pivot: a page the agent opens runs fetch() against the kernel's own
// address. In the baseline (no guard) it reads the HMAC key — the attack is real. Behind
// the egress guard every route to loopback fails: the kernel's port, other ports, other
// loopback spellings, a redirect from an allowed origin, and a name resolving to loopback.
import t from 'tap'
import { WebSocketServer } from 'ws'
import { startTestChromium, cdpConnect } from '../helpers/chromium.ts'
import { startTestKernel } from '../helpers/kernel.ts'
import { testPolicy } from '../helpers/gateway.ts'
import { startFixtureServer } from '../helpers/fixture-server.ts'
import { compilePolicy } from '../../src/policy/compile.ts'
import { startEgressGuard } from '../../src/egress/guard.ts'
import { silentLogger } from '../../src/logger.ts'

const kernel = await startTestKernel(t)
const kernelPort = Number(new URL(kernel.url).port)
const site = await startFixtureServer(t, {
  '/redirect-to-kernel': (_req, res) => { res.writeHead(302, { location: `http://127.0.0.1:${kernelPort}/kernel/connection` }).end() },
})
// a WebSocket echo on the allowed site's host for "normal browsing still works"
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
await new Promise(resolve => wss.once('listening', resolve))
wss.on('connection', s => { s.on('message', m => { s.send(`echo:${m.toString()}`) }) })
t.teardown(() => { wss.close() })
const wsPort = (wss.address() as { port: number }).port

const policy = testPolicy('hedged', { egress: { allow: [`127.0.0.1:${site.port}`, `127.0.0.1:${wsPort}`, `fixture.test:${site.port}`] } })
const names: Record<string, string[]> = { 'rebind.test': ['127.0.0.1'], 'fixture.test': ['127.0.0.1'] }
const guard = await startEgressGuard({ compiled: compilePolicy(policy), port: 0, logger: silentLogger, resolve: async h => { const a = names[h]; if (a === undefined) throw new Error('NXDOMAIN'); return a } })
t.teardown(() => guard.close())

async function pageFetches (chromiumUrl: string, origin: string, urls: string[]): Promise<Record<string, string>> {
  const v = await (await fetch(`${chromiumUrl}/json/version`)).json() as { webSocketDebuggerUrl: string }
  const cdp = await cdpConnect(v.webSocketDebuggerUrl)
  try {
    const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' })
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true })
    await cdp.send('Page.enable', {}, sessionId)
    const loaded = cdp.event('Page.loadEventFired')
    await cdp.send('Page.navigate', { url: origin + '/' }, sessionId)
    await loaded
    const expr = `Promise.all(${JSON.stringify(urls)}.map(u => fetch(u).then(r => r.text().then(b => 'OK ' + r.status + ' ' + b.slice(0, 4000)), e => 'ERR ' + e.message)))`
    const r = await cdp.send('Runtime.evaluate', { expression: expr, awaitPromise: true, returnByValue: true }, sessionId)
    return Object.fromEntries(urls.map((u, i) => [u, String(r.result.value[i])]))
  } finally { cdp.close() }
}

const attacks = [
  `http://127.0.0.1:${kernelPort}/kernel/connection`,
  `http://localhost:${kernelPort}/kernel/connection`,
  `http://127.1:${kernelPort}/kernel/connection`,
  `http://2130706433:${kernelPort}/kernel/connection`,
  `http://0x7f000001:${kernelPort}/kernel/connection`,
  `http://[::ffff:127.0.0.1]:${kernelPort}/kernel/connection`,
  `http://127.0.0.2:${kernelPort}/kernel/connection`,
  `http://127.0.0.1:${site.port + 1 === kernelPort ? site.port + 2 : site.port + 1}/`,
  `${site.url}/redirect-to-kernel`,
  `http://rebind.test:${kernelPort}/kernel/connection`,
]

t.test('baseline: page JavaScript reads the kernel key (the attack is real)', async t => {
  const chromium = await startTestChromium(t)
  const r = await pageFetches(chromium.url, site.url, [attacks[0] as string])
  t.match(r[attacks[0] as string], /^OK 200 .*"key"/, 'CORS * lets the page read the connection info')
})

t.test('hedged: every route to loopback fails; the allowed site and WebSockets still work', async t => {
  const chromium = await startTestChromium(t, { proxyServer: guard.url })
  const r = await pageFetches(chromium.url, `http://fixture.test:${site.port}`, [...attacks, `http://fixture.test:${site.port}/ok`])
  for (const a of attacks) t.match(r[a], /^ERR /, `blocked: ${a}`)
  t.match(r[`http://fixture.test:${site.port}/ok`], /^OK 200 /, 'near miss: the allowed origin itself')
  const before = kernel.workspace.root
  t.ok(before, 'kernel untouched')
  const ws = await (async () => {
    const v = await (await fetch(`${chromium.url}/json/version`)).json() as { webSocketDebuggerUrl: string }
    const cdp = await cdpConnect(v.webSocketDebuggerUrl)
    try {
      const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' })
      const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true })
      const expr = `new Promise(res => { const s = new WebSocket('ws://127.0.0.1:${wsPort}/'); s.onopen = () => s.send('hi'); s.onmessage = e => res(e.data); s.onerror = () => res('ws error'); setTimeout(() => res('ws timeout'), 10000) })`
      return (await cdp.send('Runtime.evaluate', { expression: expr, awaitPromise: true, returnByValue: true }, sessionId)).result.value
    } finally { cdp.close() }
  })()
  t.equal(ws, 'echo:hi', 'WebSocket to an allowed host:port works through CONNECT')
})
