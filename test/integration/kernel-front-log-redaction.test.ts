// A gateway handling real traffic with tokens, query-string secrets and the kernel key
// (debug route, redacted) never writes any of them to its log — allowed or denied.
import t from 'tap'
import { startTestKernel } from '../helpers/kernel.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { rawRequest } from '../helpers/http.ts'

const kernel = await startTestKernel(t)
const key: string = (await kernel.request('GET', '/kernel/connection')).body.connection_info.key
for (const mode of ['enforce', 'report-only'] as const) {
  t.test(`layers ${mode}`, async t => {
    const gw = await startTestGateway(t, testPolicy('hedged', { layers: { host: mode, origin: mode, auth: mode, routes: mode, body: mode } }), { kernel: kernel.url })
    const good = await gw.token(['kernel:read', 'kernel:admin'])
    const cdp = await gw.token(['cdp:control'], { audience: 'cdp' })
    await rawRequest(gw.kernelPort, { path: '/kernel/status', headers: [['Authorization', `Bearer ${good}`]] })
    await rawRequest(gw.kernelPort, { path: '/kernel/status', headers: [['Authorization', `Bearer ${cdp}`], ['Origin', 'http://evil.example']] })
    await rawRequest(gw.kernelPort, { path: `/kernel/connection?token=${good}`, headers: [['Authorization', `Bearer ${good}`]] })
    await rawRequest(gw.kernelPort, { path: '/kernel/debug', headers: [['Authorization', `Bearer ${good}`]] })
    await rawRequest(gw.kernelPort, { path: '/kernel/status', headers: [['Authorization', 'Bearer not.a.jwt'], ['Host', 'attacker.example']] })
    const all = gw.logs.raw.join('')
    t.ok(gw.logs.lines.length > 0, 'something was logged')
    t.ok(gw.logs.lines.some(l => l.event === (mode === 'enforce' ? 'deny' : 'would-deny')), 'denials were logged')
    for (const [name, secret] of [['kernel token', good], ['cdp token', cdp], ['kernel key', key], ['signature of a token', good.split('.')[2] as string]] as const) {
      t.notOk(all.includes(secret), `${name} absent from the log`)
    }
  })
}
