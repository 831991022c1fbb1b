import t from 'tap'
import { canonicalisePath, type PathRejectReason } from '../../src/layers/canonical-path.ts'

const ACCEPT: Array<[string, string, string]> = [
  // [raw target, path, query]
  ['/', '/', ''],
  ['/health', '/health', ''],
  ['/health/', '/health/', ''], // not stripped: will not match the route '/health'
  ['/kernel/status', '/kernel/status', ''],
  ['/kernel/3f2a-11ee_b~x', '/kernel/3f2a-11ee_b~x', ''],
  ['/kernel/a.b', '/kernel/a.b', ''],
  ['/kernel/.hidden', '/kernel/.hidden', ''],
  ['/kernel/a..b', '/kernel/a..b', ''],
  ['/kernel/x.', '/kernel/x.', ''],
  ["/kernel/!$&'()*+,=:@", "/kernel/!$&'()*+,=:@", ''],
  ['/kernel/a%20b', '/kernel/a%20b', ''],
  ['/kernel/a%3Fb%23c', '/kernel/a%3Fb%23c', ''],
  ['/kernel/a%3fb', '/kernel/a%3fb', ''],
  ['/kernel/%22%3C%3E%7B%7D%7C%5E%60%5B%5D', '/kernel/%22%3C%3E%7B%7D%7C%5E%60%5B%5D', ''],
  ['/?', '/', ''],
  ['/health?', '/health', ''],
  ['/kernel/exec?timeout=5&x=%00%2f..', '/kernel/exec', 'timeout=5&x=%00%2f..'],
  ['/kernel?a=b?c=/d', '/kernel', 'a=b?c=/d'],
  ['/kernel/?a', '/kernel/', 'a'],
  ['/a?%zz', '/a', '%zz'], // the query is not interpreted here
  ['/kernel/x?a%', '/kernel/x', 'a%'],
]

const REJECT: Array<[string, PathRejectReason]> = [
  ['', 'empty'],
  ['*', 'asterisk-form'],
  ['http://127.0.0.1:8888/kernel/x', 'absolute-form'],
  ['HTTP://evil/', 'absolute-form'],
  ['localhost:8888', 'not-origin-form'],
  ['kernel/x', 'not-origin-form'],
  [' /health', 'not-origin-form'],
  ['\\kernel', 'not-origin-form'],
  ['?a=b', 'not-origin-form'],
  ['//kernel', 'empty-segment'],
  ['//evil.example/kernel', 'empty-segment'],
  ['/kernel//x', 'empty-segment'],
  ['/kernel/x//', 'empty-segment'],
  ['/.', 'dot-segment'],
  ['/..', 'dot-segment'],
  ['/./health', 'dot-segment'],
  ['/kernel/../health', 'dot-segment'],
  ['/health/..', 'dot-segment'],
  ['/health/.', 'dot-segment'],
  ['/kernel/...', 'dot-segment'],
  ['/kernel/..?x', 'dot-segment'],
  ['/health/%2e%2e/kernel', 'encoded-dot'],
  ['/%2e', 'encoded-dot'],
  ['/.%2e/kernel', 'encoded-dot'],
  ['/%2e./kernel', 'encoded-dot'],
  ['/%2E%2E/kernel', 'encoded-dot'],
  ['/kernel/a%2eb', 'encoded-dot'],
  ['/kernel%2freset', 'encoded-slash'],
  ['/kernel%2Freset', 'encoded-slash'],
  ['/kernel\\reset', 'backslash'],
  ['/kernel%5creset', 'backslash'],
  ['/kernel%5Creset', 'backslash'],
  ['/kernel%252freset', 'double-encoding'],
  ['/%25', 'double-encoding'],
  ['/%6bernel/reset', 'encoded-unreserved'],
  ['/kernel/%72eset', 'encoded-unreserved'],
  ['/kernel/a%41', 'encoded-unreserved'],
  ['/kernel/%30', 'encoded-unreserved'],
  ['/kernel/%2D', 'encoded-unreserved'],
  ['/kernel/%5f', 'encoded-unreserved'],
  ['/kernel/%7E', 'encoded-unreserved'],
  ['/kernel%00', 'encoded-control'],
  ['/kernel%0a', 'encoded-control'],
  ['/kernel%0D%0AX-Injected:1', 'encoded-control'],
  ['/kernel%09', 'encoded-control'],
  ['/kernel%1f', 'encoded-control'],
  ['/kernel%7f', 'encoded-control'],
  ['/kernel%c0%af', 'encoded-non-ascii'],
  ['/kernel%80', 'encoded-non-ascii'],
  ['/kernel%ff', 'encoded-non-ascii'],
  ['/kernel%3breset', 'encoded-semicolon'],
  ['/kernel%', 'bad-percent-encoding'],
  ['/kernel%2', 'bad-percent-encoding'],
  ['/kernel%g0', 'bad-percent-encoding'],
  ['/kernel%0g', 'bad-percent-encoding'],
  ['/kernel%%30', 'bad-percent-encoding'],
  ['/kernel% 2f', 'bad-percent-encoding'],
  ['/kernel;jsessionid=1', 'path-parameter'],
  ['/kernel/reset;', 'path-parameter'],
  ['/health#frag', 'fragment'],
  ['/health?x#frag', 'fragment'],
  ['/#', 'fragment'],
  ['/kernel\u0000', 'control-char'],
  ['/kernel\n', 'control-char'],
  ['/kernel\r\nHost: evil', 'control-char'],
  ['/kernel\t', 'control-char'],
  ['/kernel\u007f', 'control-char'],
  ['/health?a=\u0000', 'control-char'],
  ['/health?a=\n', 'control-char'],
  ['/health?a=\\', 'backslash'],
  ['/kern\u00e9l', 'non-ascii'],
  ['/kernel\u2025', 'non-ascii'],
  ['/kernel\uff0f', 'non-ascii'],
  ['/health?\u00e9', 'non-ascii'],
  ['/kernel x', 'invalid-char'],
  ['/health?a b', 'invalid-char'],
  ['/kernel"', 'invalid-char'],
  ['/kernel<', 'invalid-char'],
  ['/kernel{}', 'invalid-char'],
  ['/kernel|', 'invalid-char'],
  ['/kernel^', 'invalid-char'],
  ['/kernel`', 'invalid-char'],
  ['/kernel[0]', 'invalid-char'],
  ['/' + 'a'.repeat(9000), 'too-long'],
]

t.test('accepts canonical origin-form targets unchanged', async t => {
  for (const [raw, path, query] of ACCEPT) t.same(canonicalisePath(raw), { ok: true, path, query }, JSON.stringify(raw))
})

t.test('rejects every non-canonical form with a stable reason', async t => {
  for (const [raw, reason] of REJECT) {
    t.same(canonicalisePath(raw), { ok: false, reason }, JSON.stringify(raw))
  }
})

t.test('accepted paths re-join to the input: nothing is normalised', async t => {
  for (const [raw] of ACCEPT) {
    const r = canonicalisePath(raw)
    if (!r.ok) { t.fail(raw); continue }
    t.ok(raw === r.path || raw === `${r.path}?${r.query}`, raw)
  }
})

t.test('every byte, raw and percent-encoded, inside a segment', async t => {
  const rawOk = new Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~!$&'()*+,=:@.")
  const unreserved = new Set('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~.')
  for (let b = 0; b < 256; b++) {
    const ch = String.fromCharCode(b)
    const raw = canonicalisePath(`/kernel/a${ch}b`)
    const rawExpected = rawOk.has(ch) || ch === '/' || ch === '?'
    t.equal(raw.ok, rawExpected, `raw 0x${b.toString(16)}`)
    for (const hex of [b.toString(16).padStart(2, '0'), b.toString(16).padStart(2, '0').toUpperCase()]) {
      const enc = canonicalisePath(`/kernel/a%${hex}b`)
      const encExpected = b >= 0x20 && b < 0x7f && !unreserved.has(ch) && !'/\\%;'.includes(ch)
      t.equal(enc.ok, encExpected, `%${hex}`)
    }
  }
})

t.test('rejections are shared frozen objects (no allocation on the deny path)', async t => {
  const a = canonicalisePath('/a/../b')
  t.equal(a, canonicalisePath('/x/..'))
  t.ok(Object.isFrozen(a))
})

t.test('maxLength option', async t => {
  t.same(canonicalisePath('/health', { maxLength: 6 }), { ok: false, reason: 'too-long' })
  t.same(canonicalisePath('/health', { maxLength: 7 }), { ok: true, path: '/health', query: '' })
  t.equal(canonicalisePath('/' + 'a'.repeat(8191)).ok, true, 'the default admits 8192')
})

t.test('a maxLength that would disable the limit is refused', async t => {
  t.throws(() => canonicalisePath('/', { maxLength: NaN }), TypeError)
  t.throws(() => canonicalisePath('/', { maxLength: -1 }), TypeError)
})
