// Regression: close() used to hang while a CDP client kept its WebSocket open (relayed
// sockets count as the server's connections and were only terminated on 'close').
import t from 'tap'
import { startTestChromium, cdpConnect } from '../helpers/chromium.ts'
import { startTestKernel } from '../helpers/kernel.ts'
import { testPolicy, TEST_ENV, captureLogs } from '../helpers/gateway.ts'
import { startGateway } from '../../src/gateway.ts'
import { mintToken } from '../../src/auth/mint.ts'

const chromium = await startTestChromium(t)
const kernel = await startTestKernel(t)
const policy = testPolicy('hedged')

t.test('close() returns while a client still holds its DevTools socket', async t => {
  const gw = await startGateway({ policy, kernelUpstream: kernel.url, cdpUpstream: chromium.url, host: '127.0.0.1', ports: { kernel: 0, cdp: 0, admin: 0, egress: 0 }, logger: captureLogs().logger, env: TEST_ENV })
  const token = await mintToken(policy.auth, { audience: 'cdp', scopes: ['cdp:control'], ttlSeconds: 300, env: TEST_ENV })
  const v = await (await fetch(`${gw.urls.cdp as string}/json/version`, { headers: { authorization: `Bearer ${token}` } })).json() as { webSocketDebuggerUrl: string }
  const cdp = await cdpConnect(v.webSocketDebuggerUrl.split('?')[0] as string, { headers: { authorization: `Bearer ${token}` } })
  t.teardown(() => { cdp.close() })
  t.ok((await cdp.send('Browser.getVersion')).product, 'connected')
  const closed = gw.close().then(() => 'closed')
  const hung = new Promise(resolve => setTimeout(() => { resolve('hung') }, 15_000).unref())
  t.equal(await Promise.race([closed, hung]), 'closed', 'the gateway shut down with a client attached')
  await t.rejects(cdp.send('Browser.getVersion'), 'and the client was disconnected')
})
