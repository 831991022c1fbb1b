// WebRTC sends UDP from page JavaScript straight to any address:port, around --proxy-server
// (issue #9 finding 6). A loopback UDP socket stands in for the target; the page gathers ICE
// candidates against a TURN/UDP and a STUN server at that socket. Documented Chromium, and
// Chromium with only a proxy: datagrams arrive. Hedged (proxy plus the WebRTC handling
// policy): none arrive within a generous window.
import t from 'tap'
import { createSocket, type Socket } from 'node:dgram'
import { createServer, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import { startTestChromium } from '../helpers/chromium.ts'
import { browserCdp, firstPage, isRoot, NOT_ROOT, sleep, startTestSandbox } from '../helpers/hedged.ts'
import { HEDGED_CHROMIUM_ARGS } from '../../src/sandbox/chromium-hardening.ts'
import type { ChromiumOptions } from '../../src/sandbox/chromium.ts'

const QUIET_MS = 8_000 // how long the hedged browser gets to send anything (documented: < 1 s)

async function canary (t: { teardown (fn: () => unknown): void }): Promise<{ port: number, datagrams: () => number }> {
  const sock: Socket = createSocket('udp4')
  let n = 0
  sock.on('message', () => { n++ })
  await new Promise<void>(resolve => sock.bind(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { sock.close(() => { resolve() }) }))
  return { port: (sock.address()).port, datagrams: () => n }
}

/** A loopback TCP listener that takes connections and closes them: enough of a "proxy" for Chromium. */
async function sinkProxy (t: { teardown (fn: () => unknown): void }): Promise<string> {
  const srv: Server = createServer(s => { s.destroy() })
  await new Promise<void>(resolve => srv.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { srv.close(() => { resolve() }) }))
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`
}

const gather = (port: number): string => `(async () => {
  const pc = new RTCPeerConnection({ iceServers: [
    { urls: 'turn:127.0.0.1:${port}?transport=udp', username: 'u', credential: 'p' },
    { urls: 'stun:127.0.0.1:${port}' } ] })
  pc.createDataChannel('x')
  await pc.setLocalDescription(await pc.createOffer())
  window.__pc = pc
  return pc.iceGatheringState
})()`

async function datagramsFrom (chromiumUrl: string, udp: { port: number, datagrams: () => number }, waitMs: number): Promise<number> {
  const cdp = await browserCdp(chromiumUrl)
  try {
    const { sessionId } = await firstPage(cdp)
    const r = await cdp.send<{ result: { value?: string }, exceptionDetails?: unknown }>('Runtime.evaluate', { expression: gather(udp.port), awaitPromise: true, returnByValue: true }, sessionId)
    if (r.exceptionDetails !== undefined) throw new Error(`page script failed: ${JSON.stringify(r.exceptionDetails)}`)
    const until = Date.now() + waitMs
    while (Date.now() < until && udp.datagrams() === 0) await sleep(100)
    return udp.datagrams()
  } finally { cdp.close() }
}

const start = (t: Parameters<typeof startTestChromium>[0], o: Partial<ChromiumOptions>): ReturnType<typeof startTestChromium> => startTestChromium(t, o)

t.test('documented Chromium: the page\'s ICE traffic reaches the loopback UDP canary', async t => {
  const udp = await canary(t)
  const chromium = await start(t, {})
  t.ok(await datagramsFrom(chromium.url, udp, 15_000) > 0, 'harm shown: datagrams arrived')
})

t.test('a proxy alone does not stop it', async t => {
  const udp = await canary(t)
  const chromium = await start(t, { proxyServer: await sinkProxy(t) })
  t.ok(await datagramsFrom(chromium.url, udp, 15_000) > 0, 'datagrams arrived although --proxy-server is set')
})

t.test('hedged switches: proxy + disable_non_proxied_udp, nothing arrives', async t => {
  const udp = await canary(t)
  const chromium = await start(t, { proxyServer: await sinkProxy(t), extraArgs: HEDGED_CHROMIUM_ARGS })
  t.equal(await datagramsFrom(chromium.url, udp, QUIET_MS), 0, `no datagram within ${QUIET_MS} ms`)
})

t.test('full hedged sandbox (switches and managed policy): nothing arrives', { skip: !isRoot && NOT_ROOT }, async t => {
  const udp = await canary(t)
  const sb = await startTestSandbox(t, { identities: 'separate', browserHardening: 'hedged', egressProxy: await sinkProxy(t) })
  t.equal(await datagramsFrom(sb.chromium.url, udp, QUIET_MS), 0, `no datagram within ${QUIET_MS} ms`)
})
