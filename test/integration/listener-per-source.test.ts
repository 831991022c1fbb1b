// Issue 9, item 8: one source address cannot take a listener's every slot. With one source
// at its cap of silent sockets, its next connection is closed at once, and a client from
// another address is served immediately, while the silent ones are still held.
import t from 'tap'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { ask, hold, type HeldSocket } from '../helpers/sockets.ts'

// Long timeouts: everything below happens while the silent sockets are still open.
const LIMITS = { headersTimeoutMs: 60_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000, maxConnections: 100, maxConnectionsPerSource: 5 }

t.test('per-source caps keep room for other clients', async t => {
  const policy = testPolicy('hedged', { listen: { connections: LIMITS } })
  const gw = await startTestGateway(t, policy, { kernel: 'http://127.0.0.1:1', cdp: 'http://127.0.0.1:1' })
  const port = (u: string | undefined): number => Number(new URL(u as string).port)
  const listeners: Array<{ name: string, port: number, probe: string, expect: RegExp }> = [
    { name: 'kernel', port: gw.kernelPort, probe: 'GET /no-such-route HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', expect: /^HTTP\/1\.1 (401|404) / },
    { name: 'cdp', port: port(gw.urls.cdp), probe: 'GET /json/version HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', expect: /^HTTP\/1\.1 401 / },
    { name: 'admin', port: port(gw.urls.admin), probe: 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', expect: /^HTTP\/1\.1 200 / },
    { name: 'egress', port: port(gw.urls.egress), probe: 'GET http://127.0.0.1:9/ HTTP/1.1\r\nHost: 127.0.0.1:9\r\nConnection: close\r\n\r\n', expect: /^HTTP\/1\.1 403 / },
  ]
  for (const l of listeners) {
    const held: HeldSocket[] = []
    for (let i = 0; i < LIMITS.maxConnectionsPerSource; i++) held.push(await hold(l.port, '127.0.0.2'))
    t.equal(await ask(l.port, '127.0.0.2', l.probe), 'closed', `${l.name}: the source over its cap is closed at once (even a well-formed request)`)
    t.match(await ask(l.port, '127.0.0.3', l.probe), l.expect, `${l.name}: another source is served while the silent ones are held`)
    t.ok(held.every(h => !h.isClosed()), `${l.name}: (the silent sockets are still open)`)
    for (const h of held) h.socket.destroy()
    await Promise.all(held.map(h => h.closed))
    // the count goes down as they close: the first source is served again
    let r = ''
    for (let i = 0; i < 50 && !l.expect.test(r); i++) r = await ask(l.port, '127.0.0.2', l.probe)
    t.match(r, l.expect, `${l.name}: the first source is served again once its sockets are closed`)
  }
  const refusals = gw.logs.lines.filter(x => x.rule === 'listen.maxConnectionsPerSource')
  t.ok(refusals.length >= 1, 'refusals are logged with the rule')
  t.ok(refusals.every(x => x.source === '127.0.0.2'), 'naming the source')
})
