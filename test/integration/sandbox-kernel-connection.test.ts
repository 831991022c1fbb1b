// GET /kernel/connection hands out the connection file, HMAC key included; with it any
// jupyter_client that can reach the (loopback) ZMQ ports runs code in the kernel, as the agent.
import t from 'tap'
import { execFile } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startTestKernel } from '../helpers/kernel.ts'

const run = promisify(execFile)

// reads the connection info from stdin, executes argv[1], prints the reply status
const CLIENT = `
import json, sys
from jupyter_client import BlockingKernelClient
kc = BlockingKernelClient()
kc.load_connection_info(json.load(sys.stdin))
kc.start_channels()
try:
    kc.wait_for_ready(timeout=float(sys.argv[2]))
    print(kc.execute_interactive(sys.argv[1], timeout=30)['content']['status'])
except RuntimeError as e:
    print('NOT READY', e)
finally:
    kc.stop_channels()
`

async function client (info: unknown, code: string, readyTimeout: number): Promise<string> {
  const child = run('/usr/bin/python3', ['-c', CLIENT, code, String(readyTimeout)], { timeout: 90_000 })
  child.child.stdin?.end(JSON.stringify(info))
  return (await child).stdout.trim()
}

t.test('the connection info', async t => {
  const k = await startTestKernel(t)

  t.test('the leaked key lets a jupyter_client run code', async t => {
    const r = await k.request('GET', '/kernel/connection')
    t.equal(r.status, 200)
    const { connection_file: file, connection_info: info } = r.body
    t.match(info, { ip: '127.0.0.1', transport: 'tcp', signature_scheme: 'hmac-sha256', key: /^[0-9a-f-]{16,}$/ })
    t.same(JSON.parse(await readFile(file, 'utf8')), info, 'exactly the connection file the kernel uses')
    t.same((await k.request('GET', '/kernel/connection-file')).body, { connection_file: file, exists: true })

    const canary = join(k.workspace.output, 'canary.txt')
    const status = await client(info, `_ = open(${JSON.stringify(canary)}, 'w').write('pwned via ZMQ')`, 30)
    t.equal(status, 'ok')
    t.equal(await readFile(canary, 'utf8'), 'pwned via ZMQ', 'the canary file exists')
    if (k.agent !== null) t.equal((await stat(canary)).uid, k.agent.uid, 'written by the kernel, as the agent')
  })

  t.test('without the right key the kernel ignores the client', async t => {
    const { connection_info: info } = (await k.request('GET', '/kernel/connection')).body
    const canary = join(k.workspace.output, 'forged.txt')
    const forged = { ...info, key: 'not-the-key' }
    const out = await client(forged, `_ = open(${JSON.stringify(canary)}, 'w').write('x')`, 5)
    t.match(out, /NOT READY/, 'messages with a bad signature are dropped')
    await t.rejects(stat(canary), { code: 'ENOENT' })
  })
})
