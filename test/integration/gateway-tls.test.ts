// listen.tlsCert / listen.tlsKey: both fronts serve HTTPS/WSS with the policy's certificate,
// discovery hands out wss:// URLs, and plain HTTP is not answered. The certificate is made
// for the test in a temp dir (never in the repo) and trusted through `ca`.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { get as httpsGet } from 'node:https'
import { get as httpGet } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { startTestKernel } from '../helpers/kernel.ts'
import { startTestChromium } from '../helpers/chromium.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'

const dir = await mkdtemp(join(tmpdir(), 'hedge-tls-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const cert = join(dir, 'cert.pem')
const key = join(dir, 'key.pem')
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=hedge-test',
  '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' })
const ca = await readFile(cert)

const kernel = await startTestKernel(t)
const chromium = await startTestChromium(t)
const gw = await startTestGateway(t, testPolicy('hedged', { listen: { tlsCert: cert, tlsKey: key } }), { kernel: kernel.url, cdp: chromium.url })

function getJson (url: string, headers: Record<string, string> = {}): Promise<{ status: number, json: any }> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca, headers }, res => {
      let body = ''
      res.on('data', c => { body += String(c) })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, json: JSON.parse(body) }) })
    }).on('error', reject)
  })
}

t.test('the kernel front serves HTTPS, not HTTP', async t => {
  t.match(gw.urls.kernel, /^https:\/\/127\.0\.0\.1:\d+$/)
  const r = await getJson(`${gw.urls.kernel}/kernel/status`, { authorization: `Bearer ${await gw.token(['kernel:read'])}` })
  t.equal(r.status, 200)
  t.equal(r.json.alive, true)
  const plain = await new Promise<string>(resolve => {
    httpGet(gw.urls.kernel.replace('https:', 'http:') + '/health', res => { resolve(`status ${res.statusCode ?? 0}`) }).on('error', e => { resolve(`error ${e.message}`) })
  })
  t.notMatch(plain, /status 200/, `plain HTTP is not served (${plain})`)
})

t.test('the CDP front serves HTTPS discovery with wss:// URLs, and WSS works', async t => {
  const token = await gw.token(['cdp:control'], { audience: 'cdp' })
  const v = await getJson(`${gw.urls.cdp as string}/json/version`, { authorization: `Bearer ${token}` })
  t.equal(v.status, 200)
  t.match(v.json.webSocketDebuggerUrl, /^wss:\/\/127\.0\.0\.1:\d+\/devtools\/browser\//)
  const ws = new WebSocket(v.json.webSocketDebuggerUrl.split('?')[0], { ca, headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false })
  t.teardown(() => { ws.terminate() })
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  ws.send(JSON.stringify({ id: 1, method: 'Browser.getVersion' }))
  const reply = await new Promise<any>(resolve => { ws.once('message', d => { resolve(JSON.parse(String(d))) }) })
  t.match(reply.result.product, /Chrome/)
})
