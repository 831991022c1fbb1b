// The retry rule of src/kernel/forward.ts against a fake upstream (pure logic: when is a failed
// attempt sent again?). The fake speaks just enough HTTP/1.1 over a unix socket: it answers the
// first request on each connection with keep-alive, and on a reused connection does what the
// scenario says — hang up at once without answering (a server closing an idle connection under
// a request), or "work" a while and then reset (a server that read the request and died).
import t from 'tap'
import { createServer, type Socket } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createUpstream, forward, type Upstream } from '../../src/kernel/forward.ts'
import { HedgeError } from '../../src/errors/codes.ts'

type Mode = 'reset-reused' | 'die-after-work' | 'reset-first'
interface Fake { path: string, answered: number, connections: number, setMode: (m: Mode) => void, close: () => Promise<void> }

async function fake (dir: string): Promise<Fake> {
  const path = join(dir, `fake-${Math.random().toString(36).slice(2)}.sock`)
  let mode: Mode = 'reset-reused'
  const f = { path, answered: 0, connections: 0, setMode: (m: Mode) => { mode = m } }
  const sockets = new Set<Socket>()
  const server = createServer(sock => {
    f.connections++
    sockets.add(sock)
    sock.on('close', () => sockets.delete(sock))
    sock.on('error', () => {})
    let n = 0
    let buf = ''
    sock.on('data', c => {
      buf += String(c)
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) return
      const len = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0)
      if (buf.length < end + 4 + len) return
      buf = ''
      n++
      const answer = (): void => { f.answered++; sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok') }
      if (mode === 'reset-first' || (n > 1 && mode === 'reset-reused')) { sock.destroy(); return }
      if (n > 1 && mode === 'die-after-work') { setTimeout(() => sock.destroy(), 600); return }
      answer()
    })
  })
  await new Promise<void>(resolve => server.listen(path, resolve))
  return Object.assign(f, { close: () => new Promise<void>(resolve => { for (const s of sockets) s.destroy(); server.close(() => resolve()) }) })
}

const dir = await mkdtemp(join(tmpdir(), 'hedge-forward-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

async function send (up: Upstream, method: string, retries: string[]): Promise<number | string> {
  try {
    const res = await forward(up, { method, target: '/x', headers: { host: 'x' }, body: method === 'POST' ? Buffer.from('{"code":"1"}') : undefined, timeoutMs: 5000, onRetry: c => retries.push(String(c)) })
    res.resume()
    await new Promise(resolve => res.on('end', resolve))
    return res.statusCode ?? 0
  } catch (err) {
    return err instanceof HedgeError ? err.code : String(err)
  }
}

async function setup (t: { teardown: (f: () => unknown) => void }): Promise<{ f: Fake, up: Upstream }> {
  const f = await fake(dir)
  const up = createUpstream(`unix:${f.path}`, { idleMs: 60_000 }) // the pool keeps sockets: the race is ours to stage
  t.teardown(async () => { up.agent.destroy(); up.fresh.destroy(); await f.close() })
  return { f, up }
}

t.test('GET on a reused socket reset before any answer: sent again once, on a new connection', async t => {
  const { f, up } = await setup(t)
  const retries: string[] = []
  t.equal(await send(up, 'GET', retries), 200)
  t.equal(await send(up, 'GET', retries), 200, 'the second (reused socket, reset) is answered after a retry')
  t.same(retries, ['ECONNRESET'])
  t.equal(f.connections, 2)
})

t.test('POST soon after the previous answer: never retried', async t => {
  const { f, up } = await setup(t)
  const retries: string[] = []
  t.equal(await send(up, 'POST', retries), 200)
  t.equal(await send(up, 'POST', retries), 'HEDGE_UPSTREAM_UNAVAILABLE', 'a socket idle briefly is not where the idle close happens')
  t.same(retries, [])
  t.equal(f.answered, 1)
})

t.test('POST on a socket idle near the server\'s idle timeout, reset at once: retried once', async t => {
  const { f, up } = await setup(t)
  const retries: string[] = []
  t.equal(await send(up, 'POST', retries), 200)
  await sleep(2500)
  t.equal(await send(up, 'POST', retries), 200)
  t.same(retries, ['ECONNRESET'])
  t.equal(f.answered, 2, 'each POST answered (ran) exactly once')
})

t.test('POST the server read, worked on and then died: never retried', async t => {
  const { f, up } = await setup(t)
  const retries: string[] = []
  t.equal(await send(up, 'POST', retries), 200)
  f.setMode('die-after-work')
  await sleep(2500)
  t.equal(await send(up, 'POST', retries), 'HEDGE_UPSTREAM_UNAVAILABLE')
  t.same(retries, [], 'a reset long after the write may follow execution: not repeated')
})

t.test('a reset on a fresh connection is not retried, whatever the method', async t => {
  const { f, up } = await setup(t)
  f.setMode('reset-first')
  const retries: string[] = []
  t.equal(await send(up, 'GET', retries), 'HEDGE_UPSTREAM_UNAVAILABLE')
  t.same(retries, [])
  t.equal(f.connections, 1)
})

t.test('pooled sockets are dropped after idleMs', async t => {
  const f = await fake(dir)
  const up = createUpstream(`unix:${f.path}`, { idleMs: 300 })
  t.teardown(async () => { up.agent.destroy(); up.fresh.destroy(); await f.close() })
  const retries: string[] = []
  t.equal(await send(up, 'GET', retries), 200)
  await sleep(1000)
  t.equal(await send(up, 'GET', retries), 200, 'a new connection, so the fake never resets it')
  t.same(retries, [])
  t.equal(f.connections, 2)
})
