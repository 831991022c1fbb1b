// Issue 9, item 7: the strict parser must cost a small constant per character on any input.
// A backtracking regular expression (`\d{300}`) over a 4 MiB frame of 299-digit runs took
// ~0.8 s per MiB (JSON.parse of the same text: ~8 ms) and froze every front. Here each
// adversarial input is a few MiB and parseStrictJson is compared with JSON.parse of the same
// text (interleaved, best of a few runs); a linear scan stays within a few times JSON.parse,
// the regression was ~100x. The bound (20x + 50 ms slack) is generous on a loaded machine.
import t from 'tap'
import { parseStrictJson, StrictJsonError } from '../../src/json/strict.ts'

const MiB = 1024 * 1024

function fill (unit: string, bytes: number, open = '[', close = ']', sep = ','): string {
  const n = Math.max(1, Math.floor(bytes / (unit.length + sep.length)))
  return open + Array(n).fill(unit).join(sep) + close
}

function reasonOf (f: () => unknown): string {
  try { f(); return 'ok' } catch (err) {
    if (err instanceof StrictJsonError) return err.reason
    throw err
  }
}

function timeMs (f: () => unknown): number {
  const t0 = process.hrtime.bigint()
  try { f() } catch { /* the outcome is checked separately */ }
  return Number(process.hrtime.bigint() - t0) / 1e6
}

const deepOk = '['.repeat(31) + '1' + ']'.repeat(31) // with the outer array: depth 32, the default limit
const CASES: Array<{ name: string, text: string, reason: string, baseline?: string }> = [
  { name: '299-digit runs (numbers)', text: fill('9'.repeat(299), 4 * MiB), reason: 'ok' },
  { name: '299-digit runs inside strings', text: fill(`"${'9'.repeat(299)}"`, 4 * MiB), reason: 'ok' },
  { name: 'digit runs with exponents', text: fill('1' + '0'.repeat(200) + 'e99', 4 * MiB), reason: 'ok' },
  { name: 'one 4 MiB number', text: '[' + '9'.repeat(4 * MiB) + ']', reason: 'number-range' },
  { name: 'many e-runs', text: fill('1e1', 4 * MiB), reason: 'ok' },
  { name: 'nesting just under the limit, repeated', text: fill(deepOk, 2 * MiB), reason: 'ok' },
  { name: 'nesting over the limit (1M deep)', text: '['.repeat(MiB) + ']'.repeat(MiB), reason: 'depth', baseline: '[' + '0,'.repeat(MiB - 1) + '0]' },
  { name: 'escaped surrogate pairs', text: '"' + '\\ud83d\\ude00'.repeat(MiB / 4) + '"', reason: 'ok' },
  { name: 'raw surrogate pairs', text: '"' + '\ud83d\ude00'.repeat(MiB) + '"', reason: 'ok' },
  { name: 'lone surrogate at the very end', text: '"' + '\\ud83d\\ude00'.repeat(MiB / 4) + '\\ud800"', reason: 'lone-surrogate' },
  { name: 'runs of escaped backslashes', text: '"' + '\\\\'.repeat(2 * MiB) + '"', reason: 'ok' },
  { name: 'escaped quotes after backslash runs', text: '"' + ('\\\\'.repeat(64) + '\\"').repeat(MiB / 66) + '"', reason: 'ok' },
  { name: 'many keys', text: '{' + Array.from({ length: 200_000 }, (_, i) => `"k${i}":${i}`).join(',') + '}', reason: 'ok' },
  { name: 'many small objects', text: fill('{"a":1,"b":[2,{"c":"d"}]}', 4 * MiB), reason: 'ok' },
]

t.test('adversarial inputs: outcome unchanged and cost within a constant of JSON.parse', async t => {
  for (const c of CASES) {
    t.equal(reasonOf(() => parseStrictJson(c.text)), c.reason, `${c.name}: ${c.reason}`)
    const base = c.baseline ?? c.text
    let strict = Infinity
    let native = Infinity
    for (let i = 0; i < 3; i++) { // interleaved, best of three: noise from other processes only adds time
      native = Math.min(native, timeMs(() => JSON.parse(base)))
      strict = Math.min(strict, timeMs(() => parseStrictJson(c.text)))
    }
    t.ok(strict <= 20 * native + 50, `${c.name} (${(c.text.length / MiB).toFixed(1)} MiB): strict ${strict.toFixed(1)} ms vs JSON.parse ${native.toFixed(1)} ms`)
  }
})

t.test('a number with 299 digits and a two-digit exponent overflows too', async t => {
  // 9...9 (299 digits) e99 ≈ 1e398: neither a 3-digit exponent nor a 300-digit run
  t.equal(reasonOf(() => parseStrictJson('[' + '9'.repeat(299) + 'e99]')), 'number-range')
  t.equal(reasonOf(() => parseStrictJson('{"a":-' + '9'.repeat(299) + '.5E+10}')), 'number-range')
  t.equal(reasonOf(() => parseStrictJson('[' + '9'.repeat(299) + 'e9]')), 'ok')
  t.equal(reasonOf(() => parseStrictJson('[0.' + '9'.repeat(400) + ']')), 'ok', 'a long fraction is finite')
})
