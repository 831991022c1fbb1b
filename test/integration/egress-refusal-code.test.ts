// Issue 9: the egress guard's refusals carry the registry code HEDGE_EGRESS_DENIED (header
// and page), for plain proxy requests and CONNECT tunnels. Every destination below is refused
// before any connection is made (loopback literal, metadata literal, a name that "resolves"
// to a private address through the injected resolver): no traffic leaves loopback.
import t from 'tap'
import { compilePolicy } from '../../src/policy/compile.ts'
import { startEgressGuard } from '../../src/egress/guard.ts'
import { silentLogger } from '../../src/logger.ts'
import { captureLogs, testPolicy } from '../helpers/gateway.ts'
import { connect, createServer, type AddressInfo } from 'node:net'

function exchange (port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => { s.write(raw) })
    let data = ''
    s.on('data', c => { data += String(c) })
    s.on('end', () => { resolve(data) })
    s.on('error', reject)
  })
}

t.test('refusals name HEDGE_EGRESS_DENIED', async t => {
  const guard = await startEgressGuard({
    compiled: compilePolicy(testPolicy('hedged')), host: '127.0.0.1', port: 0, logger: silentLogger,
    resolve: async host => { if (host === 'intranet.test') return ['10.0.0.5']; throw new Error('no DNS in tests') },
  })
  t.teardown(() => guard.close())
  for (const raw of [
    'GET http://127.0.0.1:9/ HTTP/1.1\r\nHost: 127.0.0.1:9\r\nConnection: close\r\n\r\n',
    'GET http://intranet.test/ HTTP/1.1\r\nHost: intranet.test\r\nConnection: close\r\n\r\n',
    'CONNECT 169.254.169.254:443 HTTP/1.1\r\nHost: 169.254.169.254:443\r\n\r\n',
    'CONNECT intranet.test:443 HTTP/1.1\r\nHost: intranet.test:443\r\n\r\n',
  ]) {
    const out = await exchange(guard.port, raw)
    const line = raw.split('\r\n')[0] as string
    t.match(out, /^HTTP\/1\.1 403 /, `${line}: 403`)
    t.match(out, /\r\nx-hedge-code: HEDGE_EGRESS_DENIED\r\n/i, `${line}: code in a header`)
    t.match(out, /<code>HEDGE_EGRESS_DENIED<\/code>/, `${line}: code in the page`)
    t.match(out, /\r\nx-hedge-deny: egress\./i, `${line}: the rule in a header`)
  }
  const bad = await exchange(guard.port, 'GET /not-a-proxy-request HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.match(bad, /^HTTP\/1\.1 400 [^]*x-hedge-code: HEDGE_BAD_REQUEST/i, 'not a proxy request: HEDGE_BAD_REQUEST')
})

t.test('one decision vocabulary: deny and would-deny lines name the front, rule and code', async t => {
  const closed = await new Promise<number>(resolve => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as AddressInfo).port
      srv.close(() => { resolve(p) })
    })
  })
  for (const [mode, status, event] of [['enforce', 403, 'deny'], ['report-only', 502, 'would-deny']] as const) {
    const logs = captureLogs()
    const guard = await startEgressGuard({
      compiled: compilePolicy(testPolicy('hedged', { layers: { egress: mode } })), host: '127.0.0.1', port: 0, logger: logs.logger,
    })
    t.teardown(() => guard.close())
    const dest = `127.0.0.1:${closed}`
    const out = await exchange(guard.port, `GET http://${dest}/ HTTP/1.1\r\nHost: ${dest}\r\nConnection: close\r\n\r\n`)
    // report-only: the refusal is only logged and the connection is tried (a closed loopback port: 502)
    t.match(out, new RegExp(`^HTTP/1\\.1 ${status} `), `${mode}: ${status}`)
    const line = logs.lines.find(l => l.event === event)
    const want = { front: 'egress', layer: 'egress', code: 'HEDGE_EGRESS_DENIED', rule: /^egress\./, host: '127.0.0.1', port: closed }
    t.match(line, want, `${mode}: ${event} line`)
    t.notOk(logs.lines.some(l => l.event === (mode === 'enforce' ? 'would-deny' : 'deny')), `${mode}: one kind of line`)
  }
})
