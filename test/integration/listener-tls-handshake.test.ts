// Issue 9, item 8, on TLS listeners: a TCP connection that never starts its TLS handshake
// never reaches node's HTTP timeouts (the handshake timeout defaults to 120 s); the listener
// guard closes it after headersTimeoutMs, and a TLS client is served afterwards.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { get as httpsGet } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { hold, sleep } from '../helpers/sockets.ts'

const dir = await mkdtemp(join(tmpdir(), 'hedge-tls-limits-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const cert = join(dir, 'cert.pem')
const key = join(dir, 'key.pem')
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=hedge-test',
  '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' })
const ca = await readFile(cert)

function status (url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca, agent: false }, res => { res.resume(); resolve(res.statusCode ?? 0) }).on('error', reject)
  })
}

t.test('silent TCP connections on the TLS listeners are closed', async t => {
  const limits = { headersTimeoutMs: 600, requestTimeoutMs: 1200, keepAliveTimeoutMs: 600, maxConnections: 6, maxConnectionsPerSource: 6 }
  const gw = await startTestGateway(t, testPolicy('hedged', { listen: { tlsCert: cert, tlsKey: key, connections: limits } }), { kernel: 'http://127.0.0.1:1', cdp: 'http://127.0.0.1:1' })
  for (const [name, url] of [['kernel', gw.urls.kernel], ['cdp', gw.urls.cdp as string]] as const) {
    const p = Number(new URL(url).port)
    const held = await Promise.all(Array.from({ length: 6 }, () => hold(p, '127.0.0.2')))
    const r = await Promise.race([Promise.all(held.map(h => h.closed)).then(() => 'closed'), sleep(15_000).then(() => 'open')])
    t.equal(r, 'closed', `${name}: silent TCP connections are closed before any handshake`)
    t.ok([401, 404].includes(await status(`${url}/json/version`)), `${name}: a TLS client is served afterwards`)
  }
})
