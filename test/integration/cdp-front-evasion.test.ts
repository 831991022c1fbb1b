// Filter evasion against real Chromium behind `hedged`, on raw `ws` frames: escapes,
// duplicate keys, odd shapes, oversize / binary / fragmented / compressed frames, rate
// limits, token expiry, a vanishing upstream, and the report-only and off switches. Every
// case must end in a refusal (a CDP error or a clean close), never a crash or a pass, and
// the gateway must keep serving. Only loopback is ever contacted.
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { connect as netConnect } from 'node:net'
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deflateRawSync } from 'node:zlib'
import WebSocket from 'ws'
import { startGateway } from '../../src/gateway.ts'
import { mintToken } from '../../src/auth/mint.ts'
import { loadPolicy } from '../../src/policy/load.ts'
import type { Policy } from '../../src/policy/schema.ts'
import type { WorkspaceDirs } from '../../src/cdp/filter.ts'
import { waitUntil } from '../../src/util/wait.ts'
import { startTestChromium, CDP_TIMEOUT_MS } from '../helpers/chromium.ts'
import { captureLogs, testPolicy, TEST_ENV, type CapturedLogs } from '../helpers/gateway.ts'
import { startFixtureServer } from '../helpers/fixture-server.ts'
import { rawRequest } from '../helpers/http.ts'

// ---------------------------------------------------------------------------------------------
// a gateway (with workspace dirs) and a raw CDP client with a timeout on every wait

interface Gw { port: number, logs: CapturedLogs, policy: Readonly<Policy>, token: (ttlSeconds?: number) => Promise<string> }

async function gateway (t: Test, policy: Readonly<Policy>, cdpUpstream: string, workspace?: WorkspaceDirs): Promise<Gw> {
  const logs = captureLogs()
  // the kernel front is not used here: its upstream is a closed loopback port
  const gw = await startGateway({
    policy,
    kernelUpstream: 'http://127.0.0.1:9',
    cdpUpstream,
    host: '127.0.0.1',
    ports: { kernel: 0, cdp: 0, admin: 0, egress: 0 },
    logger: logs.logger,
    env: TEST_ENV,
    ...(workspace !== undefined ? { workspace } : {}),
  })
  t.teardown(() => gw.close())
  return {
    port: Number(new URL(gw.urls.cdp as string).port),
    logs,
    policy,
    token: (ttlSeconds = 300) => mintToken(policy.auth, { audience: 'cdp', scopes: ['cdp:control'], ttlSeconds, env: TEST_ENV }),
  }
}

interface Reply { id?: number, result?: any, error?: { code: number, message: string }, sessionId?: string, method?: string, params?: any }

class Raw {
  private readonly inbox: Reply[] = []
  private readonly waiters = new Set<() => void>()
  private nextId = 1000
  readonly closed: Promise<{ code: number, reason: string }>
  constructor (readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return
      try { this.inbox.push(JSON.parse(data.toString())) } catch { return }
      for (const w of this.waiters) w()
    })
    ws.on('error', () => { /* surfaced through close */ })
    this.closed = new Promise(resolve => { ws.once('close', (code, reason) => { resolve({ code, reason: reason.toString() }) }) })
  }

  static async open (url: string, headers: Record<string, string>, o: { perMessageDeflate?: boolean } = {}): Promise<Raw> {
    const ws = new WebSocket(url, { perMessageDeflate: o.perMessageDeflate ?? false, handshakeTimeout: CDP_TIMEOUT_MS, headers })
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
      ws.once('unexpected-response', (req, res) => { req.destroy(); reject(new Error(`upgrade refused: ${res.statusCode ?? 0}`)) })
    })
    return new Raw(ws)
  }

  /** The next message matching `pred` (consumed), within the CDP timeout. */
  take (pred: (m: Reply) => boolean, what: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const i = this.inbox.findIndex(pred)
        if (i === -1) return false
        const [m] = this.inbox.splice(i, 1)
        cleanup(); resolve(m as Reply)
        return true
      }
      const timer = setTimeout(() => { cleanup(); reject(new Error(`${what}: no answer in ${CDP_TIMEOUT_MS} ms`)) }, CDP_TIMEOUT_MS)
      const cleanup = (): void => { clearTimeout(timer); this.waiters.delete(waiter) }
      const waiter = (): void => { check() }
      if (!check()) this.waiters.add(waiter)
    })
  }

  reply (id: number): Promise<Reply> { return this.take(m => m.id === id && m.method === undefined, `reply ${id}`) }

  /** Send exactly `text`, wait for the answer carrying `id`. */
  async raw (text: string, id: number): Promise<Reply> {
    this.ws.send(text)
    return await this.reply(id)
  }

  async call (method: string, params: object = {}, sessionId?: string): Promise<Reply> {
    const id = this.nextId++
    return await this.raw(JSON.stringify({ id, method, params, ...(sessionId !== undefined ? { sessionId } : {}) }), id)
  }

  async ok (method: string, params: object = {}, sessionId?: string): Promise<any> {
    const r = await this.call(method, params, sessionId)
    if (r.error !== undefined) throw new Error(`${method}: ${r.error.message}`)
    return r.result
  }

  event (method: string): Promise<Reply> { return this.take(m => m.method === method, `event ${method}`) }

  async waitClosed (): Promise<{ code: number, reason: string }> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error('socket not closed in time')) }, CDP_TIMEOUT_MS) })
    try { return await Promise.race([this.closed, timeout]) } finally { clearTimeout(timer) }
  }

  close (): void { this.ws.terminate() }
}

/** The browser target's DevTools path, read from Chromium itself. */
async function browserPath (httpUrl: string): Promise<string> {
  const v = await (await fetch(`${httpUrl}/json/version`, { signal: AbortSignal.timeout(CDP_TIMEOUT_MS) })).json() as { webSocketDebuggerUrl: string }
  return new URL(v.webSocketDebuggerUrl).pathname
}

/** Assert a CDP error naming `rule`. */
function refused (t: Test, r: Reply, rule: string | RegExp, label: string, code?: number): void {
  t.ok(r.error !== undefined && r.result === undefined, `${label}: refused, not answered by the browser`)
  if (r.error === undefined) return
  t.match(r.error.message, typeof rule === 'string' ? new RegExp(`\\[${rule.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\]`) : rule, `${label}: names the rule (${r.error.message})`)
  if (code !== undefined) t.equal(r.error.code, code, `${label}: CDP error code ${code}`)
}

// ---------------------------------------------------------------------------------------------

const chromium = await startTestChromium(t)
const DROP_PAGE = '<!doctype html><title>drop</title><div id=d style="width:400px;height:400px">drop here</div>' +
  '<script>window.__got = null; const d = document.getElementById("d"); d.addEventListener("dragover", e => e.preventDefault()); ' +
  'd.addEventListener("drop", async e => { e.preventDefault(); const f = e.dataTransfer.files[0]; ' +
  'window.__got = f ? f.name + ":" + (await f.text()) : "nofile" })</script>'
const site = await startFixtureServer(t, { '/drop': (_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end(DROP_PAGE) } })
const dirs = mkdtempSync(join(tmpdir(), 'hedge-evasion-ws-'))
t.teardown(() => { rmSync(dirs, { recursive: true, force: true }) })
chmodSync(dirs, 0o755) // Chromium runs as the agent: it must be able to read upload/
const upload = join(dirs, 'upload')
const output = join(dirs, 'output')
for (const d of [upload, output]) mkdirSync(d, { mode: 0o755 })
writeFileSync(join(upload, 'note.txt'), 'from-upload', { mode: 0o644 })

const MAX_BYTES = 256 * 1024
const hedged = testPolicy('hedged', { cdp: { urls: { allowHosts: [`127.0.0.1:${site.port}`] }, maxMessageBytes: MAX_BYTES } })
const gw = await gateway(t, hedged, chromium.url, { upload, output })
const bpath = await browserPath(chromium.url)
const wsUrl = (g: Gw, path = bpath): string => `ws://127.0.0.1:${g.port}${path}`
const auth = async (g: Gw, ttl?: number): Promise<{ authorization: string }> => ({ authorization: `Bearer ${await g.token(ttl)}` })

async function openHedged (t: Test, g: Gw = gw, path = bpath): Promise<Raw> {
  const c = await Raw.open(wsUrl(g, path), await auth(g))
  t.teardown(() => { c.close() })
  return c
}

/** A fresh page on the fixture, attached as a flat session. */
async function newPage (t: Test, c: Raw, path = '/'): Promise<{ targetId: string, sessionId: string }> {
  const { targetId } = await c.ok('Target.createTarget', { url: 'about:blank' })
  t.teardown(() => c.call('Target.closeTarget', { targetId }).catch(() => {}))
  const { sessionId } = await c.ok('Target.attachToTarget', { targetId, flatten: true })
  await c.ok('Page.enable', {}, sessionId)
  const loaded = c.event('Page.loadEventFired')
  await c.ok('Page.navigate', { url: `${site.url}${path}` }, sessionId)
  await loaded
  return { targetId, sessionId }
}

async function evaluate (c: Raw, sessionId: string, expression: string): Promise<unknown> {
  return (await c.ok('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId)).result.value
}

async function stillServes (t: Test, g: Gw = gw): Promise<void> {
  const c = await Raw.open(wsUrl(g), await auth(g))
  try {
    const v = await c.ok('Browser.getVersion')
    t.match(v.product, /Chrome/, 'the gateway still serves a fresh connection')
  } finally { c.close() }
}

t.test('escapes: the decision is on the decoded name; what is forwarded is re-serialised', async t => {
  const c = await openHedged(t)
  refused(t, await c.raw('{"id":1,"method":"Browser.\\u0063lose"}', 1), 'cdp.methods.deny:Browser.close', 'escaped Browser.close', -32001)
  refused(t, await c.raw('{"id":2,"method":"\\u0042rowser.close","params":{}}', 2), 'cdp.methods.deny:Browser.close', 'escaped domain')
  refused(t, await c.raw('{"id":3,"method":"Target.\\u0065xposeDevToolsProtocol","params":{"targetId":"x"}}', 3), 'cdp.builtin:Target.exposeDevToolsProtocol', 'escaped built-in')
  const near = await c.raw('{"id":4,"method":"Browser.getVersio\\u006e"}', 4)
  t.match(near.result?.product, /Chrome/, 'near miss: an escaped allowed name works (Chromium got the canonical form)')
  const { sessionId } = await newPage(t, c)
  refused(t, await c.raw(`{"id":5,"method":"Page.navigate","params":{"url":"fil\\u0065:///etc/passwd"},"sessionId":"${sessionId}"}`, 5), 'url.scheme:file', 'escaped scheme')
  refused(t, await c.raw(`{"id":6,"method":"Page.navigate","params":{"\\u0075rl":"http://127.0.0.1:8888/"},"sessionId":"${sessionId}"}`, 6), 'url.address:loopback', 'escaped key')
  // case tricks: a domain respelt is unknown to the policy (default deny); a method respelt
  // inside an allowed glob reaches Chromium, which matches byte-exact and does not run it
  refused(t, await c.raw('{"id":7,"method":"browser.close"}', 7), 'cdp.methods.default:deny', 'browser.close')
  refused(t, await c.raw('{"id":8,"method":"BROWSER.close"}', 8), 'cdp.methods.default:deny', 'BROWSER.close')
  const respelt = await c.raw('{"id":9,"method":"Browser.Close"}', 9)
  t.equal(respelt.error?.code, -32601, `Browser.Close: Chromium does not know it (${respelt.error?.message ?? ''})`)
  const nav = await c.raw(`{"id":10,"method":"Page.Navigate","params":{"url":"file:///etc/passwd"},"sessionId":"${sessionId}"}`, 10)
  t.equal(nav.error?.code, -32601, 'Page.Navigate: unknown to Chromium, never navigates')
  t.equal(await evaluate(c, sessionId, 'location.href'), `${site.url}/`, 'the page did not move')
  t.match((await c.ok('Browser.getVersion')).product, /Chrome/, 'the browser is still up')
})

t.test('duplicate keys, unknown keys, bad ids, batches, non-objects: refused, connection usable', async t => {
  const c = await openHedged(t)
  const { sessionId } = await newPage(t, c)
  const cases: Array<[string, string, number, string]> = [
    ['duplicate method', '{"id":1,"method":"Runtime.evaluate","method":"Browser.close"}', 1, 'cdp.parse:duplicate-key'],
    ['duplicate method, reversed', '{"id":2,"method":"Browser.close","method":"Runtime.evaluate"}', 2, 'cdp.parse:duplicate-key'],
    ['duplicate after unescaping', '{"id":3,"method":"Browser.getVersion","\\u006dethod":"Browser.close"}', 3, 'cdp.parse:duplicate-key'],
    ['duplicate id (answered on the last, as JSON.parse reads it)', '{"id":4,"id":5,"method":"Browser.getVersion"}', 5, 'cdp.parse:duplicate-key'],
    ['duplicate url in params', `{"id":6,"method":"Page.navigate","params":{"url":"${site.url}/","url":"file:///etc/passwd"},"sessionId":"${sessionId}"}`, 6, 'cdp.parse:duplicate-key'],
    ['duplicate url in params, reversed', `{"id":7,"method":"Page.navigate","params":{"url":"file:///etc/passwd","url":"${site.url}/"},"sessionId":"${sessionId}"}`, 7, 'cdp.parse:duplicate-key'],
    ['duplicate sessionId', `{"id":8,"method":"Runtime.evaluate","params":{"expression":"1"},"sessionId":"${sessionId}","sessionId":"DEADBEEFDEADBEEFDEADBEEFDEADBEEF"}`, 8, 'cdp.parse:duplicate-key'],
    ['unknown top-level key', '{"id":9,"method":"Browser.getVersion","extra":1}', 9, 'cdp.parse:unknown-key'],
    ['__proto__ key', '{"id":10,"method":"Browser.getVersion","params":{"__proto__":{"x":1}}}', 10, 'cdp.parse:proto-key'],
    ['fractional id', '{"id":1.5,"method":"Browser.getVersion"}', 0, 'cdp.parse:bad-id'],
    ['string id', '{"id":"11","method":"Browser.getVersion"}', 0, 'cdp.parse:bad-id'],
    ['id beyond int32', '{"id":2147483648,"method":"Browser.getVersion"}', 0, 'cdp.parse:bad-id'],
    ['no id', '{"method":"Browser.close"}', 0, 'cdp.parse:bad-id'],
    ['method not a string', '{"id":12,"method":["Browser.close"]}', 12, 'cdp.parse:bad-method'],
    ['method with a NUL', '{"id":13,"method":"Browser.close\\u0000"}', 13, 'cdp.parse:bad-method'],
    ['params an array', '{"id":14,"method":"Browser.getVersion","params":[]}', 14, 'cdp.parse:bad-params'],
    ['sessionId with odd characters', '{"id":15,"method":"Browser.getVersion","sessionId":"../x"}', 15, 'cdp.parse:bad-session-id'],
    ['batch', '[{"id":16,"method":"Browser.close"}]', 0, 'cdp.parse:not-object'],
    ['string', '"Browser.close"', 0, 'cdp.parse:not-object'],
    ['null', 'null', 0, 'cdp.parse:not-object'],
    ['number', '17', 0, 'cdp.parse:not-object'],
    ['truncated', '{"id":18,"method":"Browser.close"', 0, 'cdp.parse:syntax'],
    ['two objects', '{"id":19,"method":"Browser.getVersion"}{"id":20,"method":"Browser.close"}', 0, 'cdp.parse:syntax'],
    ['lone surrogate', '{"id":21,"method":"Runtime.evaluate","params":{"expression":"\\ud800"}}', 21, 'cdp.parse:lone-surrogate'],
    ['nested deeper than Chromium accepts (300)', `{"id":22,"method":"Runtime.evaluate","params":${'{"a":'.repeat(300)}1${'}'.repeat(300)}}`, 0, 'cdp.parse:depth'],
    ['number overflow', '{"id":23,"method":"Runtime.evaluate","params":{"timeout":1e400}}', 23, 'cdp.parse:number-range'],
    ['empty frame', '', 0, 'cdp.parse:syntax'],
  ]
  for (const [label, text, id, rule] of cases) {
    refused(t, await c.raw(text, id), rule, label, -32600)
  }
  // answered on the client's own id and session, so a client library does not wait forever
  const routed = await c.raw(`{"id":30,"method":"Runtime.evaluate","params":{"expression":"1","expression":"2"},"sessionId":"${sessionId}"}`, 30)
  t.equal(routed.sessionId, sessionId, 'the refusal carries the sessionId the frame named')
  // nesting as deep as Chromium itself accepts is not refused (Playwright's serialised arguments are deep)
  const deep = await c.raw(`{"id":31,"method":"Runtime.evaluate","params":{"expression":"1","x":${'['.repeat(290)}${']'.repeat(290)}},"sessionId":"${sessionId}"}`, 31)
  t.equal(deep.result?.result?.value, 1, 'near miss: 292 levels deep is forwarded')
  t.equal(await evaluate(c, sessionId, 'location.href'), `${site.url}/`, 'no navigation happened')
  t.match((await c.ok('Browser.getVersion')).product, /Chrome/, 'connection still usable, browser still up')
})

t.test('channels around the gateway, init scripts and dropped files are refused (live)', async t => {
  const c = await openHedged(t)
  const { targetId, sessionId } = await newPage(t, c, '/drop')
  refused(t, await c.call('Target.openDevTools', { targetId }), 'cdp.builtin:Target.openDevTools', 'openDevTools')
  refused(t, await c.call('Target.exposeDevToolsProtocol', { targetId, bindingName: 'cdp' }), 'cdp.builtin:Target.exposeDevToolsProtocol', 'exposeDevToolsProtocol')
  refused(t, await c.call('Target.sendMessageToTarget', { message: '{"id":1,"method":"Browser.close"}', sessionId }), 'cdp.builtin:Target.sendMessageToTarget', 'sendMessageToTarget')
  refused(t, await c.call('Target.setRemoteLocations', { locations: [{ host: '127.0.0.1', port: 1 }] }), 'cdp.builtin:Target.setRemoteLocations', 'setRemoteLocations')
  refused(t, await c.call('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false }), 'cdp.builtin:flatten-required', 'non-flat auto-attach')

  // a deprecated main-world init script: refused, and indeed not installed
  refused(t, await c.call('Page.addScriptToEvaluateOnLoad', { scriptSource: 'window.__hooked = 1' }, sessionId), 'cdp.initScripts:isolated-only', 'addScriptToEvaluateOnLoad')
  refused(t, await c.call('Page.addScriptToEvaluateOnNewDocument', { source: 'window.__hooked = 2' }, sessionId), 'cdp.initScripts:isolated-only', 'main-world init script')
  const reloaded = c.event('Page.loadEventFired')
  await c.ok('Page.reload', {}, sessionId)
  await reloaded
  t.equal(await evaluate(c, sessionId, 'typeof window.__hooked'), 'undefined', 'no init script ran in the new document')

  // a file dropped on the page is readable by it: only workspace files may be dropped
  const drop = async (files: string[]): Promise<Reply[]> => {
    const out: Reply[] = []
    for (const type of ['dragEnter', 'dragOver', 'drop']) out.push(await c.call('Input.dispatchDragEvent', { type, x: 100, y: 100, data: { items: [], files, dragOperationsMask: 1 } }, sessionId))
    return out
  }
  for (const r of await drop(['/etc/hostname'])) refused(t, r, 'cdp.files:outside-workspace', 'dropping /etc/hostname')
  t.equal(await evaluate(c, sessionId, 'window.__got'), null, 'the page got nothing')
  for (const r of await drop([join(upload, 'note.txt')])) t.equal(r.error, undefined, 'near miss: dropping a file from upload/ is forwarded')
  await waitUntil('the drop handler', async () => (await evaluate(c, sessionId, 'window.__got')) !== null, CDP_TIMEOUT_MS)
  t.equal(await evaluate(c, sessionId, 'window.__got'), 'note.txt:from-upload', 'near miss: the page read the upload/ file')
})

t.test('a page connection cannot use a browser session', async t => {
  const c = await openHedged(t)
  // A page socket is only for a page in no client's own context: one made with /json/new (the default context).
  const { authorization } = await auth(gw)
  const made = await rawRequest(gw.port, { method: 'PUT', path: '/json/new?about:blank', headers: [['Authorization', authorization]] })
  t.equal(made.status, 200, '/json/new made a page in the default context')
  const targetId: string = made.json.id
  t.teardown(() => rawRequest(gw.port, { path: `/json/close/${targetId}`, headers: [['Authorization', authorization]] }).catch(() => {}))
  const p = await openHedged(t, gw, `/devtools/page/${targetId}`)
  refused(t, await p.call('Target.attachToBrowserTarget'), 'cdp.builtin:browser-escalation', 'attachToBrowserTarget')
  // Chromium itself lets a page connection attach to the browser target, given its id (which
  // any browser connection reads with Target.getTargetInfo): the page connection knows no such
  // target, so the attach itself is refused.
  const browserTargetId: string = (await c.ok('Target.getTargetInfo')).targetInfo.targetId
  refused(t, await p.call('Target.attachToTarget', { targetId: browserTargetId, flatten: true }), 'cdp.targets.unknown', 'attaching to the browser target')
  t.equal((await p.ok('Runtime.evaluate', { expression: '1+1', returnByValue: true })).result.value, 2, 'near miss: the page connection itself works')
  // and a page in another client's own browser context gets no page socket at all
  const { targetId: owned } = await c.ok('Target.createTarget', { url: 'about:blank' })
  await t.rejects(Raw.open(wsUrl(gw, `/devtools/page/${owned as string}`), { authorization }), /403/, 'page socket to another client\'s page refused before 101')
})

t.test('frame size: above cdp.maxMessageBytes the socket is closed with 1009; below works', async t => {
  const c = await openHedged(t)
  const pad = 'x'.repeat(MAX_BYTES - 200)
  const r = await c.call('Browser.getVersion', { pad }) // Chromium ignores unknown params
  t.match(r.result?.product, /Chrome/, 'near miss: a frame just under the limit works')
  c.ws.send(JSON.stringify({ id: 1, method: 'Browser.getVersion', params: { pad: 'x'.repeat(MAX_BYTES + 1) } }))
  const { code } = await c.waitClosed()
  t.equal(code, 1009, 'closed: message too big')
  await stillServes(t)
})

t.test('binary frames: refused and the socket closed with 1003', async t => {
  const c = await openHedged(t)
  c.ws.send(Buffer.from('{"id":1,"method":"Browser.close"}'), { binary: true })
  const { code } = await c.waitClosed()
  t.equal(code, 1003, 'closed: unsupported data')
  await stillServes(t)
})

t.test('fragmented text frames are judged whole', async t => {
  const c = await openHedged(t)
  c.ws.send('{"id":1,"method":"Brow', { fin: false })
  c.ws.send('ser.cl', { fin: false })
  c.ws.send('ose"}', { fin: true })
  refused(t, await c.reply(1), 'cdp.methods.deny:Browser.close', 'fragmented Browser.close')
  c.ws.send('{"id":2,"method":"Browser.', { fin: false })
  c.ws.send('getVersion"}', { fin: true })
  t.match((await c.reply(2)).result?.product, /Chrome/, 'near miss: a fragmented allowed command works')
  // a fragmented frame larger than the cap in total is refused like a whole one
  c.ws.send(`{"id":3,"method":"Browser.getVersion","params":{"pad":"${'x'.repeat(MAX_BYTES / 2)}`, { fin: false })
  c.ws.send(`${'x'.repeat(MAX_BYTES / 2 + 10)}"}}`, { fin: true })
  t.equal((await c.waitClosed()).code, 1009, 'fragments add up to the cap: closed 1009')
  await stillServes(t)
})

t.test('permessage-deflate is never negotiated; compressed frames close the socket', async t => {
  const offered = await Raw.open(wsUrl(gw), await auth(gw), { perMessageDeflate: true })
  t.teardown(() => { offered.close() })
  t.equal(offered.ws.extensions, '', 'ws client offered deflate: nothing negotiated')
  t.match((await offered.ok('Browser.getVersion')).product, /Chrome/, 'and the connection works uncompressed')
  offered.close()

  // raw socket: offer the extension, check the 101, then send a frame with RSV1 set anyway
  const sock = netConnect(gw.port, '127.0.0.1')
  t.teardown(() => { sock.destroy() })
  await once(sock, 'connect')
  sock.write(`GET ${bpath} HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
    `Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nAuthorization: ${(await auth(gw)).authorization}\r\n\r\n`)
  let buf = Buffer.alloc(0)
  const ended = new Promise<void>(resolve => { sock.once('close', () => { resolve() }) })
  const until = (pred: () => boolean, what: string): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => { sock.off('data', on); reject(new Error(`${what}: timed out`)) }, CDP_TIMEOUT_MS)
    const on = (d: Buffer): void => { buf = Buffer.concat([buf, d]); if (pred()) { clearTimeout(timer); sock.off('data', on); resolve() } }
    sock.on('data', on)
    if (pred()) { clearTimeout(timer); sock.off('data', on); resolve() }
  })
  await until(() => buf.includes('\r\n\r\n'), 'handshake')
  const head = buf.subarray(0, buf.indexOf('\r\n\r\n')).toString('latin1')
  buf = buf.subarray(buf.indexOf('\r\n\r\n') + 4)
  t.match(head, /^HTTP\/1\.1 101 /, 'upgraded')
  t.notMatch(head, /sec-websocket-extensions/i, 'no Sec-WebSocket-Extensions in the answer')
  const payload = deflateRawSync(Buffer.from('{"id":1,"method":"Browser.close"}')).subarray(0, -4)
  const mask = randomBytes(4)
  const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)))
  sock.write(Buffer.concat([Buffer.from([0xc1, 0x80 | masked.length]), mask, masked])) // FIN + RSV1, text, masked
  await until(() => buf.length >= 4 && ((buf[0] as number) & 0x0f) === 0x8, 'close frame')
  t.equal(buf.readUInt16BE(2), 1002, 'closed: protocol error (RSV1 without the extension)')
  await Promise.race([ended, new Promise((_r, reject) => setTimeout(() => { reject(new Error('socket left open')) }, CDP_TIMEOUT_MS))])
  await stillServes(t)
})

t.test('a handshake ws refuses after admission leaks no connection slot', async t => {
  // Authenticated, so the gateway dials Chromium; then the WebSocket handshake itself is bad
  // (ws answers 400 without calling back) or the client is already gone.
  const tight = await gateway(t, testPolicy('hedged', { cdp: { maxConnectionsPerPrincipal: 2 } }), chromium.url)
  const handshake = (key: string): string => `GET ${bpath} HTTP/1.1\r\nHost: 127.0.0.1:${tight.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: ${(authHeader)}\r\n\r\n`
  const authHeader = (await auth(tight)).authorization
  const statusOf = async (text: string): Promise<string> => {
    const s = netConnect(tight.port, '127.0.0.1')
    t.teardown(() => { s.destroy() })
    await once(s, 'connect')
    let data = ''
    s.on('data', (d: Buffer) => { data += d.toString('latin1') })
    s.write(text)
    await Promise.race([once(s, 'close'), new Promise((_r, reject) => setTimeout(() => { reject(new Error('no answer')) }, CDP_TIMEOUT_MS))])
    return data.split('\r\n')[0] ?? ''
  }
  for (let i = 0; i < 4; i++) {
    t.match(await statusOf(handshake('not-a-valid-key')), /^HTTP\/1\.1 400 /, `bad Sec-WebSocket-Key #${i + 1}: 400`)
  }
  for (let i = 0; i < 3; i++) {
    // the client hangs up while the gateway is still dialling Chromium
    const s = netConnect(tight.port, '127.0.0.1')
    await once(s, 'connect')
    s.end(handshake(randomBytes(16).toString('base64')))
    await once(s, 'close')
  }
  const c = await Raw.open(wsUrl(tight), { authorization: authHeader })
  t.teardown(() => { c.close() })
  t.match((await c.ok('Browser.getVersion')).product, /Chrome/, 'a proper connection still gets a slot')
  const c2 = await Raw.open(wsUrl(tight), { authorization: authHeader })
  t.teardown(() => { c2.close() })
  await t.rejects(Raw.open(wsUrl(tight), { authorization: authHeader }), /upgrade refused: 429/, 'and the limit itself still holds')
  c.close(); c2.close()
  await Promise.all([c.closed, c2.closed])
  // concurrent attempts: each is counted before the gateway dials Chromium, not after
  const burst = await Promise.allSettled(Array.from({ length: 6 }, async () => await Raw.open(wsUrl(tight), { authorization: authHeader })))
  const opened = burst.filter((r): r is PromiseFulfilledResult<Raw> => r.status === 'fulfilled').map(r => r.value)
  for (const r of opened) t.teardown(() => { r.close() })
  t.ok(opened.length <= 2, `6 concurrent upgrades, at most 2 admitted (${opened.length})`)
  t.ok(burst.every(r => r.status === 'fulfilled' || /429/.test(String(r.reason))), 'the rest refused with 429')
})

t.test('rate limit: refused with cdp.rate, usable again once the bucket refills', async t => {
  const slow = await gateway(t, testPolicy('hedged', { cdp: { maxMessagesPerSecond: 5 } }), chromium.url)
  const c = await Raw.open(wsUrl(slow), await auth(slow))
  t.teardown(() => { c.close() })
  const answers = await Promise.all(Array.from({ length: 40 }, () => c.call('Browser.getVersion')))
  const limited = answers.filter(a => a.error !== undefined)
  t.ok(limited.length >= 25, `most of a 40-message burst refused (${limited.length})`)
  t.ok(answers.some(a => a.result !== undefined), 'the first few went through')
  for (const a of limited.slice(0, 3)) refused(t, a, 'cdp.rate', 'flood', -32001)
  t.ok(limited.every(a => /\[cdp\.rate\]/.test(a.error?.message ?? '')), 'every refusal names cdp.rate')
  let ok = false
  await waitUntil('the bucket to refill', async () => { ok = (await c.call('Browser.getVersion')).result !== undefined; return ok }, CDP_TIMEOUT_MS, 250)
  t.ok(ok, 'the same connection works again')
  await stillServes(t, slow)
})

t.test('a token that expires while connected ends the connection with 1008', async t => {
  const c = await Raw.open(wsUrl(gw), await auth(gw, 2))
  t.teardown(() => { c.close() })
  t.match((await c.ok('Browser.getVersion')).product, /Chrome/, 'works while the token is valid')
  const { code, reason } = await c.waitClosed()
  t.equal(code, 1008, `closed: policy violation (${reason})`)
  t.ok(gw.logs.lines.some(l => l.event === 'cdp-close' && l.code === 1008), 'logged')
  await stillServes(t)
})

t.test('report-only: a harmful command is forwarded and logged as would-deny', async t => {
  const ro = await gateway(t, loadPolicy('hedged-report-only', {}), chromium.url)
  const c = await Raw.open(wsUrl(ro), await auth(ro))
  t.teardown(() => { c.close() })
  const r = await c.call('Storage.getCookies')
  t.equal(r.error, undefined, 'forwarded: the browser answered')
  t.type(r.result?.cookies, Array, 'with the cookie jar')
  t.ok(ro.logs.lines.some(l => l.event === 'would-deny' && l.rule === 'cdp.methods.deny:Storage.getCookies'), 'would-deny logged with the rule')
  t.notOk(ro.logs.lines.some(l => l.event === 'deny'), 'nothing denied')
  const dup = await c.raw('{"id":77,"method":"Browser.getVersion","method":"Browser.getVersion"}', 77)
  t.ok(dup.error !== undefined && !/hedge:/.test(dup.error.message), `unparsable frame forwarded as is; Chromium refused it itself (${dup.error?.message ?? ''})`)
  t.ok(ro.logs.lines.some(l => l.event === 'would-deny' && l.rule === 'cdp.parse:duplicate-key'), 'would-deny logged for the parse failure')
})

t.test('off: everything is forwarded', async t => {
  const off = await gateway(t, testPolicy('hedged', { layers: { 'cdp-filter': 'off' } }), chromium.url)
  const c = await Raw.open(wsUrl(off), await auth(off))
  t.teardown(() => { c.close() })
  t.type((await c.ok('Storage.getCookies')).cookies, Array, 'a denied method runs')
  const lower = await c.raw('{"id":5,"method":"browser.close"}', 5)
  t.equal(lower.error?.code, -32601, `Chromium matches byte-exact: "browser.close" is unknown to it (${lower.error?.message ?? ''})`)
  t.match((await c.ok('Browser.getVersion')).product, /Chrome/, 'the browser is still up')
  t.notOk(off.logs.lines.some(l => l.event === 'deny' || l.event === 'would-deny'), 'no decision logged')
})

t.test('upstream Chromium stopped: 1011 to the client, a clean 502 afterwards', async t => {
  const doomed = await startTestChromium(t)
  const g = await gateway(t, hedged, doomed.url)
  const c = await Raw.open(wsUrl(g, await browserPath(doomed.url)), await auth(g))
  t.teardown(() => { c.close() })
  t.match((await c.ok('Browser.getVersion')).product, /Chrome/)
  await doomed.stop()
  t.equal((await c.waitClosed()).code, 1011, 'closed: the browser went away')
  const v = await rawRequest(g.port, { path: '/json/version', headers: [['Authorization', (await auth(g)).authorization]] })
  t.equal(v.status, 502, 'discovery: 502')
  t.match(v.json, { statusCode: 502, code: 'HEDGE_UPSTREAM_UNAVAILABLE' }, 'with the standard error body')
  t.notMatch(v.text, /ECONNREFUSED|127\.0\.0\.1:\d+/, 'no internal detail leaked')
  await t.rejects(Raw.open(wsUrl(g), await auth(g)), /upgrade refused: 502/, 'an upgrade is refused with 502, never 101')
})

t.test('the gateway still serves at the end', async t => {
  await stillServes(t)
  const v = await rawRequest(gw.port, { path: '/json/version', headers: [['Authorization', (await auth(gw)).authorization]] })
  t.equal(v.status, 200, 'discovery works')
  t.same(gw.logs.lines.filter(l => l.level >= 50).map(l => `${String(l.event)}: ${String(l.err ?? l.msg)}`), [], 'no error logged by the gateway')
})
