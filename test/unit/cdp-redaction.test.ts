// Two rules found missing by the comparison's gap attacks, as pure tables:
// cookies stripped from browser→client events, and "inert" isolated-world init scripts.
import t from 'tap'
import { ConnectionState } from '../../src/cdp/sessions.ts'
import { mayCarryCookies, redactCookies, stripCookies } from '../../src/cdp/event-redaction.ts'
import { isInertSource } from '../../src/cdp/decide.ts'

t.test('stripCookies removes cookies wherever events carry them, and nothing else', async t => {
  const ev = {
    requestId: '1',
    headers: { Cookie: 'sid=SECRET1', Accept: 'text/html', 'set-cookie': 'a=SECRET2' },
    associatedCookies: [{ cookie: { name: 'sid', value: 'SECRET3' } }],
    blockedCookies: [{ cookie: { value: 'SECRET4' } }],
    headersText: 'HTTP/1.1 200 OK\r\nSet-Cookie: sid=SECRET5\r\nContent-Type: text/html\r\n',
    request: { headers: { cookie: 'x=SECRET6', Referer: 'http://127.0.0.1/' } },
    cookieIssueDetails: { rawCookieLine: 'sid=SECRET7; HttpOnly', cookie: { name: 'sid' } },
  }
  const before = JSON.stringify(ev)
  const out = stripCookies(ev)
  t.not(out, ev, 'a new value')
  t.equal(JSON.stringify(ev), before, 'pure: the input is untouched')
  t.notMatch(JSON.stringify(out), /SECRET/)
  t.equal(out.headers.Accept, 'text/html', 'other headers kept')
  t.equal(out.request.headers.Referer, 'http://127.0.0.1/')
  t.match(out.headersText, /Content-Type: text\/html/)
  t.equal((out.cookieIssueDetails as Record<string, unknown>).cookie, undefined, 'cookie objects go whole (they hold values)')
  const clean = { headers: { Accept: '*/*' }, associatedCookies: [], list: [{ name: 'Accept', value: 'x' }] }
  t.equal(stripCookies(clean), clean, 'near miss: nothing to strip, the same value back')
  const proto = JSON.parse('{"__proto__":{"cookie":"SECRET"},"a":1}') as Record<string, unknown>
  const stripped = stripCookies(proto)
  t.equal(Object.getPrototypeOf(stripped), Object.prototype, 'a "__proto__" key stays an own key, never a prototype')
  t.notMatch(JSON.stringify(stripped), /SECRET/)
})

t.test('the relay path: cookie events are selected by their first bytes and redacted; the session tracker never reads them', async t => {
  const frame = JSON.stringify({ method: 'Network.requestWillBeSentExtraInfo', params: { headers: { cookie: 'sid=SECRET' }, associatedCookies: [] }, sessionId: 'ABC' })
  t.ok(mayCarryCookies(Buffer.from(frame)))
  const redacted = redactCookies(JSON.parse(frame))
  t.notMatch(JSON.stringify(redacted), /SECRET/)
  t.equal(redacted?.sessionId, 'ABC', 'addressed to the same session')
  t.equal(redacted?.method, 'Network.requestWillBeSentExtraInfo')
  t.equal(redactCookies({ method: 'Network.dataReceived', params: { dataLength: 1 } }), undefined, 'nothing to strip: the original bytes')
  const consoleEvent = { method: 'Runtime.consoleAPICalled', params: { headers: { cookie: 'x' } } }
  t.equal(redactCookies(consoleEvent), undefined, 'other domains: untouched')
  for (const f of ['{"method":"Fetch.requestPaused","params":{}}', '{"method":"Audits.issueAdded","params":{}}']) {
    t.ok(mayCarryCookies(Buffer.from(f)), f)
  }
  const fast = ['{"id":5,"result":{"data":"' + 'A'.repeat(1000) + '"}}', '{"method":"Page.frameNavigated","params":{}}',
    '{"method":"Audits.enable"}']
  for (const f of fast) {
    t.notOk(mayCarryCookies(Buffer.from(f)), `fast path: ${f.slice(0, 30)}`)
  }
  t.notOk(new ConnectionState('browser').needsParse(Buffer.from(frame)), 'sessions.ts learns nothing from Network events')
})

t.test('header arrays: a Set-Cookie entry in Fetch.requestPaused.responseHeaders is removed, other entries stay', async t => {
  const frame = JSON.stringify({
    method: 'Fetch.requestPaused',
    params: {
      requestId: 'r1',
      responseStatusCode: 200,
      responseHeaders: [
        { name: 'Content-Type', value: 'text/html' },
        { name: 'Set-Cookie', value: 'sid=SECRET; HttpOnly' },
        { name: 'set-cookie ', value: 'b=SECRET2' },
        { name: 'Cookie2', value: 'c=SECRET3' },
      ],
    },
    sessionId: 'ABC',
  })
  t.ok(mayCarryCookies(Buffer.from(frame)))
  const o = redactCookies(JSON.parse(frame))
  t.notMatch(JSON.stringify(o), /SECRET/)
  t.same((o?.params as { responseHeaders: unknown }).responseHeaders, [{ name: 'Content-Type', value: 'text/html' }])
  const responseHeaders = [{ name: 'X-Cookie-Policy', value: 'x' }, { name: 'Content-Type', value: 'a' }]
  const near = { method: 'Fetch.requestPaused', params: { requestId: 'r2', responseHeaders } }
  t.equal(redactCookies(near), undefined, 'near miss: headers that only mention cookies stay, nothing rewritten')
})

t.test('isInertSource: only whitespace and comments', async t => {
  for (const s of ['', ' \n', '//# sourceURL=pptr:internal', '/* a */ // b\n']) t.ok(isInertSource(s), JSON.stringify(s))
  // labels are escaped: a raw U+2028 in a message would break the TAP stream
  const bad: unknown[] = ['x', '//a\nalert(1)', '/* */alert(1)', '/* unterminated', '//a\u2028alert(1)', '<!-- x', undefined, 42, '//'.padEnd(5000, 'x')]
  bad.forEach((s, i) => { t.notOk(isInertSource(s), `refused #${i}: ${JSON.stringify(s)?.replace(/[\u2028\u2029]/g, '<LS>').slice(0, 40) ?? String(s)}`) })
})
