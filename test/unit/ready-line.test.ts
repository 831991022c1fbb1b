// The ready line: what hedge up builds validates and reads back; what readers refuse, with
// a message naming the field; older lines without `topology` read as the policy's default.
import t from 'tap'
import { parseReadyLine, readyLine, type ReadyLineParts } from '../../src/app/ready-line.ts'

const HEDGED: ReadyLineParts = {
  topology: 'hedged',
  sandbox: { kernel: 'unix:/tmp/hedge-run-abc/kernel.sock', chromium: 'http://127.0.0.1:9222', cdp: null, workspace: '/mnt/okcomputer' },
  gateway: { kernel: 'http://127.0.0.1:18888', cdp: 'http://127.0.0.1:19223', admin: 'http://127.0.0.1:18080', egress: 'http://127.0.0.1:13128' },
  policy: 'hedged', policyFile: '/opt/hedge/policies/hedged.yaml', token: { kernel: 'eyJ.a.b', cdp: 'eyJ.c.d' },
}
const DOCUMENTED: ReadyLineParts = {
  topology: 'documented',
  sandbox: { kernel: 'http://127.0.0.1:8888', chromium: 'http://127.0.0.1:9222', cdp: 'http://127.0.0.1:9223', workspace: '/mnt/okcomputer' },
  gateway: { kernel: 'http://127.0.0.1:18888', cdp: 'http://127.0.0.1:19223', admin: 'http://127.0.0.1:18080' },
  policy: 'baseline', policyFile: '/opt/hedge/policies/baseline.yaml', token: null,
}

t.test('built lines validate and read back', async t => {
  for (const p of [HEDGED, DOCUMENTED]) {
    const line = readyLine(p)
    t.match(line, /^ready \{"topology":"/, 'ready + JSON, topology first')
    t.notMatch(line, /\n/, 'one line')
    const back = parseReadyLine(`some log line\n${line}\nmore`)
    t.same(back, { ...p, gateway: p.gateway }, p.topology)
  }
})

t.test('hedge up never prints an invalid line', async t => {
  t.throws(() => readyLine({ ...HEDGED, gateway: { kernel: 'http://127.0.0.1:1', admin: 'http://127.0.0.1:2' } }), { name: 'ReadyLineError', message: /\/gateway\/cdp: is required/ })
  t.throws(() => readyLine({ ...HEDGED, sandbox: { ...HEDGED.sandbox, kernel: 'unix:' } }), { message: /\/sandbox\/kernel/ })
})

// [line, the message must match]
const BAD: Array<[string, RegExp]> = [
  ['ready {', /does not parse/],
  ['nothing here', /does not parse/],
  ['ready []', /\/: must be object/],
  ['ready {"sandbox":{"kernel":"unix:/k.sock","chromium":"http://127.0.0.1:9222","cdp":null},"token":null}', /\/sandbox\/workspace: is required/],
  ['ready {"sandbox":{"kernel":"ftp://x","chromium":"http://127.0.0.1:9222","cdp":null,"workspace":"/w"},"token":null}', /\/sandbox\/kernel: must match/],
  ['ready {"sandbox":{"kernel":"unix:/k.sock","chromium":"http://127.0.0.1:9222","cdp":null,"workspace":"/w"},"token":"x"}', /\/token: must be/],
  ['ready {"topology":"sideways","sandbox":{"kernel":"unix:/k.sock","chromium":"http://127.0.0.1:9222","cdp":null,"workspace":"/w"},"token":null}',
    /\/topology: must be equal to constant/],
  ['ready {"sandbox":{"kernel":"unix:/k.sock","chromium":"http://127.0.0.1:9222/json","cdp":null,"workspace":"/w"},"token":null}', /\/sandbox\/chromium/],
]

t.test('readers refuse a bad line, naming the field', async t => {
  for (const [line, why] of BAD) t.throws(() => parseReadyLine(line), { name: 'ReadyLineError', message: why }, line.slice(0, 80))
})

t.test('older lines (no topology) read as the policy name\'s default; unknown fields are ignored', async t => {
  const sb = '"sandbox":{"kernel":"unix:/run/hedge/kernel.sock","chromium":"http://127.0.0.1:9222","cdp":null,"workspace":"/mnt/okcomputer"}'
  t.equal(parseReadyLine(`ready {${sb},"policy":"hedged-attach","token":null}`).topology, 'hedged')
  t.equal(parseReadyLine(`ready {${sb},"policy":"baseline","token":null}`).topology, 'documented')
  t.equal(parseReadyLine(`ready {${sb},"token":null}`).topology, 'documented', 'no policy: baseline, as compare --attach assumes')
  t.equal(parseReadyLine(`ready {${sb},"policy":"hedged","token":null,"future":{"x":1}}`).topology, 'hedged')
  const plain = parseReadyLine('ready {"sandbox":{"kernel":"http://127.0.0.1:8888","chromium":"http://127.0.0.1:9222","cdp":"http://127.0.0.1:9223","workspace":"/w"}}')
  t.match(plain, { topology: 'documented', token: null }, 'hedge sandbox\'s line (no token, no policy) reads too')
})
