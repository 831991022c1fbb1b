// hedge compare --attach: measure a stack someone else started with hedge up, from the
// ready line it printed. Its policy allows the fixture sites on fixed ports.
import t from 'tap'
import { spawn, execFile, execFileSync } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitUntil } from '../../src/util/wait.ts'
import type { Report } from '../../src/compare/report/model.ts'

const root = new URL('../..', import.meta.url).pathname
const dir = await mkdtemp(join(tmpdir(), 'hedge-attach-'))
await chmod(dir, 0o755)
t.teardown(async () => { try { execFileSync('chattr', ['-R', '-a', join(dir, 'ws', '.store')]) } catch {} await rm(dir, { recursive: true, force: true }) })
const env: NodeJS.ProcessEnv = { ...process.env, HEDGE_LOG_LEVEL: 'warn' }
delete env.NODE_OPTIONS

const up = spawn(process.execPath, [
  'bin/hedge.js', 'up', '--policy', 'test/fixtures/hedged-attach.yaml',
  '--kernel-port', '0', '--cdp-port', '0', '--admin-port', '0', '--egress-port', '0', '--chromium-port', '0',
  '--workspace', join(dir, 'ws'),
], { cwd: root, env, stdio: ['ignore', 'pipe', 'ignore'] })
const upExit = new Promise(resolve => up.on('exit', resolve))
t.teardown(async () => { up.kill('SIGTERM'); await upExit })
let out = ''
up.stdout.on('data', (c: Buffer) => { out += c.toString() })
await waitUntil('hedge up ready', async () => /^ready /m.test(out), 120_000, 100)
const readyFile = join(dir, 'ready.txt')
await writeFile(readyFile, out)

t.test('attacks are stopped and workflows pass on the attached hedged stack', async t => {
  const res = await new Promise<{ code: number, stdout: string }>(resolve => {
    execFile(process.execPath, ['bin/hedge.js', 'compare', '--attach', readyFile, '--fixture-ports', '47611,47612', '--suites', 'attacks,workflows',
      '--only', 'kernel-key-read,cdp-file-read,browser-pivot,cdp-cookie-theft,kernel-status,playwright-browse', '--out', join(dir, 'report')],
    { cwd: root, env, timeout: 600_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout) => { resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout }) })
  })
  t.equal(res.code, 0, res.stdout)
  const report = JSON.parse(await readFile(join(dir, 'report', 'report.json'), 'utf8')) as Report
  t.same(report.deployments.map(d => [d.name, d.hardened]), [['attached-1-hedged-attach', true]])
  t.ok(report.attacks.length >= 4)
  for (const a of report.attacks) t.equal(a.results['attached-1-hedged-attach']?.harm, false, `${a.id} stopped`)
  for (const w of report.workflows) t.equal(w.results['attached-1-hedged-attach']?.ok, true, `${w.id} works`)
  t.equal(up.exitCode, null, 'the attached stack is still running: compare never stops what it did not start')
})
