// The kernel front's header rewriting, pure: what reaches the kernel server and what the
// client gets back. Each attack next to its near miss.
import t from 'tap'
import type { IncomingHttpHeaders } from 'node:http'
import {
  preflightHeaders, rewriteRequestHeaders, rewriteResponseHeaders, type RequestRewrite, type ResponseRewrite,
} from '../../src/kernel/headers.ts'
import { HOP_BY_HOP } from '../../src/net/hop.ts'

const ON: RequestRewrite = { auth: 'enforce', host: 'enforce', redact: false, body: undefined }
const OFF: RequestRewrite = { auth: 'off', host: 'off', redact: false, body: undefined }
const jsonBody = { bytes: Buffer.from('{}'), header: 'application/json' }
const bare = { bytes: Buffer.from('x'), header: undefined }

t.test('rewriteRequestHeaders', async t => {
  // [what, client headers, rewrite, header name, expected value (undefined = dropped)]
  type Row = [string, IncomingHttpHeaders, RequestRewrite, string, string | undefined]
  const rows: Row[] = [
    ['method override', { 'x-http-method-override': 'DELETE' }, OFF, 'x-http-method-override', undefined],
    ['x-http-method', { 'x-http-method': 'DELETE' }, OFF, 'x-http-method', undefined],
    ['x-method-override', { 'x-method-override': 'PUT' }, ON, 'x-method-override', undefined],
    ['near miss: a look-alike header passes', { 'x-http-method-overrides': 'x' }, ON, 'x-http-method-overrides', 'x'],
    ['bearer token, auth on', { authorization: 'Bearer t' }, ON, 'authorization', undefined],
    ['near miss: bearer token, auth off (transparent)', { authorization: 'Bearer t' }, OFF, 'authorization', 'Bearer t'],
    ['x-forwarded-for, host on', { 'x-forwarded-for': '10.0.0.1' }, ON, 'x-forwarded-for', undefined],
    ['forwarded, host on', { forwarded: 'for=10.0.0.1' }, ON, 'forwarded', undefined],
    ['x-real-ip, host on', { 'x-real-ip': '10.0.0.1' }, ON, 'x-real-ip', undefined],
    ['near miss: x-forwarded-for, host off', { 'x-forwarded-for': '10.0.0.1' }, OFF, 'x-forwarded-for', '10.0.0.1'],
    ['header named in Connection', { connection: 'close, X-Secret', 'x-secret': 's' }, OFF, 'x-secret', undefined],
    ['near miss: same header, Connection names another', { connection: 'close', 'x-secret': 's' }, OFF, 'x-secret', 's'],
    ['Connection cannot remove the gateway\'s content-type', { connection: 'content-type', 'content-type': 'text/plain' },
      { ...ON, body: jsonBody }, 'content-type', 'application/json'],
    ['client content-type replaced by the decided one', { 'content-type': 'application/json; charset=utf-8' }, { ...ON, body: jsonBody },
      'content-type', 'application/json'],
    ['body forwarded as it came without content-type', { 'content-type': 'text/plain' }, { ...ON, body: bare }, 'content-type', undefined],
    ['near miss: no body decided, client content-type kept', { 'content-type': 'text/plain' }, ON, 'content-type', 'text/plain'],
    ['accept-encoding when the answer is redacted', { 'accept-encoding': 'gzip' }, { ...ON, redact: true }, 'accept-encoding', undefined],
    ['near miss: accept-encoding otherwise', { 'accept-encoding': 'gzip' }, ON, 'accept-encoding', 'gzip'],
    ['near miss: an ordinary header', { 'user-agent': 'agent/1' }, ON, 'user-agent', 'agent/1'],
  ]
  for (const hop of HOP_BY_HOP) rows.push([`hop-by-hop ${hop}`, { [hop]: 'x' }, OFF, hop, undefined])
  for (const [what, h, o, name, value] of rows) {
    const out = rewriteRequestHeaders(h, o)
    t.equal(out[name], value, what)
  }
})

t.test('rewriteRequestHeaders leaves its input alone', async t => {
  const h: IncomingHttpHeaders = { authorization: 'Bearer t', connection: 'x-a', 'x-a': '1' }
  rewriteRequestHeaders(h, ON)
  t.same(h, { authorization: 'Bearer t', connection: 'x-a', 'x-a': '1' })
})

t.test('rewriteResponseHeaders', async t => {
  const enforce = (allowedOrigin?: string): ResponseRewrite => ({ origin: 'enforce', allowedOrigin })
  const off: ResponseRewrite = { origin: 'off', allowedOrigin: undefined }
  const ACAO = 'access-control-allow-origin'
  const ACAC = 'access-control-allow-credentials'
  const APP = 'http://app.test'
  // [what, upstream headers, rewrite, header name, expected value (undefined = dropped)]
  type Row = [string, IncomingHttpHeaders, ResponseRewrite, string, string | undefined]
  const rows: Row[] = [
    ['sandbox approves any origin', { [ACAO]: '*' }, enforce(), ACAO, undefined],
    ['sandbox grants credentials', { [ACAC]: 'true' }, enforce(APP), ACAC, undefined],
    ['sandbox echoes a foreign origin', { [ACAO]: 'http://evil.test' }, enforce(APP), ACAO, APP],
    ['near miss: report-only passes the sandbox\'s CORS', { [ACAO]: '*' }, { origin: 'report-only', allowedOrigin: undefined }, ACAO, '*'],
    ['Vary gains Origin', { vary: 'Accept-Encoding' }, enforce(), 'vary', 'Accept-Encoding, Origin'],
    ['near miss: Vary already names origin', { vary: 'origin' }, enforce(), 'vary', 'origin'],
    ['Vary set when absent', {}, enforce(), 'vary', 'Origin'],
    ['near miss: origin off leaves Vary alone', {}, off, 'vary', undefined],
    ['header named in Connection', { connection: 'x-internal', 'x-internal': '1' }, enforce(), 'x-internal', undefined],
    ['near miss: an ordinary header', { 'content-type': 'application/json' }, enforce(), 'content-type', 'application/json'],
  ]
  for (const hop of HOP_BY_HOP) rows.push([`hop-by-hop ${hop}`, { [hop]: 'x' }, off, hop, undefined])
  for (const [what, h, o, name, value] of rows) t.equal(rewriteResponseHeaders(h, o)[name], value, what)
})

t.test('preflightHeaders', async t => {
  t.same(preflightHeaders(undefined, 'POST', 600), { vary: 'Origin' }, 'origin not allowed: no grant')
  const app = 'http://app.test'
  const ok = preflightHeaders(app, 'post', 600)
  t.equal(ok['access-control-allow-origin'], app)
  t.equal(ok['access-control-allow-methods'], 'POST', 'near miss: one method, upper-cased')
  t.equal(ok['access-control-max-age'], '600')
  t.equal(ok['access-control-allow-credentials'], undefined, 'never credentials')
  t.equal(preflightHeaders(app, 'POST, DELETE', 600)['access-control-allow-methods'], 'GET', 'a list is not echoed')
  t.equal(preflightHeaders(app, ['POST', 'PUT'], 600)['access-control-allow-methods'], 'GET', 'a repeated header is not echoed')
})
