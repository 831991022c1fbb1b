// The baseline policy is a transparent pass-through: status, body and headers as the
// sandbox sends them (CORS reflection of any Origin included), for the requests the
// comparison's attacks send. Headers that belong to the connection are not compared.
import t from 'tap'
import { startTestKernel } from '../helpers/kernel.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { rawRequest, type RawOptions } from '../helpers/http.ts'

const kernel = await startTestKernel(t)
const gw = await startTestGateway(t, testPolicy('baseline'), { kernel: kernel.url })
const kernelPort = Number(new URL(kernel.url).port)
const HOP = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding'])

const cases: Array<[string, RawOptions]> = [
  ['health', { path: '/health' }],
  ['connection key, no auth', { path: '/kernel/connection' }],
  ['connection key, evil Origin with cookie', { path: '/kernel/connection', headers: [['Origin', 'http://evil.example'], ['Cookie', 'a=b']] }],
  ['preflight from null origin', { method: 'OPTIONS', path: '/kernel/execute', headers: [['Origin', 'null'], ['Access-Control-Request-Method', 'POST'], ['Access-Control-Request-Headers', 'content-type,x-evil']] }],
  ['text/plain execute (422)', { method: 'POST', path: '/kernel/execute', headers: [['Content-Type', 'text/plain']], body: '{"code":"1"}' }],
  ['json execute with duplicate keys', { method: 'POST', path: '/kernel/execute', headers: [['Content-Type', 'application/json'], ['Origin', 'http://evil.example']], body: '{"code":"x=1","code":"print(\'last wins\')"}' }],
  ['unknown path', { path: '/nope' }],
  ['foreign Host', { path: '/kernel/status', headers: [['Host', 'attacker.example']] }],
  ['encoded path', { path: '/kernel%2fstatus' }],
]

for (const [name, opts] of cases) {
  t.test(name, async t => {
    const direct = await rawRequest(kernelPort, opts)
    const via = await rawRequest(gw.kernelPort, opts)
    t.equal(via.status, direct.status, 'status')
    const strip = (h: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(h).filter(([k]) => !HOP.has(k)))
    t.same(strip(via.headers), strip(direct.headers), 'headers')
    // the kernel's answers hold per-call values (pids, timestamps): compare shapes where they differ
    if (name.includes('connection key')) {
      t.type(direct.json.connection_info.key, 'string', 'the sandbox hands out the key')
      t.equal(via.json.connection_info.key, direct.json.connection_info.key, 'the same key leaks through the baseline gateway')
    }
    else if (!name.includes('execute')) t.equal(via.text, direct.text, 'body byte for byte')
    else t.same(via.json?.output, direct.json?.output, 'same execution result')
  })
}
