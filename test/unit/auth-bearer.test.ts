// Authorization header parsing: one header, scheme Bearer, one space, a compact JWS.
import t from 'tap'
import { parseBearer, MAX_AUTHORIZATION_LENGTH } from '../../src/auth/bearer.ts'

const JWS = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl'

t.test('accepted shapes', async t => {
  const rows: Array<[string, string | string[]]> = [
    ['canonical', `Bearer ${JWS}`],
    ['scheme lower case', `bearer ${JWS}`],
    ['scheme upper case', `BEARER ${JWS}`],
    ['scheme mixed case', `bEaReR ${JWS}`],
    ['one-element array (headersDistinct)', [`Bearer ${JWS}`]],
    ['underscores and dashes', 'Bearer a-_b.c_-d.e-f_'],
  ]
  for (const [name, h] of rows) {
    const r = parseBearer(h)
    t.ok(r.ok, name)
    if (r.ok) t.equal(r.token, (Array.isArray(h) ? h[0] ?? '' : h).slice(7), `${name}: token`)
  }
  const atLimit = `Bearer a.b.${'c'.repeat(MAX_AUTHORIZATION_LENGTH - 'Bearer a.b.'.length)}`
  t.equal(atLimit.length, MAX_AUTHORIZATION_LENGTH)
  t.ok(parseBearer(atLimit).ok, 'near miss: exactly at the length limit')
})

t.test('missing', async t => {
  for (const [name, h] of [['undefined', undefined], ['empty array', []]] as const) {
    t.same(parseBearer(h as string[] | undefined), { ok: false, code: 'HEDGE_AUTH_MISSING', reason: 'no Authorization header' }, name)
  }
})

t.test('invalid', async t => {
  const rows: Array<[string, string | string[] | undefined, RegExp]> = [
    ['two headers', [`Bearer ${JWS}`, `Bearer ${JWS}`], /more than one/],
    ['two headers, one empty', [`Bearer ${JWS}`, ''], /more than one/],
    ['empty value', '', /empty/],
    ['Basic scheme', 'Basic dXNlcjpwYXNz', /not Bearer/],
    ['Token scheme', `Token ${JWS}`, /not Bearer/],
    ['Bearer without space', `Bearer${JWS}`, /not Bearer/],
    ['BearerX scheme', `BearerX ${JWS}`, /not Bearer/],
    ['scheme only', 'Bearer', /compact JWS/],
    ['scheme and space only', 'Bearer ', /compact JWS/],
    ['two spaces', `Bearer  ${JWS}`, /compact JWS/],
    ['tab separator', `Bearer\t${JWS}`, /compact JWS/],
    ['leading space', ` Bearer ${JWS}`, /not Bearer/],
    ['trailing space', `Bearer ${JWS} `, /compact JWS/],
    ['trailing newline', `Bearer ${JWS}\n`, /compact JWS/],
    ['two tokens', `Bearer ${JWS} ${JWS}`, /compact JWS/],
    ['comma list', `Bearer ${JWS}, Basic x`, /compact JWS/],
    ['two segments', 'Bearer a.b', /compact JWS/],
    ['four segments', 'Bearer a.b.c.d', /compact JWS/],
    ['JWE (five segments)', 'Bearer a.b.c.d.e', /JWE/],
    ['empty signature (alg none)', 'Bearer a.b.', /compact JWS/],
    ['empty header', 'Bearer .b.c', /compact JWS/],
    ['standard base64 +/', 'Bearer a+b.c/d.e', /compact JWS/],
    ['base64 padding', 'Bearer ab==.cd.ef', /compact JWS/],
    ['quoted', `Bearer "${JWS}"`, /compact JWS/],
    ['non-ASCII', 'Bearer á.b.c', /compact JWS/],
    ['token68 with =', 'Bearer abc=', /compact JWS/],
    ['over the length limit', `Bearer a.b.${'c'.repeat(MAX_AUTHORIZATION_LENGTH)}`, /longer than/],
  ]
  for (const [name, h, reason] of rows) {
    const r = parseBearer(h)
    t.equal(r.ok, false, name)
    if (!r.ok) {
      t.equal(r.code, 'HEDGE_AUTH_INVALID', `${name}: code`)
      t.match(r.reason, reason, `${name}: reason`)
    }
  }
  // @ts-expect-error a non-string slipped through by a caller
  t.match(parseBearer([42]), { ok: false, code: 'HEDGE_AUTH_INVALID' }, 'non-string element')
})

t.test('the reason never echoes the token', async t => {
  const secretish = 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'
  const r = parseBearer(secretish)
  t.equal(r.ok, false)
  if (!r.ok) t.notMatch(r.reason, /eyJ/)
})
