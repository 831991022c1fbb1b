// A test process killed before its teardown (SIGKILL: no exit hook runs) must not leave a
// kernel server, a read-only mount or append-only files behind for long: the next
// startTestKernel() sweeps what dead test processes left.
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { dead } from '../../src/sandbox/kernel.ts'
import { sweepStaleTestKernels } from '../helpers/kernel.ts'
import { waitUntil } from '../../src/util/wait.ts'

const mounted = async (p: string): Promise<boolean> => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some(l => l.split(' ')[4] === p)

t.test('what a killed test process left is swept', async t => {
  const helper = fileURLToPath(new URL('../helpers/kernel.ts', import.meta.url))
  const script = `const { startTestKernel } = await import(${JSON.stringify(helper)})
const k = await startTestKernel()
console.log(JSON.stringify({ root: k.workspace.root, home: k.server.homeDir, server: k.server.pid, kernel: (await k.status()).pid }))
setInterval(() => {}, 1000)`
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve)
    child.once('exit', code => reject(new Error(`child exited ${code}`)))
  })
  const left = JSON.parse(line) as { root: string, home: string, server: number, kernel: number }
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
  t.notOk(await dead(left.server), 'the server outlived its killed parent')
  if (process.getuid?.() === 0) t.ok(await mounted(join(left.root, 'upload')), 'and so did the mount')

  sweepStaleTestKernels()
  await waitUntil('server and kernel gone', async () => await dead(left.server) && await dead(left.kernel), 30_000)
  t.pass('server and kernel gone')
  t.notOk(await mounted(join(left.root, 'upload')), 'mount gone')
  await t.rejects(stat(left.root), { code: 'ENOENT' }, 'tree gone')
  await t.rejects(stat(left.home), { code: 'ENOENT' }, 'the server\'s temp HOME gone')
})
