// The hand-made frames of the exhaustion attacks: the digit-run frame stays within 4 MiB and
// is valid JSON of the advertised shape; a client frame is a masked, final text frame whose
// payload unmasks to the text (RFC 6455 §5.2), in all three length encodings.
import t from 'tap'
import { clientFrame, digitFrame } from '../../src/compare/attacks/exhaustion.ts'

t.test('digitFrame: ≤ the size asked, valid JSON, runs of 299 digits', async t => {
  const f = digitFrame(4 * 1024 * 1024 - 1024)
  t.ok(f.length <= 4 * 1024 * 1024 - 1024, `${f.length} bytes`)
  t.ok(f.length > 4 * 1024 * 1024 - 2048, 'close to the size asked')
  const o = JSON.parse(f) as { id: number, method: string, params: { x: unknown[] } }
  t.equal(o.method, 'Runtime.evaluate')
  t.ok(o.params.x.length > 10_000)
  t.match(f, /\[9{299},9{299},/)
})

t.test('clientFrame: masked FIN text frame that unmasks to the text', async t => {
  for (const len of [5, 125, 126, 300, 65535, 65536, 70_000]) {
    const text = 'x'.repeat(len)
    const b = clientFrame(text)
    t.equal(b[0], 0x81, `${len}: FIN + text opcode`)
    t.equal((b[1] as number) & 0x80, 0x80, `${len}: masked`)
    const l7 = (b[1] as number) & 0x7f
    const [size, off] = l7 < 126 ? [l7, 2] : l7 === 126 ? [b.readUInt16BE(2), 4] : [Number(b.readBigUInt64BE(2)), 10]
    t.equal(size, len, `${len}: length encoding`)
    const mask = b.subarray(off, off + 4)
    const payload = Buffer.from(b.subarray(off + 4))
    for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number)
    t.equal(payload.toString(), text, `${len}: payload`)
  }
})
