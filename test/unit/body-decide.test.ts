// The body layer's decision, pure: JSON only, strictly parsed, re-serialised when it
// enforces; what came is forwarded unchanged when it is off or report-only. Each attack
// next to its near miss.
import t from 'tap'
import { decideBody, type BodyFacts } from '../../src/layers/body.ts'
import type { LayerMode } from '../../src/policy/schema.ts'

const J = 'application/json'
const E: LayerMode = 'enforce'
const R: LayerMode = 'report-only'
const facts = (body: string | undefined, contentType: string | undefined = J, o: Partial<BodyFacts> = {}): BodyFacts =>
  ({ contentType, contentEncoding: undefined, bytes: body === undefined ? undefined : Buffer.from(body), routeNeedsBody: false, ...o })

t.test('decideBody: verdicts and what is forwarded', async t => {
  // [what, mode, facts, rule or null, forwarded bytes (undefined = no body), forwarded content-type]
  type Row = [string, LayerMode, BodyFacts, string | null, string | undefined, string | undefined]
  const rows: Row[] = [
    ['text/plain (no-preflight CSRF)', E, facts('{"code":"1"}', 'text/plain'), 'body.json-only', '{"code":"1"}', 'text/plain'],
    ['near miss: application/json', E, facts('{"code":"1"}'), null, '{"code":"1"}', J],
    ['form body', E, facts('code=1', 'application/x-www-form-urlencoded'), 'body.json-only', 'code=1', 'application/x-www-form-urlencoded'],
    ['no content-type', E, facts('{}', J, { contentType: undefined }), 'body.json-only', '{}', undefined],
    ['json with a foreign charset', E, facts('{}', `${J}; charset=latin1`), 'body.json-only', '{}', `${J}; charset=latin1`],
    ['near miss: json; charset=utf-8', E, facts('{}', 'application/json; charset="UTF-8"'), null, '{}', J],
    ['application/jsonx', E, facts('{}', 'application/jsonx'), 'body.json-only', '{}', 'application/jsonx'],
    ['gzip-encoded body', E, facts('{}', J, { contentEncoding: 'gzip' }), 'body.content-encoding', '{}', J],
    ['near miss: identity encoding', E, facts('{}', J, { contentEncoding: 'identity' }), null, '{}', J],
    ['encoded and empty', E, facts(undefined, undefined, { contentEncoding: 'br' }), 'body.content-encoding', undefined, undefined],
    ['duplicate key (last-wins smuggling)', E, facts('{"code":"1","code":"2"}'), 'body.strict-json', '{"code":"1","code":"2"}', J],
    ['near miss: two keys', E, facts('{"code":"1","silent":true}'), null, '{"code":"1","silent":true}', J],
    ['__proto__ key', E, facts('{"__proto__":{"x":1}}'), 'body.strict-json', '{"__proto__":{"x":1}}', J],
    ['not JSON', E, facts('{code: 1}'), 'body.strict-json', '{code: 1}', J],
    ['whitespace is re-serialised away', E, facts(' { "code" :\n"1" } '), null, '{"code":"1"}', J],
    ['route needs a body, none came', E, facts(undefined, undefined, { routeNeedsBody: true }), 'body.required', undefined, undefined],
    ['near miss: route without body, none came', E, facts(undefined, undefined), null, undefined, undefined],
    ['empty bytes count as none', E, facts('', J, { routeNeedsBody: true }), 'body.required', undefined, undefined],
    ['route needs an object, got an array', E, facts('[1]', J, { routeNeedsBody: true }), 'body.object', '[1]', J],
    ['route needs an object, got null', E, facts('null', J, { routeNeedsBody: true }), 'body.object', 'null', J],
    ['near miss: an array where no object is needed', E, facts('[1]'), null, '[1]', J],
    ['report-only: refused body still forwarded as it came', R, facts('code=1', 'text/plain'), 'body.json-only', 'code=1', 'text/plain'],
    ['report-only: valid body forwarded as it came', R, facts(' {"a":1} ', `${J};charset=utf-8`), null, ' {"a":1} ', `${J};charset=utf-8`],
    ['off: anything passes unchanged', 'off', facts('code=1', 'text/plain', { contentEncoding: 'gzip' }), null, 'code=1', 'text/plain'],
    ['off: no body', 'off', facts(undefined, undefined, { routeNeedsBody: true }), null, undefined, undefined],
  ]
  for (const [what, mode, f, rule, bytes, header] of rows) {
    const d = decideBody(mode, f)
    t.equal(d.verdict?.rule ?? null, rule, `${what}: verdict`)
    if (d.verdict !== null) {
      t.equal(d.verdict.layer, 'body', `${what}: layer`)
      const code = /json-only|content-encoding/.test(d.verdict.rule) ? 'HEDGE_CONTENT_TYPE' : 'HEDGE_BODY_INVALID'
      t.equal(d.verdict.code, code, `${what}: code`)
    }
    t.equal(d.forward?.bytes.toString('utf8'), bytes, `${what}: bytes forwarded`)
    t.equal(d.forward?.header, header, `${what}: content-type forwarded`)
  }
})

t.test('decideBody names the JSON fault in the message', async t => {
  t.match(decideBody(E, facts('{"a":1,"a":2}')).verdict?.message, /duplicate-key/)
})
