// decide(), pure and table-driven: for every rule, the attack it stops and the near miss
// it must let through. No browser: sessions, handles and history are fed to ConnectionState
// as the frames Chromium really sends (shapes measured on Chromium 156). Download and upload
// paths use real temp directories and a real symlink.
import t, { type Test } from 'tap'
import { mkdtempSync, mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, sep } from 'node:path'
import { compileCdpFilter, insideDirs, type CdpFilter, type WorkspaceDirs } from '../../src/cdp/filter.ts'
import { decide, type Decision } from '../../src/cdp/decide.ts'
import type { CdpCommand } from '../../src/cdp/protocol.ts'
import { ConnectionState, type SessionKind } from '../../src/cdp/sessions.ts'
import { ContextRegistry } from '../../src/cdp/target-view.ts'
import { testPolicy } from '../helpers/gateway.ts'

// ---------------------------------------------------------------------------------------------
// fixtures

const root = realpathSync(mkdtempSync(join(tmpdir(), 'hedge-cdp-filter-')))
t.teardown(() => { rmSync(root, { recursive: true, force: true }) })
const output = join(root, 'output')
const upload = join(root, 'upload')
const outside = join(root, 'outside')
for (const d of [output, upload, outside]) mkdirSync(d)
writeFileSync(join(upload, 'a.txt'), 'a')
writeFileSync(join(output, 'b.txt'), 'b')
writeFileSync(join(outside, 'secret.txt'), 's')
symlinkSync(outside, join(output, 'escape')) // output/escape → outside/ (what the agent could plant)
symlinkSync('/etc/passwd', join(output, 'passwd-link'))
const DIRS: WorkspaceDirs = { output, upload }

const FIXTURE = 'http://127.0.0.1:41234'
const filterFor = (cdp: Record<string, unknown> = {}, dirs: WorkspaceDirs | undefined = DIRS, base = 'hedged'): CdpFilter =>
  compileCdpFilter(testPolicy(base, { cdp }).cdp, dirs)
const hedged = filterFor({ urls: { allowHosts: ['127.0.0.1:41234'] } })

const PAGE_SID = 'A1B2C3D4E5F60718293A4B5C6D7E8F90'
const IFRAME_SID = '0F1E2D3C4B5A69788796A5B4C3D2E1F0'
const BROWSER_SID = 'B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0'
const GUESSED_SID = 'DEADBEEFDEADBEEFDEADBEEFDEADBEEF'

/** What Chromium 156 sends when a flat session is attached (shape copied from a real trace). */
function attachedEvent (sessionId: string, type: string, parent?: string): string {
  const ev = {
    method: 'Target.attachedToTarget',
    params: {
      sessionId,
      targetInfo: { targetId: `T${sessionId.slice(0, 8)}`, type, title: 'about:blank', url: 'about:blank', attached: true, canAccessOpener: false, browserContextId: '9F88FDC9C101DE0AA29D2616DF475603' },
      waitingForDebugger: type !== 'browser',
    },
    ...(parent !== undefined ? { sessionId: parent } : {}),
  }
  return JSON.stringify(ev)
}

/** Feed a browser→client frame the way the relay does: only if needsParse selects it. */
function feed (st: ConnectionState, frame: string): boolean {
  const buf = Buffer.from(frame)
  if (!st.needsParse(buf)) return false
  st.observe(buf.toString('utf8'))
  return true
}

const CTX = '9F88FDC9C101DE0AA29D2616DF475603'
/** A connection as the relay sets it up under the hedged policy: its own context (browser root), a known page "T", these sessions. */
function stateWith (rootKind: SessionKind, sessions: Array<[string, string]> = [[PAGE_SID, 'page']], f: CdpFilter = hedged): ConnectionState {
  const st = new ConnectionState(rootKind, { view: { rules: f.targets, tenancy: f.tenancy, registry: new ContextRegistry() } })
  if (rootKind === 'browser') st.view.claim(CTX, true)
  feed(st, JSON.stringify({ method: 'Target.targetCreated', params: { targetInfo: { targetId: 'T', type: 'page', title: '', url: 'about:blank', attached: false, canAccessOpener: false, browserContextId: CTX } } }))
  for (const [sid, type] of sessions) feed(st, attachedEvent(sid, type))
  return st
}

let nextId = 1
const cmd = (method: string, params?: Record<string, unknown>, sessionId?: string): CdpCommand => ({ id: nextId++, method, params, sessionId })

/** 'forward' | the rule that denied. */
function outcome (d: Decision): string { return d.action === 'deny' ? d.rule : d.action }

type Row = [label: string, command: CdpCommand, expected: string]
function table (t: Test, f: CdpFilter, st: ConnectionState | (() => ConnectionState), rows: Row[]): void {
  for (const [label, c, expected] of rows) {
    const s = typeof st === 'function' ? st() : st
    const d = decide(f, s, c)
    t.equal(outcome(d), expected, `${label}: ${c.method} ${JSON.stringify(c.params ?? {}).slice(0, 80)}${c.sessionId !== undefined ? ` @${c.sessionId.slice(0, 6)}` : ''}`)
    if (d.action === 'deny') t.match(d.message, /\S/, `${label}: a message for the client`)
  }
}

// ---------------------------------------------------------------------------------------------
// methods

t.test('methods: deny before allow, globs, the default', async t => {
  const st = stateWith('browser')
  table(t, hedged, st, [
    ['glob allows', cmd('Page.navigate', { url: `${FIXTURE}/` }, PAGE_SID), 'forward'],
    ['glob allows a neighbour', cmd('Page.reload', {}, PAGE_SID), 'forward'],
    ['exact deny inside an allowed glob', cmd('Browser.close'), 'cdp.methods.deny:Browser.close'],
    ['near miss of the deny', cmd('Browser.getVersion'), 'forward'],
    ['deny list', cmd('Browser.crash'), 'cdp.methods.deny:Browser.crash'],
    ['deny list', cmd('Browser.executeBrowserCommand', { commandId: 'openTabSearch' }), 'cdp.methods.deny:Browser.executeBrowserCommand'],
    ['cookie theft', cmd('Network.getCookies', {}, PAGE_SID), 'cdp.methods.deny:Network.getCookies'],
    ['cookie theft', cmd('Network.getAllCookies'), 'cdp.methods.deny:Network.getAllCookies'],
    ['cookie theft', cmd('Storage.getCookies', { browserContextId: 'X' }), 'cdp.methods.deny:Storage.getCookies'],
    ['near miss: setting cookies', cmd('Storage.setCookies', { cookies: [] }), 'forward'],
    ['near miss: another Network method', cmd('Network.enable', {}, PAGE_SID), 'forward'],
    ['domain glob deny', cmd('Tracing.start'), 'cdp.methods.deny:Tracing.*'],
    ['domain no rule names', cmd('Debugger.enable', {}, PAGE_SID), 'cdp.methods.default:deny'],
    ['domain no rule names', cmd('Profiler.start', {}, PAGE_SID), 'cdp.methods.default:deny'],
    ['IO: only the listed methods', cmd('IO.resolveBlob', { objectId: '1' }, PAGE_SID), 'cdp.methods.default:deny'],
    ['Storage: only the listed methods', cmd('Storage.clearDataForOrigin', { origin: '*', storageTypes: 'all' }), 'cdp.methods.default:deny'],
  ])
  const open = filterFor({ methods: { default: 'allow', allow: [], deny: ['Browser.close'] } })
  table(t, open, st, [
    ['default allow', cmd('Debugger.enable', {}, PAGE_SID), 'forward'],
    ['default allow still denies what is listed', cmd('Browser.close'), 'cdp.methods.deny:Browser.close'],
  ])
})

t.test('case tricks: Chromium matches method names byte-exact, so a respelling is an unknown method', async t => {
  const st = stateWith('browser')
  // another domain spelling: no rule names it → default deny
  for (const m of ['browser.close', 'BROWSER.close', 'browser.Close', 'target.exposeDevToolsProtocol', 'TARGET.sendMessageToTarget', 'network.getAllCookies']) {
    table(t, hedged, st, [['domain respelt', cmd(m), 'cdp.methods.default:deny']])
  }
  // the method part respelt inside an allowed glob: forwarded, and Chromium answers
  // "'Browser.Close' wasn't found" (-32601) — shown live in cdp-front-evasion. The exact-name
  // rules (deny list, built-ins, URL and path rules) never see a name Chromium would run.
  for (const [m, p] of [['Browser.Close', {}], ['Browser.CLOSE', {}], ['Page.Navigate', { url: 'file:///etc/passwd' }], ['Target.ExposeDevToolsProtocol', { targetId: 'T' }]] as Array<[string, Record<string, unknown>]>) {
    table(t, hedged, st, [['method respelt inside a glob', cmd(m, p, m.startsWith('Page') ? PAGE_SID : undefined), 'forward']])
  }
  // Under default allow a respelt domain is forwarded the same way (Chromium: not found).
  const open = filterFor({ methods: { default: 'allow', allow: [], deny: ['Browser.close'] } })
  table(t, open, st, [['default allow forwards an unknown spelling', cmd('browser.close'), 'forward']])
})

t.test('aliases: a deprecated name is judged as the method Chromium dispatches', async t => {
  const f = filterFor({ methods: { default: 'deny', allow: ['Page.*', 'Target.*', 'Runtime.*'], deny: ['Network.*', 'Emulation.setUserAgentOverride', 'Debugger.*'] } })
  const st = stateWith('browser')
  table(t, f, st, [
    ['Page.deleteCookie runs Network.deleteCookie', cmd('Page.deleteCookie', { cookieName: 'sid', url: 'https://example.com/' }, PAGE_SID), 'cdp.methods.deny:Network.*'],
    ['Network is denied by name too', cmd('Network.deleteCookie', { name: 'sid' }, PAGE_SID), 'cdp.methods.deny:Network.*'],
    ['Page.getCookies (older builds) runs Network.getCookies', cmd('Page.getCookies', {}, PAGE_SID), 'cdp.methods.deny:Network.*'],
    ['Network.setUserAgentOverride runs Emulation.setUserAgentOverride', cmd('Network.setUserAgentOverride', { userAgent: 'x' }, PAGE_SID), 'cdp.methods.deny:Emulation.setUserAgentOverride'],
    ['Runtime.setAsyncCallStackDepth runs Debugger.setAsyncCallStackDepth', cmd('Runtime.setAsyncCallStackDepth', { maxDepth: 32 }, PAGE_SID), 'cdp.methods.deny:Debugger.*'],
    ['near miss: Page.reload is Page', cmd('Page.reload', {}, PAGE_SID), 'forward'],
    ['near miss: Runtime.evaluate is Runtime', cmd('Runtime.evaluate', { expression: '1' }, PAGE_SID), 'forward'],
    ['Page.setDeviceMetricsOverride runs Emulation.*: not allowed here', cmd('Page.setDeviceMetricsOverride', { width: 1, height: 1, deviceScaleFactor: 1, mobile: false }, PAGE_SID), 'cdp.methods.default:deny'],
  ])
  // the deprecated download alias is held to the download rule, not only the method rule
  table(t, hedged, st, [['Page.setDownloadBehavior is Browser.setDownloadBehavior', cmd('Page.setDownloadBehavior', { behavior: 'allow', downloadPath: '/tmp' }, PAGE_SID), 'forward']])
  const d = decide(hedged, st, cmd('Page.setDownloadBehavior', { behavior: 'allow', downloadPath: '/tmp' }, PAGE_SID))
  t.same(d.action === 'forward' ? [d.rule, d.cmd.params?.downloadPath, d.cmd.method] : [], ['cdp.downloads:rewritten', output, 'Page.setDownloadBehavior'], 'rewritten into output/, the client\'s method name kept')
})

// ---------------------------------------------------------------------------------------------
// sessions

t.test('sessions: only ids the browser handed out on this connection', async t => {
  const st = new ConnectionState('browser')
  table(t, hedged, st, [
    ['guessed sessionId', cmd('Runtime.evaluate', { expression: '1' }, GUESSED_SID), 'cdp.session-unknown'],
    ['not yet attached', cmd('Runtime.evaluate', { expression: '1' }, PAGE_SID), 'cdp.session-unknown'],
    ['no session: the root', cmd('Target.getTargets'), 'forward'],
  ])
  t.ok(feed(st, attachedEvent(PAGE_SID, 'page')), 'attachedToTarget is parsed')
  t.equal(st.sessions.get(PAGE_SID), 'page', 'learnt from the event, with its kind')
  t.ok(feed(st, attachedEvent(IFRAME_SID, 'iframe', PAGE_SID)), 'a nested attach (event on the page session) is parsed too')
  t.equal(st.sessions.get(IFRAME_SID), 'iframe')
  table(t, hedged, st, [
    ['learnt page session', cmd('Runtime.evaluate', { expression: '1' }, PAGE_SID), 'forward'],
    ['learnt nested session', cmd('Runtime.evaluate', { expression: '1' }, IFRAME_SID), 'forward'],
    ['still unknown', cmd('Runtime.evaluate', { expression: '1' }, GUESSED_SID), 'cdp.session-unknown'],
  ])

  // the answer to an allowed Target.attachToTarget: tracked, selected by needsParse, learnt
  const attach = { id: 41, method: 'Target.attachToTarget', params: { targetId: 'C6A842E7B1F12133047B9C84C290C15E', flatten: true }, sessionId: undefined }
  t.equal(outcome(decide(hedged, st, attach)), 'cdp.targets.unknown', 'a target the browser never announced cannot be attached')
  feed(st, JSON.stringify({ method: 'Target.targetCreated', params: { targetInfo: { targetId: 'C6A842E7B1F12133047B9C84C290C15E', type: 'other', title: '', url: 'about:blank', attached: false, browserContextId: CTX } } }))
  t.equal(outcome(decide(hedged, st, attach)), 'cdp.targets.type', 'nor one of a type the policy does not list')
  feed(st, JSON.stringify({ method: 'Target.targetInfoChanged', params: { targetInfo: { targetId: 'C6A842E7B1F12133047B9C84C290C15E', type: 'page', title: '', url: 'about:blank', attached: false, browserContextId: CTX } } }))
  t.equal(outcome(decide(hedged, st, attach)), 'forward')
  const otherSid = '5E5510115E5510115E5510115E551011'
  t.notOk(st.needsParse(Buffer.from(`{"id":41,"result":{"sessionId":"${otherSid}"}}`)), 'untracked: not parsed')
  const sent = st.track(attach)
  t.ok(sent !== undefined && sent.id < 0, 'forwarded under a gateway id')
  const gid = sent?.id as number
  t.ok(feed(st, `{"id":${gid},"result":{"sessionId":"${otherSid}"}}`), 'tracked answer parsed')
  t.equal(st.sessions.get(otherSid), 'page', 'learnt from the answer (kind from the target the gateway knows)')
  t.equal(st.sessionTargets.get(otherSid), 'C6A842E7B1F12133047B9C84C290C15E', '…and bound to that target')
  t.notOk(st.needsParse(Buffer.from(`{"id":${gid},"result":{"sessionId":"${otherSid}"}}`)), 'answered: no longer tracked')

  // the client's own id never matches a tracked answer: a stray answer under it teaches nothing
  const sent2 = st.track({ id: 42, method: 'Target.attachToTarget', params: { targetId: 'X', flatten: true }, sessionId: PAGE_SID })
  const stray = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
  feed(st, `{"id":42,"result":{"sessionId":"${stray}"},"sessionId":"${PAGE_SID}"}`)
  t.notOk(st.sessions.has(stray), 'an answer under the client\'s id: nothing learnt')
  feed(st, `{"id":${sent2?.id as number},"result":{"sessionId":"${stray}"},"sessionId":"${PAGE_SID}"}`)
  t.ok(st.sessions.has(stray), 'under the gateway id: learnt')

  // an error answer teaches nothing
  const sent3 = st.track({ id: 43, method: 'Target.attachToTarget', params: { targetId: 'nope', flatten: true }, sessionId: undefined })
  feed(st, `{"id":${sent3?.id as number},"error":{"code":-32602,"message":"No target with given id found"}}`)
  t.equal(st.sessions.size, 4, 'error answer: no session')

  // detach forgets
  t.ok(feed(st, `{"method":"Target.detachedFromTarget","params":{"sessionId":"${PAGE_SID}","targetId":"TA1B2C3D4"}}`), 'detachedFromTarget is parsed')
  table(t, hedged, st, [['detached session', cmd('Runtime.evaluate', { expression: '1' }, PAGE_SID), 'cdp.session-unknown']])
})

t.test('needsParse selects only frames the tracker needs (big answers pass untouched)', async t => {
  const st = new ConnectionState('browser')
  const big = `{"id":5,"result":{"data":"${'iVBORw0KGgo'.repeat(200_000)}"}}`
  t.notOk(st.needsParse(Buffer.from(big)), '2 MB screenshot answer, nothing tracked')
  const pdf = st.track({ id: 55, method: 'Page.printToPDF', params: { transferMode: 'ReturnAsStream' }, sessionId: PAGE_SID })
  t.notOk(st.needsParse(Buffer.from(big)), 'a PDF answer tracked: a client id is never selected')
  t.notOk(st.needsParse(Buffer.from(`{"id":-5,"result":{}}`)), 'a negative id nobody is waiting for is not selected')
  t.ok(st.needsParse(Buffer.from(`{"id":${pdf?.id as number},"result":{"stream":"9"}}`)), 'the gateway id is')
  st.observe(big)
  t.equal(st.handles.size + st.sessions.size, 0, '…and observe learns nothing from an answer nobody tracked')
  for (const frame of [
    '{"method":"Page.loadEventFired","params":{"timestamp":1.5},"sessionId":"A1B2"}',
    '{"method":"Runtime.consoleAPICalled","params":{"args":[{"value":"{\\"method\\":\\"Target.attachedToTarget\\"}"}]}}',
    '[]', '"x"', '', '{}', ' {"method":"Target.attachedToTarget"}',
  ]) t.notOk(st.needsParse(Buffer.from(frame)), `not selected: ${frame.slice(0, 60)}`)
  t.ok(st.needsParse(Buffer.from('{"method":"Tracing.tracingComplete","params":{"dataLossOccurred":false,"stream":"7"}}')), 'tracingComplete is selected')
  t.ok(st.needsParse(Buffer.from('{"method":"Target.targetCreated","params":{"targetInfo":{"type":"page"}}}')), 'every Target event is selected (targets are learnt from them)')
  t.doesNotThrow(() => { st.observe('{"method":"Target.attachedToTarget","params":null}'); st.observe('{not json'); st.observe('null') }, 'observe never throws')
})

t.test('session kinds: browserSessionDeny applies to the browser session only', async t => {
  const f = filterFor({ methods: { browserSessionDeny: ['Target.createTarget', 'Browser.*'] } })
  const st = stateWith('browser')
  table(t, f, st, [
    ['root of a browser connection', cmd('Target.createTarget', { url: 'about:blank' }), 'cdp.methods.browserSessionDeny.deny:Target.createTarget'],
    ['glob on the browser session', cmd('Browser.getVersion'), 'cdp.methods.browserSessionDeny.deny:Browser.*'],
    ['near miss: same method on a page session', cmd('Target.createTarget', { url: 'about:blank' }, PAGE_SID), 'forward'],
    ['near miss: another method on the browser session', cmd('Target.getTargets'), 'forward'],
  ])
  // a browser session obtained through Target.attachToBrowserTarget
  const att = { id: 7, method: 'Target.attachToBrowserTarget', params: {}, sessionId: undefined }
  t.equal(outcome(decide(f, st, att)), 'forward', 'a browser connection may attach to the browser')
  feed(st, `{"id":${st.track(att)?.id as number},"result":{"sessionId":"${BROWSER_SID}"}}`)
  t.equal(st.sessions.get(BROWSER_SID), 'browser')
  table(t, f, st, [['the attached browser session', cmd('Target.createTarget', { url: 'about:blank' }, BROWSER_SID), 'cdp.methods.browserSessionDeny.deny:Target.createTarget']])
  // a page connection's root is not the browser session
  const pst = stateWith('page', [])
  table(t, f, pst, [['root of a page connection', cmd('Target.createTarget', { url: 'about:blank' }), 'forward']])
})

t.test('browser escalation from a page connection', async t => {
  const pst = stateWith('page')
  table(t, hedged, pst, [
    ['attachToBrowserTarget from a page connection', cmd('Target.attachToBrowserTarget'), 'cdp.builtin:browser-escalation'],
    ['…from a session of a page connection', cmd('Target.attachToBrowserTarget', {}, PAGE_SID), 'cdp.builtin:browser-escalation'],
    ['near miss: attaching to a page', cmd('Target.attachToTarget', { targetId: 'T', flatten: true }), 'forward'],
  ])
  // Chromium lets a page connection attach to the browser target by its id (the one in
  // /json/version's URL): the event says type "browser"; the session is hidden from the
  // client and let go of at once, so it is unknown on use.
  const hiddenFrame = attachedEvent(BROWSER_SID, 'browser')
  t.ok(pst.needsParse(Buffer.from(hiddenFrame)))
  const o = pst.observe(hiddenFrame)
  t.equal(o.drop, true, 'the attach event never reaches the client')
  t.same(o.internal?.map(c => c.method), ['Target.detachFromTarget'], 'the gateway detaches it')
  table(t, hedged, pst, [
    ['browser session on a page connection', cmd('Browser.getVersion', {}, BROWSER_SID), 'cdp.session-unknown'],
    ['…whatever the method', cmd('Target.getTargets', {}, BROWSER_SID), 'cdp.session-unknown'],
  ])
  const bst = stateWith('browser', [[BROWSER_SID, 'browser']])
  table(t, hedged, bst, [
    ['near miss: the same on a browser connection', cmd('Browser.getVersion', {}, BROWSER_SID), 'forward'],
    ['near miss: attachToBrowserTarget on a browser connection', cmd('Target.attachToBrowserTarget'), 'forward'],
  ])
})

t.test('built-in: flat sessions only, no channel around the gateway', async t => {
  // even a policy that allows everything cannot open these
  const open = filterFor({ methods: { default: 'allow', allow: ['Target.*'], deny: [] } })
  const st = stateWith('browser')
  for (const f of [hedged, open]) {
    table(t, f, st, [
      ['non-flat attach', cmd('Target.attachToTarget', { targetId: 'T', flatten: false }), 'cdp.builtin:flatten-required'],
      ['flatten omitted (defaults to false)', cmd('Target.attachToTarget', { targetId: 'T' }), 'cdp.builtin:flatten-required'],
      ['flatten as a string', cmd('Target.attachToTarget', { targetId: 'T', flatten: 'true' }), 'cdp.builtin:flatten-required'],
      ['near miss: flat attach', cmd('Target.attachToTarget', { targetId: 'T', flatten: true }), 'forward'],
      ['non-flat auto-attach', cmd('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: false }), 'cdp.builtin:flatten-required'],
      ['auto-attach, flatten omitted', cmd('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false }, PAGE_SID), 'cdp.builtin:flatten-required'],
      ['near miss: Playwright\'s auto-attach', cmd('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true }), 'forward'],
      ['near miss: turning auto-attach off', cmd('Target.setAutoAttach', { autoAttach: false, waitForDebuggerOnStart: false }), 'forward'],
      ['page JS gets a CDP binding', cmd('Target.exposeDevToolsProtocol', { targetId: 'T', bindingName: 'cdp' }), 'cdp.builtin:Target.exposeDevToolsProtocol'],
      ['tunnel through a non-flat session', cmd('Target.sendMessageToTarget', { message: '{"id":1,"method":"Browser.close"}', sessionId: PAGE_SID }), 'cdp.builtin:Target.sendMessageToTarget'],
      ['discovery of other hosts', cmd('Target.setRemoteLocations', { locations: [{ host: '10.0.0.1', port: 9222 }] }), 'cdp.builtin:Target.setRemoteLocations'],
      ['a DevTools frontend with its own CDP channel', cmd('Target.openDevTools', { targetId: 'T' }), 'cdp.builtin:Target.openDevTools'],
      ['near miss: Target.getTargets', cmd('Target.getTargets'), 'forward'],
      ['near miss: Target.getTargetInfo', cmd('Target.getTargetInfo', {}, PAGE_SID), 'forward'],
    ])
  }
})

// ---------------------------------------------------------------------------------------------
// parameters

t.test('URL parameters: navigation, new targets, request overrides, resource loads', async t => {
  const st = stateWith('browser')
  table(t, hedged, st, [
    ['allowed fixture', cmd('Page.navigate', { url: `${FIXTURE}/page` }, PAGE_SID), 'forward'],
    ['public site', cmd('Page.navigate', { url: 'https://example.com/' }, PAGE_SID), 'forward'],
    ['the kernel on loopback', cmd('Page.navigate', { url: 'http://127.0.0.1:8888/kernel/connection' }, PAGE_SID), 'url.address:loopback'],
    ['near miss of the fixture: other port', cmd('Page.navigate', { url: 'http://127.0.0.1:41235/' }, PAGE_SID), 'url.address:loopback'],
    ['hex loopback', cmd('Page.navigate', { url: 'http://0x7f.1:9222/json' }, PAGE_SID), 'url.address:loopback'],
    ['IPv6 loopback', cmd('Page.navigate', { url: 'http://[::1]:8888/' }, PAGE_SID), 'url.address:loopback'],
    ['localhost', cmd('Page.navigate', { url: 'http://LOCALHOST:8888/' }, PAGE_SID), 'url.address:loopback'],
    ['metadata', cmd('Page.navigate', { url: 'http://169.254.169.254/latest/meta-data/' }, PAGE_SID), 'url.address:metadata'],
    ['private', cmd('Page.navigate', { url: 'http://10.1.2.3/' }, PAGE_SID), 'url.address:private'],
    ['file', cmd('Page.navigate', { url: 'file:///etc/passwd' }, PAGE_SID), 'url.scheme:file'],
    ['javascript', cmd('Page.navigate', { url: 'javascript:alert(1)' }, PAGE_SID), 'url.scheme:javascript'],
    ['data', cmd('Page.navigate', { url: 'data:text/html,<script>fetch("http://127.0.0.1:8888")</script>' }, PAGE_SID), 'url.scheme:data'],
    ['chrome', cmd('Page.navigate', { url: 'chrome://settings' }, PAGE_SID), 'url.scheme:chrome'],
    ['about:blank', cmd('Page.navigate', { url: 'about:blank' }, PAGE_SID), 'forward'],
    ['about:blank with a fragment', cmd('Page.navigate', { url: 'about:blank#x' }, PAGE_SID), 'url.about'],
    ['url missing', cmd('Page.navigate', {}, PAGE_SID), 'cdp.params:url'],
    ['url not a string', cmd('Page.navigate', { url: ['http://127.0.0.1/'] }, PAGE_SID), 'cdp.params:url'],
    ['unparsable', cmd('Page.navigate', { url: 'http://[::1' }, PAGE_SID), 'url.invalid'],
    ['new target, no url (about:blank)', cmd('Target.createTarget', {}), 'forward'],
    ['new target, about:blank', cmd('Target.createTarget', { url: 'about:blank', browserContextId: CTX }), 'forward'],
    ['new target in another client\'s context', cmd('Target.createTarget', { url: 'about:blank', browserContextId: 'X' }), 'cdp.tenancy.context'],
    ['new target on loopback', cmd('Target.createTarget', { url: 'http://127.0.0.1:9222/json/version' }), 'url.address:loopback'],
    ['new target, empty url', cmd('Target.createTarget', { url: '' }), 'url.invalid'],
    ['Fetch.continueRequest without override', cmd('Fetch.continueRequest', { requestId: 'interception-job-1.0' }, PAGE_SID), 'forward'],
    ['Fetch.continueRequest redirected to the kernel', cmd('Fetch.continueRequest', { requestId: 'interception-job-1.0', url: 'http://127.0.0.1:8888/kernel/connection' }, PAGE_SID), 'url.address:loopback'],
    ['Fetch.continueRequest redirected to a file', cmd('Fetch.continueRequest', { requestId: 'i', url: 'file:///etc/shadow' }, PAGE_SID), 'url.scheme:file'],
    ['near miss: override to the fixture', cmd('Fetch.continueRequest', { requestId: 'i', url: `${FIXTURE}/other` }, PAGE_SID), 'forward'],
  ])
  // hedged denies Network.loadNetworkResource outright (its answer carries headers); a policy
  // that allows it still holds its URL to the URL rules
  table(t, hedged, st, [
    ['hedged: loadNetworkResource denied by name', cmd('Network.loadNetworkResource', { frameId: 'F', url: `${FIXTURE}/x.js`, options: {} }, PAGE_SID), 'cdp.methods.deny:Network.loadNetworkResource'],
  ])
  const allowsLoad = filterFor({ urls: { allowHosts: ['127.0.0.1:41234'] }, methods: { deny: ['Browser.close'] } })
  table(t, allowsLoad, st, [
    ['Network.loadNetworkResource of the kernel', cmd('Network.loadNetworkResource', {
      frameId: 'F',
      url: 'http://127.0.0.1:8888/kernel/connection',
      options: { disableCache: true, includeCredentials: false },
    }, PAGE_SID), 'url.address:loopback'],
    ['Network.loadNetworkResource of a file', cmd('Network.loadNetworkResource', { frameId: 'F', url: 'file:///etc/passwd', options: {} }, PAGE_SID), 'url.scheme:file'],
    ['near miss: loadNetworkResource of the fixture', cmd('Network.loadNetworkResource', { frameId: 'F', url: `${FIXTURE}/x.js`, options: {} }, PAGE_SID), 'forward'],
  ])
  // what is forwarded is the canonical spelling that was checked
  const original = { url: 'HTTP://Example.COM:80/a/../b' }
  const d = decide(hedged, st, cmd('Page.navigate', original, PAGE_SID))
  t.equal(d.action === 'forward' ? d.cmd.params?.url : undefined, 'http://example.com/b', 'canonical URL forwarded')
  t.equal(original.url, 'HTTP://Example.COM:80/a/../b', 'the client\'s params object is not mutated')
  // without allowHosts, the fixture itself is loopback
  table(t, filterFor(), st, [['no allowHosts: fixture refused', cmd('Page.navigate', { url: `${FIXTURE}/` }, PAGE_SID), 'url.address:loopback']])
})

t.test('navigateToHistoryEntry: only entries the browser listed, held to the URL policy', async t => {
  const st = stateWith('browser')
  const hist = { id: 90, method: 'Page.getNavigationHistory', params: {}, sessionId: PAGE_SID }
  t.equal(outcome(decide(hedged, st, hist)), 'forward')
  table(t, hedged, st, [['before any history answer', cmd('Page.navigateToHistoryEntry', { entryId: 3 }, PAGE_SID), 'cdp.params:history-entry-unknown']])
  const histId = st.track(hist)?.id as number
  const answer = { id: histId, result: { currentIndex: 2, entries: [
    { id: 1, url: 'about:blank', userTypedURL: 'about:blank', title: '', transitionType: 'typed' },
    { id: 3, url: `${FIXTURE}/one`, userTypedURL: `${FIXTURE}/one`, title: 'fixture', transitionType: 'typed' },
    { id: 4, url: 'http://127.0.0.1:8888/kernel/connection', userTypedURL: '', title: '', transitionType: 'link' }, // page JS went there
    { id: 5, url: `${FIXTURE}/two`, userTypedURL: `${FIXTURE}/two`, title: 'fixture', transitionType: 'typed' },
  ] }, sessionId: PAGE_SID }
  t.ok(feed(st, JSON.stringify(answer)), 'history answer parsed')
  table(t, hedged, st, [
    ['known entry, allowed URL (goBack)', cmd('Page.navigateToHistoryEntry', { entryId: 3 }, PAGE_SID), 'forward'],
    ['known entry, about:blank', cmd('Page.navigateToHistoryEntry', { entryId: 1 }, PAGE_SID), 'forward'],
    ['known entry whose URL is loopback', cmd('Page.navigateToHistoryEntry', { entryId: 4 }, PAGE_SID), 'url.address:loopback'],
    ['unknown entry', cmd('Page.navigateToHistoryEntry', { entryId: 999 }, PAGE_SID), 'cdp.params:history-entry-unknown'],
    ['entry id as a string', cmd('Page.navigateToHistoryEntry', { entryId: '3' }, PAGE_SID), 'cdp.params:history-entry-unknown'],
    ['entry from another session', cmd('Page.navigateToHistoryEntry', { entryId: 3 }, IFRAME_SID), 'cdp.session-unknown'],
  ])
  feed(st, attachedEvent(IFRAME_SID, 'page'))
  table(t, hedged, st, [['entry listed for another page', cmd('Page.navigateToHistoryEntry', { entryId: 3 }, IFRAME_SID), 'cdp.params:history-entry-unknown']])
})

t.test('downloads: confined to output/ (rewrite), or refused', async t => {
  const st = stateWith('browser')
  const dl = (downloadPath: unknown, behavior = 'allowAndName'): CdpCommand => cmd('Browser.setDownloadBehavior', { behavior, ...(downloadPath !== undefined ? { downloadPath } : {}), eventsEnabled: true })
  const playwrightTmp = join(tmpdir(), 'playwright-artifacts-Xy12Ab')
  const attacks: Array<[string, unknown]> = [
    ['Playwright\'s own temp dir', playwrightTmp],
    ['the home directory', '/root'],
    ['system dir', '/etc/cron.d'],
    ['.. out of output/', `${output}/../outside`],
    ['.. deep', `${output}/${'../'.repeat(12)}etc`],
    ['symlink in output/ pointing outside', join(output, 'escape')],
    ['below the symlink', join(output, 'escape', 'sub')],
    ['relative path', 'output'],
    ['NUL byte', `${output}\0/x`],
    ['not a string', 42],
    ['no path', undefined],
  ]
  for (const [label, p] of attacks) {
    const d = decide(hedged, st, dl(p))
    t.equal(outcome(d), 'forward', `rewrite: ${label}`)
    t.same(d.action === 'forward' ? [d.rule, d.cmd.params?.downloadPath, d.cmd.params?.eventsEnabled] : [], ['cdp.downloads:rewritten', output, true], `rewrite: ${label} → output/`)
  }
  for (const [label, p] of [['output/ itself', output], ['a new folder in output/', join(output, 'new')], ['a trailing slash', `${output}/`]] as Array<[string, string]>) {
    const d = decide(hedged, st, dl(p))
    t.same(d.action === 'forward' ? [d.rule, d.cmd.params?.downloadPath] : [], [undefined, p], `near miss, untouched: ${label}`)
  }
  table(t, hedged, st, [
    ['deny needs no path', dl(undefined, 'deny'), 'forward'],
    ['default needs no path', dl(undefined, 'default'), 'forward'],
  ])
  const refuse = filterFor({ downloads: 'refuse' })
  for (const [label, p] of attacks) table(t, refuse, st, [[`refuse: ${label}`, dl(p), 'cdp.downloads:outside-output']])
  table(t, refuse, st, [
    ['refuse mode, near miss: inside output/', dl(join(output, 'new')), 'forward'],
    ['refuse mode: behavior deny', dl(undefined, 'deny'), 'forward'],
  ])
  table(t, filterFor({}, {}), st, [['no workspace configured', dl(output), 'cdp.downloads:no-workspace']])
  table(t, filterFor({ downloads: 'allow' }, {}), st, [['allow (baseline)', dl('/etc'), 'forward']])
  // the symlink is judged where it points at decision time
  t.notOk(insideDirs(join(output, 'escape', 'secret.txt'), [output]), 'insideDirs resolves symlinks')
  t.ok(insideDirs(join(output, 'b.txt'), [output]), 'insideDirs: a real file inside')
})

t.test('file inputs and dropped files: inside upload/ or output/ only', async t => {
  const st = stateWith('browser')
  const depth = upload.split(sep).length - 1
  const files = (list: unknown): CdpCommand => cmd('DOM.setFileInputFiles', { files: list, backendNodeId: 12 }, PAGE_SID)
  const drop = (list: unknown, type = 'drop'): CdpCommand => cmd('Input.dispatchDragEvent', { type, x: 10, y: 10, data: { items: [], ...(list !== undefined ? { files: list } : {}), dragOperationsMask: 1 } }, PAGE_SID)
  const rows: Array<[string, unknown, boolean]> = [
    ['a file in upload/', [join(upload, 'a.txt')], true],
    ['a file in output/', [join(output, 'b.txt')], true],
    ['two files', [join(upload, 'a.txt'), join(output, 'b.txt')], true],
    ['clearing the input', [], true],
    ['/etc/passwd', ['/etc/passwd'], false],
    ['one good, one bad', [join(upload, 'a.txt'), '/etc/passwd'], false],
    ['upload/../../etc/passwd', [`${upload}/../../etc/passwd`], false],
    ['upload/ + enough .. to reach /etc/passwd', [`${upload}/${'../'.repeat(depth)}etc/passwd`], false],
    ['symlink in output/ to /etc/passwd', [join(output, 'passwd-link')], false],
    ['through a symlinked dir', [join(output, 'escape', 'secret.txt')], false],
    ['relative path', ['a.txt'], false],
    ['not an array', join(upload, 'a.txt'), false],
    ['not strings', [1], false],
    ['NUL byte', [`${upload}/a.txt\0`], false],
  ]
  for (const [label, list, ok] of rows) {
    table(t, hedged, st, [[`setFileInputFiles: ${label}`, files(list), ok ? 'forward' : 'cdp.files:outside-workspace']])
    table(t, hedged, st, [[`dispatchDragEvent: ${label}`, drop(list), ok ? 'forward' : 'cdp.files:outside-workspace']])
  }
  table(t, hedged, st, [
    ['files missing', cmd('DOM.setFileInputFiles', { backendNodeId: 12 }, PAGE_SID), 'cdp.files:outside-workspace'],
    ['near miss: a drag without files (Playwright\'s dragAndDrop)', drop(undefined, 'dragOver'), 'forward'],
    ['drag with no data', cmd('Input.dispatchDragEvent', { type: 'dragCancel', x: 0, y: 0 }, PAGE_SID), 'forward'],
  ])
  table(t, filterFor({}, {}), st, [['no workspace: no file at all', files(['/tmp/x']), 'cdp.files:outside-workspace']])
})

t.test('the path check is injected: decide() asks it, and only it, about client-named paths', async t => {
  const asked: Array<[unknown, readonly string[]]> = []
  const check = (p: unknown, dirs: readonly string[]): boolean => { asked.push([p, dirs]); return p === '/virtual/ok' }
  const fake = compileCdpFilter(testPolicy('hedged', { cdp: {} }).cdp, DIRS, check)
  const st = stateWith('browser')
  table(t, fake, st, [
    ['file the check accepts', cmd('DOM.setFileInputFiles', { files: ['/virtual/ok'], backendNodeId: 1 }, PAGE_SID), 'forward'],
    ['file the check refuses', cmd('DOM.setFileInputFiles', { files: [join(upload, 'a.txt')], backendNodeId: 1 }, PAGE_SID),
      'cdp.files:outside-workspace'],
    ['download path the check accepts', cmd('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: '/virtual/ok' }), 'forward'],
  ])
  t.same(asked.map(([p]) => p), ['/virtual/ok', join(upload, 'a.txt'), '/virtual/ok'])
  t.same(asked[2]?.[1], [output], 'downloads are checked against output/ only')
})

t.test('browser contexts: no per-context proxy', async t => {
  const st = stateWith('browser')
  table(t, hedged, st, [
    ['proxyServer', cmd('Target.createBrowserContext', { proxyServer: 'http://127.0.0.1:1' }), 'cdp.params:context-proxy'],
    ['proxyServer, direct://', cmd('Target.createBrowserContext', { proxyServer: 'direct://' }), 'cdp.params:context-proxy'],
    ['proxyBypassList alone', cmd('Target.createBrowserContext', { proxyBypassList: '*' }), 'cdp.params:context-proxy'],
    ['near miss: Playwright\'s new context', cmd('Target.createBrowserContext', { disposeOnDetach: true }), 'forward'],
    ['near miss: no params', cmd('Target.createBrowserContext'), 'forward'],
  ])
})

t.test('init scripts: isolated-only, deny, allow', async t => {
  const st = stateWith('browser')
  const add = (p: Record<string, unknown>): CdpCommand => cmd('Page.addScriptToEvaluateOnNewDocument', p, PAGE_SID)
  const onLoad = cmd('Page.addScriptToEvaluateOnLoad', { scriptSource: 'window.__hook = 1' }, PAGE_SID)
  table(t, hedged, st, [
    ['main world', add({ source: 'window.fetch = () => {}' }), 'cdp.initScripts:isolated-only'],
    ['empty worldName is the main world', add({ source: 'x', worldName: '' }), 'cdp.initScripts:isolated-only'],
    ['worldName not a string', add({ source: 'x', worldName: 1 }), 'cdp.initScripts:isolated-only'],
    ['deprecated addScriptToEvaluateOnLoad (main world, no worldName)', onLoad, 'cdp.initScripts:isolated-only'],
    ['near miss: Playwright\'s utility world', add({ source: '', worldName: '__playwright_utility_world__' }), 'forward'],
    ['near miss: removing a script', cmd('Page.removeScriptToEvaluateOnNewDocument', { identifier: '1' }, PAGE_SID), 'forward'],
  ])
  const deny = filterFor({ initScripts: 'deny' })
  table(t, deny, st, [
    ['deny: main world', add({ source: 'x' }), 'cdp.initScripts:deny'],
    ['deny: isolated world too', add({ source: 'x', worldName: 'utility' }), 'cdp.initScripts:deny'],
    ['deny: addScriptToEvaluateOnLoad', onLoad, 'cdp.initScripts:deny'],
  ])
  const allow = filterFor({ initScripts: 'allow' })
  table(t, allow, st, [
    ['allow: main world', add({ source: 'x' }), 'forward'],
    ['allow: addScriptToEvaluateOnLoad', onLoad, 'forward'],
  ])
})

t.test('IO streams: only handles issued on this connection', async t => {
  const st = stateWith('browser')
  table(t, hedged, st, [
    ['a handle from another connection', cmd('IO.read', { handle: '7' }, PAGE_SID), 'cdp.io:foreign-handle'],
    ['closing a foreign handle', cmd('IO.close', { handle: '7' }), 'cdp.io:foreign-handle'],
    ['handle not a string', cmd('IO.read', { handle: 7 }), 'cdp.io:foreign-handle'],
    ['no handle', cmd('IO.read', {}), 'cdp.io:foreign-handle'],
  ])
  // Playwright's page.pdf(): printToPDF with ReturnAsStream, then IO.read on the stream it got
  const pdf = { id: 120, method: 'Page.printToPDF', params: { transferMode: 'ReturnAsStream', printBackground: false }, sessionId: PAGE_SID }
  t.equal(outcome(decide(hedged, st, pdf)), 'forward')
  const pdfId = st.track(pdf)?.id as number
  t.ok(feed(st, `{"id":${pdfId},"result":{"data":"","stream":"1739284563"},"sessionId":"${PAGE_SID}"}`), 'printToPDF answer parsed')
  table(t, hedged, st, [
    ['own handle', cmd('IO.read', { handle: '1739284563', size: 1048576 }, PAGE_SID), 'forward'],
    ['own handle, from the root session', cmd('IO.read', { handle: '1739284563' }), 'forward'],
    ['near miss: a neighbouring handle', cmd('IO.read', { handle: '1739284564' }, PAGE_SID), 'cdp.io:foreign-handle'],
  ])
  // decide() only names what IO.close ends; the relay forgets the handle once it has forwarded the command
  const close = decide(hedged, st, cmd('IO.close', { handle: '1739284563' }, PAGE_SID))
  t.same(close.action === 'forward' ? close.closesHandle : close.action, '1739284563', 'close own handle: forwarded, naming the handle')
  t.ok(st.handles.has('1739284563'), 'decide wrote nothing')
  const read = decide(hedged, st, cmd('IO.read', { handle: '1739284563' }, PAGE_SID))
  t.equal(read.action === 'forward' ? read.closesHandle : read.action, undefined, 'IO.read ends nothing')
  st.closeHandle('1739284563') // what the relay does after forwarding
  table(t, hedged, st, [['read after close', cmd('IO.read', { handle: '1739284563' }, PAGE_SID), 'cdp.io:foreign-handle']])
  // a stream in the answer to an untracked command teaches nothing
  t.notOk(feed(st, '{"id":121,"result":{"stream":"99"}}'), 'untracked answer not parsed')
  st.observe('{"id":121,"result":{"stream":"99"}}')
  t.notOk(st.handles.has('99'), 'and observe ignores it anyway')
  // tracing streams arrive in an event
  feed(st, '{"method":"Tracing.tracingComplete","params":{"dataLossOccurred":false,"stream":"55","traceFormat":"json"}}')
  table(t, hedged, st, [['tracing stream learnt from its event', cmd('IO.read', { handle: '55' }), 'forward']])
})

t.test('strict: observers read, nothing changes state', async t => {
  const strict = filterFor({}, DIRS, 'strict')
  const st = stateWith('browser')
  table(t, strict, st, [
    ['screenshot', cmd('Page.captureScreenshot', { format: 'png' }, PAGE_SID), 'forward'],
    ['DOM read', cmd('DOM.getOuterHTML', { nodeId: 1 }, PAGE_SID), 'forward'],
    ['flat attach', cmd('Target.attachToTarget', { targetId: 'T', flatten: true }), 'forward'],
    ['navigation', cmd('Page.navigate', { url: 'about:blank' }, PAGE_SID), 'cdp.methods.default:deny'],
    ['evaluate', cmd('Runtime.evaluate', { expression: '1' }, PAGE_SID), 'cdp.methods.default:deny'],
    ['input', cmd('Input.dispatchMouseEvent', { type: 'mousePressed', x: 1, y: 1 }, PAGE_SID), 'cdp.methods.default:deny'],
    ['downloads', cmd('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: output }), 'cdp.methods.default:deny'],
    ['non-flat attach is refused before the method rule', cmd('Target.attachToTarget', { targetId: 'T' }), 'cdp.builtin:flatten-required'],
  ])
})
