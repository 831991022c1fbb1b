// Regression (issue #11): switching one layer off must not change the sandbox's shape.
// `HEDGE_LAYER_EGRESS=off hedge up --policy hedged` used to start the documented sandbox
// (kernel on TCP, the permissive 9223 forwarder) beside a gateway enforcing auth. The topology
// now comes from --topology or the policy's name: the sandbox's own ports stay closed, and
// `--topology documented` is the explicit way to get the other shape. Real hedge up, real
// kernel server, real Chromium; every port on loopback, the sandbox's chosen free beforehand.
import t from 'tap'
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { connect, createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitUntil } from '../../src/util/wait.ts'
import { parseReadyLine } from '../../src/app/ready-line.ts'

const root = new URL('../..', import.meta.url).pathname
const isRoot = process.getuid?.() === 0

/** `n` distinct ports the OS had free a moment ago (held together, then released). */
async function freePorts (n: number): Promise<number[]> {
  const servers: Server[] = []
  for (let i = 0; i < n; i++) {
    const s = createServer()
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(0, '127.0.0.1', resolve) })
    servers.push(s)
  }
  const ports = servers.map(s => (s.address() as AddressInfo).port)
  await Promise.all(servers.map(s => new Promise(resolve => s.close(resolve))))
  return ports
}

/** 'refused' when nothing listens on 127.0.0.1:port, 'open' when something accepts. */
function tcpState (port: number): Promise<'refused' | 'open' | string> {
  return new Promise(resolve => {
    const s = connect({ port, host: '127.0.0.1' })
    const timer = setTimeout(() => { s.destroy(); resolve('timeout') }, 5000)
    s.once('connect', () => { clearTimeout(timer); s.destroy(); resolve('open') })
    s.once('error', (err: NodeJS.ErrnoException) => { clearTimeout(timer); resolve(err.code === 'ECONNREFUSED' ? 'refused' : err.code ?? err.message) })
  })
}

interface Up { child: ChildProcess, out: string, exited: Promise<number | null> }

async function up (t: { teardown (fn: () => unknown): void }, args: string[], extraEnv: NodeJS.ProcessEnv): Promise<Up> {
  const env: NodeJS.ProcessEnv = { ...process.env, HEDGE_LOG_LEVEL: 'warn', ...extraEnv }
  delete env.NODE_OPTIONS
  const child = spawn(process.execPath, ['bin/hedge.js', 'up', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>(resolve => { child.on('exit', code => { resolve(code) }) })
  t.teardown(async () => { if (child.exitCode === null) { child.kill('SIGTERM'); await exited } })
  const r: Up = { child, out: '', exited }
  let err = ''
  child.stdout?.on('data', (c: Buffer) => { r.out += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { err += c.toString() })
  await waitUntil('hedge up ready line', async () => {
    if (child.exitCode !== null) throw new Error(`hedge up exited ${child.exitCode}: ${err.slice(-2000)}`)
    return /^ready \{.*\}$/m.test(r.out)
  }, 120_000, 100)
  return r
}

async function workspace (t: { teardown (fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hedge-topology-'))
  await chmod(dir, 0o755)
  t.teardown(async () => { try { execFileSync('chattr', ['-R', '-a', join(dir, 'ws', '.store')]) } catch {} await rm(dir, { recursive: true, force: true }) })
  return join(dir, 'ws')
}

t.test('HEDGE_LAYER_EGRESS=off hedge up --policy hedged: still the hedged topology', { skip: isRoot ? false : 'hedged topology needs root (separate identities)' }, async t => {
  const [sandboxKernel, sandboxCdp] = await freePorts(2) as [number, number]
  const ws = await workspace(t)
  const r = await up(t, ['--policy', 'hedged', '--kernel-port', '0', '--cdp-port', '0', '--admin-port', '0', '--egress-port', '0', '--chromium-port', '0',
    '--sandbox-kernel-port', String(sandboxKernel), '--sandbox-cdp-port', String(sandboxCdp), '--workspace', ws], { HEDGE_LAYER_EGRESS: 'off' })
  const ready = parseReadyLine(r.out)
  t.equal(ready.topology, 'hedged', 'the ready line says hedged')
  t.match(r.out, /^ready \{"topology":"hedged",/m, 'printed as such, first field')
  t.match(ready.sandbox, { kernel: /^unix:\//, cdp: null }, 'kernel on a unix socket, no forwarder')
  t.type(ready.gateway?.egress, 'string', 'the egress guard still runs in front of Chromium (its layer off: it passes everything)')
  t.equal(await tcpState(sandboxKernel), 'refused', `nothing answers on the sandbox kernel port ${sandboxKernel}`)
  t.equal(await tcpState(sandboxCdp), 'refused', `nothing answers on the 9223-forwarder port ${sandboxCdp}`)
  const gw = ready.gateway
  if (gw === undefined) throw new Error('no gateway in the ready line')
  const res = await fetch(`${gw.kernel}/kernel/connection`, { signal: AbortSignal.timeout(10_000) })
  t.equal(res.status, 401, 'the gateway\'s kernel front refuses an unauthenticated request')
  const ok = await fetch(`${gw.kernel}/kernel/status`, { headers: { authorization: `Bearer ${ready.token?.kernel ?? ''}` }, signal: AbortSignal.timeout(10_000) })
  t.equal(ok.status, 200, 'and serves with the ready line\'s token: the kernel is there, behind it')
  r.child.kill('SIGTERM')
  t.equal(await r.exited, 0, 'exits 0 on SIGTERM')
})

t.test('--topology documented --policy hedged: the explicit way to the documented shape', async t => {
  const [sandboxKernel, sandboxCdp] = await freePorts(2) as [number, number]
  const ws = await workspace(t)
  const r = await up(t, ['--policy', 'hedged', '--topology', 'documented', '--kernel-port', '0', '--cdp-port', '0', '--admin-port', '0', '--egress-port', '0',
    '--chromium-port', '0', '--sandbox-kernel-port', String(sandboxKernel), '--sandbox-cdp-port', String(sandboxCdp), '--workspace', ws], { HEDGE_LAYER_EGRESS: 'off' })
  const ready = parseReadyLine(r.out)
  t.equal(ready.topology, 'documented', 'the ready line says documented')
  t.equal(ready.sandbox.kernel, `http://127.0.0.1:${sandboxKernel}`)
  t.equal(ready.sandbox.cdp, `http://127.0.0.1:${sandboxCdp}`)
  t.equal(ready.gateway?.egress, undefined, 'no egress guard: Chromium is not behind one')
  const health = await fetch(`http://127.0.0.1:${sandboxKernel}/health`, { signal: AbortSignal.timeout(10_000) })
  t.equal(health.status, 200, 'the sandbox kernel port answers, without auth (as documented)')
  t.equal(await tcpState(sandboxCdp), 'open', 'the 9223 forwarder answers')
  const res = await fetch(`${ready.gateway?.kernel ?? ''}/kernel/connection`, { signal: AbortSignal.timeout(10_000) })
  t.equal(res.status, 401, 'the gateway in front still enforces auth')
  r.child.kill('SIGTERM')
  t.equal(await r.exited, 0, 'exits 0 on SIGTERM')
})
