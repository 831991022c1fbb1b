// Regression: with the routes layer off the gateway used to normalise request targets
// (an upstream proxy library resolved dot segments and backslashes), so through the
// "transparent" baseline gateway /kernel/./connection returned the HMAC key while the
// sandbox itself answers 404. Targets must reach the kernel server byte-exact.
import t from 'tap'
import { startTestKernel } from '../helpers/kernel.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { rawSocket } from '../helpers/http.ts'

const kernel = await startTestKernel(t)
const kernelPort = Number(new URL(kernel.url).port)
const gw = await startTestGateway(t, testPolicy('baseline'), { kernel: kernel.url })

const targets = ['/kernel/./connection', '/kernel/%2e/connection', '/kernel\\connection', '/kernel/x/../connection', '/kernel//connection',
  '/kernel%2fconnection', '/%6bernel/connection', '/kernel/connection/', '/./health', '/health?x=/../kernel/connection']
for (const target of targets) {
  t.test(target, async t => {
    const req = (port: number): Promise<{ status: number, text: string }> => rawSocket(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${kernelPort}\r\nConnection: close\r\n\r\n`)
    const direct = await req(kernelPort)
    const via = await req(gw.kernelPort)
    t.equal(via.status, direct.status, `same status as the sandbox (${direct.status})`)
    t.equal(/"key"/.test(via.text), /"key"/.test(direct.text), 'the key leaks through the gateway exactly when it leaks directly')
  })
}
