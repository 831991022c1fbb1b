// Issue 9, item 8: connections that send nothing (or trickle headers, or a body) are closed
// after listen.connections timeouts on every listener, so with the total cap full of silent
// sockets a well-behaved client is served again once they are gone. Nothing here needs an
// upstream: each probe is answered by the gateway itself (a 404, a 401, an egress refusal
// decided before any connection is made, /healthz).
import t from 'tap'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { ask, hold, sleep, type HeldSocket } from '../helpers/sockets.ts'

const LIMITS = { headersTimeoutMs: 600, requestTimeoutMs: 1200, keepAliveTimeoutMs: 600, maxConnections: 12, maxConnectionsPerSource: 6 }

t.test('silent, trickling and slow-body connections are closed; the listener then serves again', async t => {
  const policy = testPolicy('hedged', { listen: { connections: LIMITS } })
  // Port 1 on loopback: nothing listens; no probe below reaches an upstream.
  const gw = await startTestGateway(t, policy, { kernel: 'http://127.0.0.1:1', cdp: 'http://127.0.0.1:1' })
  const port = (u: string | undefined): number => Number(new URL(u as string).port)
  const listeners: Array<{ name: string, port: number, probe: string, expect: RegExp }> = [
    { name: 'kernel', port: gw.kernelPort, probe: 'GET /no-such-route HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', expect: /^HTTP\/1\.1 (401|404) / },
    { name: 'cdp', port: port(gw.urls.cdp), probe: 'GET /json/version HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', expect: /^HTTP\/1\.1 401 / },
    { name: 'admin', port: port(gw.urls.admin), probe: 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', expect: /^HTTP\/1\.1 200 / },
    { name: 'egress', port: port(gw.urls.egress), probe: 'GET http://127.0.0.1:9/ HTTP/1.1\r\nHost: 127.0.0.1:9\r\nConnection: close\r\n\r\n', expect: /^HTTP\/1\.1 403 / },
  ]
  for (const l of listeners) {
    t.match(await ask(l.port, '127.0.0.9', l.probe), l.expect, `${l.name}: answers a well-behaved request`)
    // Fill the total cap with silent sockets from two sources (6 + 6 = 12).
    const held: HeldSocket[] = []
    for (const src of ['127.0.0.2', '127.0.0.3']) for (let i = 0; i < LIMITS.maxConnectionsPerSource; i++) held.push(await hold(l.port, src))
    const trickle = held[0] as HeldSocket // one of them trickles a header line every 100 ms: slowloris
    trickle.socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n')
    const timer = setInterval(() => { if (!trickle.isClosed()) trickle.socket.write('X-Slow: 1\r\n') }, 100)
    await sleep(100)
    t.equal(await ask(l.port, '127.0.0.9', l.probe), 'closed', `${l.name}: with the cap full, a new connection is closed at once`)
    const all = await Promise.race([Promise.all(held.map(h => h.closed)), sleep(15_000).then(() => null)])
    clearInterval(timer)
    t.not(all, null, `${l.name}: every silent / trickling socket was closed by the server`)
    t.match(await ask(l.port, '127.0.0.9', l.probe), l.expect, `${l.name}: answers again once they are gone`)
    // A body that never completes is cut by requestTimeoutMs (egress/admin have no body route; the kernel front does).
    if (l.name === 'kernel') {
      const slow = await hold(l.port, '127.0.0.4', 'POST /kernel/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{')
      const drip = setInterval(() => { if (!slow.isClosed()) slow.socket.write(' ') }, 100)
      const r = await Promise.race([slow.closed.then(() => 'closed'), sleep(15_000).then(() => 'open')])
      clearInterval(drip)
      t.equal(r, 'closed', 'kernel: a body trickled forever is cut')
    }
  }
})
