// parseUpstream reads exactly two spellings and refuses everything else, with a reason;
// formatUpstream gives back what it read; the probe-target form admin.ts still uses round-trips.
import t from 'tap'
import { formatUpstream, parseProbeTarget, parseUpstream, probeTarget, upstreamRequestOptions } from '../../src/net/upstream.ts'

// [input, what it reads as (formatUpstream of the result)]
const ACCEPTED: Array<[string, string]> = [
  ['http://127.0.0.1:8888', 'http://127.0.0.1:8888'],
  ['http://127.0.0.1:8888/', 'http://127.0.0.1:8888'],
  ['HTTP://LOCALHOST:8888', 'http://localhost:8888'],
  ['http://[::1]:8888', 'http://[::1]:8888'],
  ['http://kernel.internal:80', 'http://kernel.internal'],
  ['http://kernel.internal', 'http://kernel.internal'],
  ['unix:/run/hedge/kernel.sock', 'unix:/run/hedge/kernel.sock'],
  ['unix:/tmp/hedge-run-x1Y2z3/kernel.sock', 'unix:/tmp/hedge-run-x1Y2z3/kernel.sock'],
]

// [input, a word the refusal must contain]
const REFUSED: Array<[string, RegExp]> = [
  ['', /empty/],
  ['unix:', /no socket path/],
  ['unix:kernel.sock', /absolute/],
  ['unix:./kernel.sock', /absolute/],
  ['unix:../run/kernel.sock', /absolute/],
  ['unix://run/kernel.sock', /one slash/],
  ['unix:///run/kernel.sock', /one slash/],
  ['unix:/run/../etc/kernel.sock', /normalised/],
  ['unix:/run/./kernel.sock', /normalised/],
  ['unix:/run//kernel.sock', /normalised/],
  ['unix:/run/hedge/', /directory/],
  ['unix:/run/kernel.sock:/health', /":"/], // the old invented probe form
  ['unix:/run/kernel sock', /whitespace/],
  ['unix:/run/kernel.sock\n', /control/],
  ['unix:/run/kernel\u0000.sock', /control/],
  [`unix:/${'a'.repeat(120)}.sock`, /longer than 107/],
  ['UNIX:/run/kernel.sock', /scheme "UNIX"/],
  ['https://127.0.0.1:8888', /scheme "https"/],
  ['ws://127.0.0.1:9222', /scheme "ws"/],
  ['file:///run/kernel.sock', /scheme "file"/],
  ['http+unix://%2Frun%2Fkernel.sock', /scheme "http\+unix"/],
  ['127.0.0.1:8888', /scheme "127\.0\.0\.1"|no scheme/],
  ['/run/kernel.sock', /no scheme/],
  ['kernel.sock', /no scheme/],
  ['http://user:pass@127.0.0.1:8888', /credentials/],
  ['http://user@127.0.0.1:8888', /credentials/],
  ['http://:pass@127.0.0.1:8888', /credentials/],
  ['http://127.0.0.1:8888/kernel', /no path/],
  ['http://127.0.0.1:8888/?x=1', /no path/],
  ['http://127.0.0.1:8888?', /no path/],
  ['http://127.0.0.1:8888#frag', /no path/],
  ['http://127.0.0.1:99999', /not a URL/],
  ['http://', /no host/],
  ['http:///8888', /no host/], // WHATWG URL would read this as host 8888 = 0.0.34.184
  ['http:\\\\127.0.0.1:8888', /two slashes/],
  ['http:/\\127.0.0.1:8888', /two slashes/],
  ['http://\\127.0.0.1:8888', /no host/],
  [' http://127.0.0.1:8888', /whitespace/],
  ['http://127.0.0.1:8888 ', /whitespace/],
  ['http://127.0.0.1:8888\t', /whitespace/],
]

t.test('accepted spellings, and formatUpstream reads back the same', async t => {
  for (const [input, shown] of ACCEPTED) {
    const u = parseUpstream(input)
    t.equal(formatUpstream(u), shown, input)
    t.same(parseUpstream(formatUpstream(u)), u, `${input}: round trip`)
  }
})

t.test('refused, with the reason and what was expected', async t => {
  for (const [input, why] of REFUSED) {
    t.throws(() => parseUpstream(input), { name: 'UpstreamError', message: why }, JSON.stringify(input))
    t.throws(() => parseUpstream(input), { message: /expected http:\/\/HOST:PORT or unix:\/absolute\/path/ }, `${JSON.stringify(input)}: says what is expected`)
  }
})

t.test('request options: unix socket with Host localhost, TCP host without brackets', async t => {
  t.match(upstreamRequestOptions(parseUpstream('unix:/run/k.sock'), '/health'), { socketPath: '/run/k.sock', path: '/health', headers: { host: 'localhost' } })
  t.match(upstreamRequestOptions(parseUpstream('http://[::1]:8888'), '/health'), { host: '::1', port: 8888, path: '/health' })
  t.match(upstreamRequestOptions(parseUpstream('http://127.0.0.1'), '/x'), { host: '127.0.0.1', port: 80 })
  t.throws(() => upstreamRequestOptions(parseUpstream('http://127.0.0.1:1'), 'health'), /must start with "\/"/)
})

t.test('probe targets (admin.ts readiness) round-trip, and a bad one is refused', async t => {
  for (const [up, path] of [['unix:/run/k.sock', '/health'], ['http://127.0.0.1:8888', '/health'], ['http://127.0.0.1:9222', '/json/version']] as const) {
    const back = parseProbeTarget(probeTarget(parseUpstream(up), path))
    t.equal(formatUpstream(back.upstream), up)
    t.equal(back.path, path)
  }
  t.throws(() => parseProbeTarget('unix:/run/k.sock:/health'))
  t.throws(() => parseProbeTarget('https://127.0.0.1:1/health'))
})
