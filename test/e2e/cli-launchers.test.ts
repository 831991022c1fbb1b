// `hedge sandbox` and `hedge up` as a user runs them: one `ready {json}` line once every
// part answers, the documented shapes, and SIGTERM stops everything (no process, no port).
import t from 'tap'
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { rawRequest } from '../helpers/http.ts'
import { waitUntil } from '../../src/util/wait.ts'

const root = new URL('../..', import.meta.url).pathname

async function launch (t: { teardown (fn: () => unknown): void }, args: string[]): Promise<{ child: ChildProcess, ready: any, exited: Promise<number | null> }> {
  const env: NodeJS.ProcessEnv = { ...process.env, HEDGE_LOG_LEVEL: 'warn' }
  delete env.NODE_OPTIONS
  const child = spawn(process.execPath, ['bin/hedge.js', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>(resolve => { child.on('exit', code => { resolve(code) }) })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  let err = ''
  child.stdout?.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { err += c.toString() })
  await waitUntil(`ready line from hedge ${args[0] ?? ''}`, async () => {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${err.slice(-2000)}`)
    return /^ready \{.*\}$/m.test(out)
  }, 120_000, 100)
  return { child, ready: JSON.parse((/^ready (\{.*\})$/m.exec(out) as RegExpExecArray)[1] as string), exited }
}

const answers = async (url: string): Promise<boolean> => { try { await fetch(url, { signal: AbortSignal.timeout(3000) }); return true } catch { return false } }
const processesMentioning = (s: string): string[] => {
  try { return execFileSync('pgrep', ['-af', s], { encoding: 'utf8' }).split('\n').filter(l => l.trim() !== '' && !l.includes('pgrep')) } catch { return [] }
}

t.test('hedge sandbox: the documented sandbox, ready line, clean stop', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'hedge-cli-sandbox-'))
  await chmod(dir, 0o755)
  t.teardown(async () => { try { execFileSync('chattr', ['-R', '-a', join(dir, 'ws', '.store')]) } catch {} await rm(dir, { recursive: true, force: true }) })
  const ws = join(dir, 'ws')
  const { child, ready, exited } = await launch(t, ['sandbox', '--kernel-port', '0', '--chromium-port', '0', '--cdp-port', '0', '--workspace', ws])
  t.match(ready, { sandbox: { kernel: /^http:\/\/127\.0\.0\.1:\d+$/, chromium: /^http:\/\/127\.0\.0\.1:\d+$/, cdp: /^http:\/\/127\.0\.0\.1:\d+$/, workspace: ws } })
  const k = await (await fetch(`${ready.sandbox.kernel as string}/kernel/connection`)).json() as { connection_info: { key: string } }
  t.type(k.connection_info.key, 'string', 'the documented kernel server hands out its key, no auth')
  const fwd = await rawRequest(Number(new URL(ready.sandbox.cdp).port), { path: '/json/version', headers: [['Host', 'attacker.example']] })
  t.equal(fwd.status, 200, 'the 9223 forwarder accepts a foreign Host (as documented)')
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'exits 0 on SIGTERM')
  t.notOk(await answers(`${ready.sandbox.kernel as string}/health`), 'kernel server gone')
  t.notOk(await answers(`${ready.sandbox.chromium as string}/json/version`), 'Chromium gone')
  t.same(processesMentioning(ws), [], 'no process left that names the workspace')
})

t.test('hedge up --policy hedged: the hedged shape, tokens, egress guard, clean stop', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'hedge-cli-up-'))
  await chmod(dir, 0o755)
  t.teardown(async () => { try { execFileSync('chattr', ['-R', '-a', join(dir, 'ws', '.store')]) } catch {} await rm(dir, { recursive: true, force: true }) })
  const ws = join(dir, 'ws')
  const { child, ready, exited } = await launch(t, ['up', '--policy', 'hedged', '--kernel-port', '0', '--cdp-port', '0', '--admin-port', '0', '--egress-port', '0', '--chromium-port', '0', '--workspace', ws])
  t.match(ready, { policy: 'hedged', sandbox: { kernel: /^unix:\//, cdp: null, workspace: ws }, gateway: { kernel: /^http:/, cdp: /^http:/, admin: /^http:/, egress: /^http:/ }, token: { kernel: /\./, cdp: /\./ } })
  t.equal((await fetch(`${ready.gateway.admin as string}/readyz`)).status, 200, 'ready: kernel and Chromium answer')
  t.equal((await fetch(`${ready.gateway.kernel as string}/kernel/status`)).status, 401, 'no token, no status')
  const st = await fetch(`${ready.gateway.kernel as string}/kernel/status`, { headers: { authorization: `Bearer ${ready.token.kernel as string}` } })
  t.equal(st.status, 200, 'the ready line\'s kernel token works')
  const cdp = await fetch(`${ready.gateway.cdp as string}/json/version`, { headers: { authorization: `Bearer ${ready.token.cdp as string}` } })
  t.equal(cdp.status, 200, 'the ready line\'s cdp token works')
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'exits 0 on SIGTERM')
  for (const u of [ready.gateway.kernel, ready.gateway.cdp, ready.gateway.admin, ready.gateway.egress, `${ready.sandbox.chromium as string}/json/version`]) t.notOk(await answers(u as string), `${u as string} closed`)
  t.same(processesMentioning(ws), [], 'no process left that names the workspace')
})
