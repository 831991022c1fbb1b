import t from 'tap'
import { parseStrictJson, StrictJsonError } from '../../src/json/strict.ts'
import { CdpCommandError, parseCdpCommand, serialiseCdpCommand, type CdpCommand } from '../../src/cdp/protocol.ts'

function reasonOf (f: () => unknown): string {
  try { f(); return 'ok' } catch (err) {
    if (err instanceof StrictJsonError || err instanceof CdpCommandError) return err.reason
    throw err
  }
}

const VALID = [
  '{}', '[]', '0', '-0', '-1.5E-7', '"x"', 'true', 'false', 'null', ' \t\r\n{ "a" : 1 } ',
  '{"a":1,"b":2}', '{"a":{"a":1},"b":{"a":1}}', // same key in different objects
  '[{"a":1},{"a":2}]', '{"a":[1,{"a":[{"a":1}]}]}',
  '{"a:b":1,"a":2}', '{"x":"a:b:c","y":":"}', '{"x":"{[{[","y":"]}"}', // ':' and brackets inside strings
  '{"a\\"b":1,"a\\\\":2,"a":3}', '{"\\\\":1,"\\\\\\\\":2}', '{"x":"\\\\"}', '{"x":"\\"","y":"\\\\\\""}',
  '{"a":1,"A":2}', '{"1":1,"01":2,"1.0":3}', '{"":1,"\\u0000":2}',
  '"\\ud800\\udc00"', '"\ud83d\ude00"', '{"\\ud83d\\ude00":1,"\ud83d\ude01":2}', '"\\uD83D\\uDE00"',
  '{"constructor":1,"prototype":2,"toString":3,"__proto":4,"__proto__x":5}',
  '{"id":12,"method":"Runtime.callFunctionOn","params":{"functionDeclaration":"() => 1","executionContextId":3,"arguments":[{"value":1}],"returnByValue":true,"awaitPromise":true},"sessionId":"ABCDEF0123456789ABCDEF0123456789"}',
]

t.test('valid JSON parses exactly as JSON.parse does', async t => {
  for (const s of VALID) t.same(parseStrictJson(s), JSON.parse(s), s)
})

t.test('syntax errors (JSON.parse is the judge)', async t => {
  for (const s of [
    '', ' ', '{', '}', '{"a":1,}', '[1,]', "{'a':1}", '{a:1}', '{"a" 1}', '{"a":1 "b":2}', 'NaN', 'Infinity', '01', '1.', '.5', '+1',
    '"\\x41"', '"\\u12"', '"a\nb"', '"\u0000"', '/*c*/{}', '{}//', '\ufeff{}', 'undefined', '{"a":1}{"b":2}', '"unterminated', '{"a":"\\"}',
    '{"a\\":1}', 'tru', '[1 2]', '{"a":1,,"b":2}', '\u00a0{}',
  ]) t.equal(reasonOf(() => parseStrictJson(s)), 'syntax', JSON.stringify(s))
})

t.test('duplicate keys at any depth, after escape decoding', async t => {
  for (const s of [
    '{"a":1,"a":2}', '{"a":1,"a":1}', '{"method":"A.b","\\u006dethod":"C.d"}', '{"\\u006d\\u0065thod":1,"method":2}',
    '{"a":1,"\\u0061":2}', '{"/":1,"\\/":2}', '{"\\n":1,"\\u000a":2}', '{"\\"":1,"\\u0022":2}', '{"\\\\":1,"\\u005c":2}',
    '{"x":{"a":1,"a":2}}', '{"x":[{"a":1,"a":2}]}', '[[[{"b":{"c":{"d":1,"d":2}}}]]]', '{"a":{},"a":[]}', '{"a":1,"b":2,"c":3,"a":4}',
    '{"params":{"url":"about:blank","url":"file:///etc/passwd"}}', '{"":1,"":2}', '{"\\ud83d\\ude00":1,"\ud83d\ude00":2}',
    '{"id":1,"id":2,"method":"A.b"}', '{"a":{"x":1},"b":{"y":1,"y":1}}',
  ]) t.equal(reasonOf(() => parseStrictJson(s)), 'duplicate-key', s)
})

t.test('nesting depth', async t => {
  const nest = (n: number, open = '[', close = ']'): string => open.repeat(n) + close.repeat(n)
  const objs = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n)
  t.equal(reasonOf(() => parseStrictJson(nest(32))), 'ok', 'default allows 32')
  t.equal(reasonOf(() => parseStrictJson(nest(33))), 'depth', 'default refuses 33')
  t.equal(reasonOf(() => parseStrictJson(objs(32))), 'ok')
  t.equal(reasonOf(() => parseStrictJson(objs(33))), 'depth')
  t.equal(reasonOf(() => parseStrictJson(nest(3), { maxDepth: 3 })), 'ok')
  t.equal(reasonOf(() => parseStrictJson(nest(4), { maxDepth: 3 })), 'depth')
  t.equal(reasonOf(() => parseStrictJson('[[1],[2],[[3]]]', { maxDepth: 3 })), 'ok', 'depth, not count, of containers')
  t.equal(reasonOf(() => parseStrictJson('1', { maxDepth: 0 })), 'ok')
  t.equal(reasonOf(() => parseStrictJson('[]', { maxDepth: 0 })), 'depth')
  t.equal(reasonOf(() => parseStrictJson('{"x":"[[[[[[[[[[[["}', { maxDepth: 1 })), 'ok', 'brackets inside strings do not count')
  t.equal(reasonOf(() => parseStrictJson(nest(100_000))), 'depth', 'a deep bomb is refused before JSON.parse recurses')
})

t.test('lone surrogates, escaped or raw, in values and keys', async t => {
  for (const s of [
    '"\\ud800"', '"\\uDBFF"', '"\\udc00"', '"\\uDFFF"', '"\\udc00\\ud800"', '"\\ud800x"', '"\\ud800\\u0041"', '"\\ud800\\ud800"',
    '"a\\ud83d"', '{"\\ud800":1}', '{"a":["\\udfff"]}', '["ok","\\ud800"]', '"\ud800"', '"\udc00"', '{"\ud800":1}', '"\ude00\ud83d"',
  ]) t.equal(reasonOf(() => parseStrictJson(s)), 'lone-surrogate', JSON.stringify(s))
  t.equal(reasonOf(() => parseStrictJson('"\\\\ud800"')), 'ok', 'an escaped backslash followed by "ud800" is plain text')
})

t.test('__proto__ keys are refused, prototypes stay clean', async t => {
  for (const s of ['{"__proto__":{"polluted":1}}', '{"a":{"__proto__":null}}', '[{"__proto__":[]}]', '{"\\u005f_proto__":{}}', '{"__proto\\u005f_":1}', '{"__\\u0070roto__":1}'])
    t.equal(reasonOf(() => parseStrictJson(s)), 'proto-key', s)
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})

t.test('not a string', async t => {
  t.equal(reasonOf(() => parseStrictJson(undefined as unknown as string)), 'not-string')
  t.equal(reasonOf(() => parseStrictJson(Buffer.from('{}') as unknown as string)), 'not-string')
})

t.test('StrictJsonError shape', async t => {
  try { parseStrictJson('{"a":1,"a":2}') } catch (err) {
    t.ok(err instanceof StrictJsonError)
    t.ok(err instanceof Error)
    t.equal((err as StrictJsonError).name, 'StrictJsonError')
    t.equal((err as StrictJsonError).reason, 'duplicate-key')
  }
})

// ---------------------------------------------------------------------------
const SID = 'ABCDEF0123456789ABCDEF0123456789'

t.test('parseCdpCommand: accepts what Chromium accepts', async t => {
  t.same(parseCdpCommand('{"id":1,"method":"Browser.getVersion"}'), { id: 1, method: 'Browser.getVersion', params: undefined, sessionId: undefined })
  t.same(parseCdpCommand(`{"sessionId":"${SID}","params":{"url":"https://example.com"},"method":"Page.navigate","id":7}`),
    { id: 7, method: 'Page.navigate', params: { url: 'https://example.com' }, sessionId: SID })
  t.same(parseCdpCommand('{"id":0,"method":"A.b","params":{}}').params, {})
  t.equal(parseCdpCommand('{"id":2147483647,"method":"A.b"}').id, 2147483647)
  t.equal(parseCdpCommand('{"id":-2147483648,"method":"A.b"}').id, -2147483648)
  t.equal(parseCdpCommand('{"id":1.0,"method":"A.b"}').id, 1)
  t.equal(parseCdpCommand('{"id":1,"method":"Page.navigat\\u0065"}').method, 'Page.navigate', 'escapes decode before the check')
  t.equal(parseCdpCommand('{"id":1,"method":"Target.setAutoAttach2"}').method, 'Target.setAutoAttach2')
  t.equal(parseCdpCommand(`{"id":1,"method":"A.b","sessionId":"${'a'.repeat(64)}"}`).sessionId, 'a'.repeat(64))
})

t.test('parseCdpCommand: refuses everything else with a stable reason', async t => {
  const table: Array<[string, string]> = [
    ['[{"id":1,"method":"A.b"}]', 'not-object'], ['"A.b"', 'not-object'], ['null', 'not-object'], ['1', 'not-object'],
    ['{"id":1,"method":"A.b","extra":1}', 'unknown-key'], ['{"id":1,"method":"A.b","Params":{}}', 'unknown-key'],
    ['{"id":1,"method":"A.b","session_id":"x"}', 'unknown-key'], ['{"id":1,"method":"A.b","__proto__":{}}', 'proto-key'],
    ['{"id":1,"method":"A.b","method":"Runtime.evaluate"}', 'duplicate-key'], ['{"id":1,"method":"A.b","\\u006dethod":"C.d"}', 'duplicate-key'],
    ['{"id":1,"method":"A.b","params":{"x":1,"x":2}}', 'duplicate-key'],
    ['{"method":"A.b"}', 'bad-id'], ['{"id":"1","method":"A.b"}', 'bad-id'], ['{"id":1.5,"method":"A.b"}', 'bad-id'],
    ['{"id":2147483648,"method":"A.b"}', 'bad-id'], ['{"id":-2147483649,"method":"A.b"}', 'bad-id'], ['{"id":null,"method":"A.b"}', 'bad-id'],
    ['{"id":1e400,"method":"A.b"}', 'number-range'], ['{"id":[1],"method":"A.b"}', 'bad-id'], ['{"id":true,"method":"A.b"}', 'bad-id'],
    ['{"id":1}', 'bad-method'], ['{"id":1,"method":""}', 'bad-method'], ['{"id":1,"method":"Page"}', 'bad-method'],
    ['{"id":1,"method":"Page."}', 'bad-method'], ['{"id":1,"method":".navigate"}', 'bad-method'], ['{"id":1,"method":"Page.navigate.x"}', 'bad-method'],
    ['{"id":1,"method":"Page navigate"}', 'bad-method'], ['{"id":1,"method":"Page.navigate "}', 'bad-method'], ['{"id":1,"method":"Pag\\u00e9.navigate"}', 'bad-method'],
    ['{"id":1,"method":"Page.navigate\\u0000"}', 'bad-method'], ['{"id":1,"method":"1Page.navigate"}', 'bad-method'], ['{"id":1,"method":"Page._x"}', 'bad-method'],
    ['{"id":1,"method":"Page.navigate\\n"}', 'bad-method'], ['{"id":1,"method":1}', 'bad-method'], ['{"id":1,"method":["A.b"]}', 'bad-method'],
    [`{"id":1,"method":"A.${'b'.repeat(200)}"}`, 'bad-method'],
    ['{"id":1,"method":"A.b","params":[]}', 'bad-params'], ['{"id":1,"method":"A.b","params":null}', 'bad-params'],
    ['{"id":1,"method":"A.b","params":"x"}', 'bad-params'], ['{"id":1,"method":"A.b","params":1}', 'bad-params'],
    ['{"id":1,"method":"A.b","sessionId":""}', 'bad-session-id'], ['{"id":1,"method":"A.b","sessionId":null}', 'bad-session-id'],
    ['{"id":1,"method":"A.b","sessionId":1}', 'bad-session-id'], ['{"id":1,"method":"A.b","sessionId":"AB-CD"}', 'bad-session-id'],
    [`{"id":1,"method":"A.b","sessionId":"${'a'.repeat(65)}"}`, 'bad-session-id'], ['{"id":1,"method":"A.b","sessionId":"AB CD"}', 'bad-session-id'],
    ['{"id":1,"method":"A.b","sessionId":{}}', 'bad-session-id'],
    ['{"id":1,"method":"A.b",}', 'syntax'], ['', 'syntax'],
  ]
  for (const [text, reason] of table) t.equal(reasonOf(() => parseCdpCommand(text)), reason, text)
})

t.test('parseCdpCommand: errors carry id and sessionId when valid, for the CDP error reply', async t => {
  const get = (text: string): CdpCommandError => {
    try { parseCdpCommand(text) } catch (err) { return err as CdpCommandError }
    throw new Error('no error')
  }
  const a = get(`{"id":5,"method":"Not a method","sessionId":"${SID}"}`)
  t.equal(a.id, 5)
  t.equal(a.sessionId, SID)
  const b = get('{"id":"5","method":"A.b"}')
  t.equal(b.id, undefined)
  const c = get('{"id":6,"method":"A.b","sessionId":"bad id"}')
  t.equal(c.id, 6)
  t.equal(c.sessionId, undefined)
  const d = get('{"id":7,"method":"A.b","x":1}')
  t.equal(d.reason, 'unknown-key')
  t.equal(d.id, 7)
})

t.test('parseCdpCommand: maxDepth passes through', async t => {
  t.equal(reasonOf(() => parseCdpCommand('{"id":1,"method":"A.b","params":{"a":{"b":1}}}', { maxDepth: 2 })), 'depth')
  t.equal(reasonOf(() => parseCdpCommand('{"id":1,"method":"A.b","params":{"a":1}}', { maxDepth: 2 })), 'ok')
})

t.test('serialiseCdpCommand: only the four fields, fixed order', async t => {
  t.equal(serialiseCdpCommand({ id: 1, method: 'Browser.getVersion', params: undefined, sessionId: undefined }), '{"id":1,"method":"Browser.getVersion"}')
  t.equal(serialiseCdpCommand({ sessionId: SID, params: { url: 'x' }, method: 'Page.navigate', id: 3 }),
    `{"id":3,"method":"Page.navigate","params":{"url":"x"},"sessionId":"${SID}"}`)
  const extra = { id: 1, method: 'A.b', params: undefined, sessionId: undefined, evil: 1 } as CdpCommand
  t.equal(serialiseCdpCommand(extra), '{"id":1,"method":"A.b"}', 'extra properties never travel')
  t.equal(serialiseCdpCommand({ id: 1, method: 'A.b', params: { s: '\ud800' }, sessionId: undefined }), '{"id":1,"method":"A.b","params":{"s":"\\ud800"}}',
    'JSON.stringify escapes lone surrogates')
})

t.test('serialiseCdpCommand: round trip through the parser, last-wins bytes never forwarded', async t => {
  const inputs = [
    `{"sessionId":"${SID}","id":9,"params":{"expression":"1+1","returnByValue":true},"method":"Runtime.evaluate"}`,
    ' {"id" : 1 , "method" : "Page.navigat\\u0065" , "params" : { "url" : "https:\\/\\/example.com" } } ',
  ]
  for (const text of inputs) {
    const cmd = parseCdpCommand(text)
    const out = serialiseCdpCommand(cmd)
    t.same(parseCdpCommand(out), cmd, out)
    t.equal(serialiseCdpCommand(parseCdpCommand(out)), out, 'stable')
  }
  t.equal(serialiseCdpCommand(parseCdpCommand(' {"id" : 1 , "method" : "Page.navigat\\u0065" , "params" : { "url" : "https:\\/\\/example.com" } } ')),
    '{"id":1,"method":"Page.navigate","params":{"url":"https://example.com"}}')
})

t.test('serialiseCdpCommand: validates what a filter may have built', async t => {
  const base: CdpCommand = { id: 1, method: 'A.b', params: undefined, sessionId: undefined }
  const table: Array<[CdpCommand, string]> = [
    [{ ...base, id: 1.5 }, 'bad-id'], [{ ...base, id: 2 ** 31 }, 'bad-id'], [{ ...base, id: NaN }, 'bad-id'], [{ ...base, id: '1' as unknown as number }, 'bad-id'],
    [{ ...base, method: 'A.b","x":"y' }, 'bad-method'], [{ ...base, method: '' }, 'bad-method'],
    [{ ...base, sessionId: 'x"' }, 'bad-session-id'], [{ ...base, sessionId: '' }, 'bad-session-id'],
    [{ ...base, params: [] as unknown as Record<string, unknown> }, 'bad-params'], [{ ...base, params: null as unknown as Record<string, unknown> }, 'bad-params'],
  ]
  for (const [cmd, reason] of table) t.equal(reasonOf(() => serialiseCdpCommand(cmd)), reason, JSON.stringify(cmd))
})

t.test('numbers that overflow a double are refused (they would be forwarded as null)', async t => {
  for (const text of ['{"a":1e400}', '{"a":-1e400}', '[1e999]', '1e400', '{"a":{"b":[' + '9'.repeat(400) + ']}}']) {
    t.equal(reasonOf(() => parseStrictJson(text)), 'number-range', text.slice(0, 30))
  }
  for (const text of ['{"a":1e300}', '{"a":1.5e-400}', '{"a":"1e400"}', '{"id":1,"method":"A.b","params":{"x":123456789012}}']) {
    t.doesNotThrow(() => parseStrictJson(text), `near miss: ${text}`)
  }
})

t.test('a maxDepth that would disable the limit is refused', async t => {
  for (const bad of [NaN, -1, 1.5, Infinity]) t.throws(() => parseStrictJson('[]', { maxDepth: bad }), TypeError, String(bad))
})
