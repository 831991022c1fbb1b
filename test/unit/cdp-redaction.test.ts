// Two rules found missing by the comparison's gap attacks, as pure tables:
// cookies stripped from browser→client events, and "inert" isolated-world init scripts.
import t from 'tap'
import { ConnectionState, stripCookies } from '../../src/cdp/sessions.ts'
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
  t.ok(stripCookies(ev))
  t.notMatch(JSON.stringify(ev), /SECRET/)
  t.equal(ev.headers.Accept, 'text/html', 'other headers kept')
  t.equal(ev.request.headers.Referer, 'http://127.0.0.1/')
  t.match(ev.headersText, /Content-Type: text\/html/)
  t.equal((ev.cookieIssueDetails as Record<string, unknown>).cookie, undefined, 'cookie objects go whole (they hold values)')
  t.notOk(stripCookies({ headers: { Accept: '*/*' }, associatedCookies: [] }), 'near miss: nothing to strip')
})

t.test('the relay path: cookie events are selected, rewritten in enforce, left in report-only', async t => {
  const st = new ConnectionState('browser', true)
  const frame = JSON.stringify({ method: 'Network.requestWillBeSentExtraInfo', params: { headers: { cookie: 'sid=SECRET' }, associatedCookies: [] }, sessionId: 'ABC' })
  t.ok(st.needsParse(Buffer.from(frame)))
  const enforced = st.observe(frame)
  t.equal(enforced.redacted, true)
  t.notMatch(enforced.text ?? '', /SECRET/)
  const reported = new ConnectionState('browser', { redactCookies: true, enforce: false }).observe(frame)
  t.same(reported, { redacted: true }, 'report-only: the frame is reported, not changed')
  t.same(st.observe(JSON.stringify({ method: 'Network.dataReceived', params: { dataLength: 1 } })), {}, 'nothing to strip: send the original bytes')
  t.notOk(new ConnectionState('browser', false).needsParse(Buffer.from(frame)), 'redaction off: Network events take the fast path')
  t.notOk(st.needsParse(Buffer.from('{"id":5,"result":{"data":"' + 'A'.repeat(1000) + '"}}')), 'untracked responses take the fast path')
})

t.test('header arrays: a Set-Cookie entry in Fetch.requestPaused.responseHeaders is removed, other entries stay', async t => {
  const st = new ConnectionState('browser', true)
  const frame = JSON.stringify({ method: 'Fetch.requestPaused', params: { requestId: 'r1', responseStatusCode: 200, responseHeaders: [{ name: 'Content-Type', value: 'text/html' }, { name: 'Set-Cookie', value: 'sid=SECRET; HttpOnly' }, { name: 'set-cookie ', value: 'b=SECRET2' }, { name: 'Cookie2', value: 'c=SECRET3' }] }, sessionId: 'ABC' })
  t.ok(st.needsParse(Buffer.from(frame)))
  const o = st.observe(frame)
  t.notMatch(o.text ?? '', /SECRET/)
  t.same(JSON.parse(o.text ?? '{}').params.responseHeaders, [{ name: 'Content-Type', value: 'text/html' }])
  const near = JSON.stringify({ method: 'Fetch.requestPaused', params: { requestId: 'r2', responseHeaders: [{ name: 'X-Cookie-Policy', value: 'x' }, { name: 'Content-Type', value: 'a' }] } })
  t.same(st.observe(near), {}, 'near miss: headers that only mention cookies stay, nothing rewritten')
})

t.test('isInertSource: only whitespace and comments', async t => {
  for (const s of ['', ' \n', '//# sourceURL=pptr:internal', '/* a */ // b\n']) t.ok(isInertSource(s), JSON.stringify(s))
  // labels are escaped: a raw U+2028 in a message would break the TAP stream
  const bad: unknown[] = ['x', '//a\nalert(1)', '/* */alert(1)', '/* unterminated', '//a\u2028alert(1)', '<!-- x', undefined, 42, '//'.padEnd(5000, 'x')]
  bad.forEach((s, i) => { t.notOk(isInertSource(s), `refused #${i}: ${JSON.stringify(s)?.replace(/[\u2028\u2029]/g, '<LS>').slice(0, 40) ?? String(s)}`) })
})
