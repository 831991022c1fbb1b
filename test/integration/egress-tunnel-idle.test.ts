// Issue 9, item 8, on the egress guard: an established CONNECT tunnel that carries nothing
// either way is closed after egress.tunnelIdleTimeoutMs; one that keeps talking stays up.
// The tunnel's far end is a loopback echo server opened by an explicit egress.allow entry.
import t from 'tap'
import { createServer, connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { compilePolicy } from '../../src/policy/compile.ts'
import { startEgressGuard } from '../../src/egress/guard.ts'
import { silentLogger } from '../../src/logger.ts'
import { testPolicy } from '../helpers/gateway.ts'
import { sleep } from '../helpers/sockets.ts'

t.test('idle tunnels are closed, talking ones are not', async t => {
  const echo = createServer(s => { s.on('error', () => {}); s.pipe(s) })
  await new Promise<void>(resolve => echo.listen(0, '127.0.0.1', resolve))
  const echoPort = (echo.address() as AddressInfo).port
  t.teardown(() => new Promise<void>(resolve => echo.close(() => resolve())))
  const policy = testPolicy('hedged', { egress: { allow: [`127.0.0.1:${echoPort}`], tunnelIdleTimeoutMs: 1000 } })
  const guard = await startEgressGuard({ compiled: compilePolicy(policy), host: '127.0.0.1', port: 0, logger: silentLogger })
  t.teardown(() => guard.close())

  const open = (): Promise<{ s: Socket, closed: Promise<void>, isClosed: () => boolean }> => new Promise((resolve, reject) => {
    const s = connect(guard.port, '127.0.0.1', () => { s.write(`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\nHost: 127.0.0.1:${echoPort}\r\n\r\n`) })
    let done = false
    const closed = new Promise<void>(res => s.on('close', () => { done = true; res() }))
    s.on('error', () => {})
    s.once('data', d => { String(d).startsWith('HTTP/1.1 200') ? resolve({ s, closed, isClosed: () => done }) : reject(new Error(String(d))) })
  })
  const idle = await open()
  const busy = await open()
  busy.s.resume()
  const talk = setInterval(() => { if (!busy.isClosed()) busy.s.write('ping') }, 200)
  const r = await Promise.race([idle.closed.then(() => 'closed'), sleep(10_000).then(() => 'open')])
  t.equal(r, 'closed', 'the silent tunnel was closed')
  await sleep(1500)
  clearInterval(talk)
  t.notOk(busy.isClosed(), 'the talking tunnel is still up')
  busy.s.destroy()
})
