// The supervised Chromium: runs as the agent, listens on loopback, comes back on the same
// port after being killed, and leaves nothing behind when stopped.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, existsSync, rmSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { agentIdentity } from '../../src/sandbox/agent-user.ts'
import { startChromium } from '../../src/sandbox/chromium.ts'
import { groupMembers, pidsWithArg } from '../../src/sandbox/process-group.ts'
import { silentLogger } from '../../src/logger.ts'
import { waitUntil } from '../../src/util/wait.ts'
import { evaluateInPage, startTestChromium } from '../helpers/chromium.ts'

const uidOf = (pid: number): number => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
const cmdlineOf = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
const browserWs = async (url: string): Promise<string> =>
  ((await (await fetch(`${url}/json/version`, { signal: AbortSignal.timeout(10_000) })).json()) as { webSocketDebuggerUrl: string }).webSocketDebuggerUrl

t.test('runs as the agent with the documented flags, on loopback', async t => {
  const chromium = await startTestChromium(t)
  const pid = chromium.pid()!
  t.ok(chromium.port > 0, 'learned the port the OS picked')
  t.equal(chromium.url, `http://127.0.0.1:${chromium.port}`)
  const agent = agentIdentity()
  if (agent === null) t.equal(uidOf(pid), process.getuid!(), 'not root: runs as the invoking user')
  else {
    t.equal(uidOf(pid), agent.uid, 'the browser process is the non-root agent')
    const members = groupMembers(pid)
    t.same(members.filter(m => uidOf(m) !== agent.uid), [], `all ${members.length} processes of its group are the agent too`)
  }
  const args = cmdlineOf(pid)
  for (const flag of ['--no-sandbox', '--headless', '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0',
    '--disable-blink-features=AutomationControlled', '--disable-background-networking', '--disable-quic']) {
    t.ok(args.includes(flag), flag)
  }
  t.ok(args.includes(`--user-data-dir=${chromium.userDataDir}`), 'fresh user-data-dir of its own')
  // bound to 127.0.0.1 only: /proc/net/tcp lists it as 0100007F:PORT in LISTEN (0A)
  const hexPort = chromium.port.toString(16).toUpperCase().padStart(4, '0')
  const listeners = readFileSync('/proc/net/tcp', 'utf8').split('\n').map(l => l.trim().split(/\s+/)).filter(c => c[1]?.endsWith(`:${hexPort}`) && c[3] === '0A')
  t.same(listeners.map(c => c[1]), [`0100007F:${hexPort}`], 'listens on loopback only')
  t.equal(await evaluateInPage(await browserWs(chromium.url), '1+1'), 2)
})

t.test('killed by a signal, it comes back on the same port', async t => {
  const chromium = await startTestChromium(t)
  const { port } = chromium
  const pid = chromium.pid()!
  const restarted = chromium.nextRestart()
  process.kill(pid, 'SIGKILL')
  t.equal(await restarted, 1, 'restart counted')
  t.equal(chromium.restarts, 1)
  t.equal(chromium.port, port, 'same port, so clients\' URLs stay valid')
  t.not(chromium.pid(), pid, 'a new browser process')
  t.ok(cmdlineOf(chromium.pid()!).includes(`--remote-debugging-port=${port}`), 'relaunched with the learned port')
  t.notOk(groupMembers(pid).length > 0, 'the old process group is gone')
  t.equal(await evaluateInPage(await browserWs(`http://127.0.0.1:${port}`), '1+1'), 2, 'a new CDP connection works')

  // and again: the backoff does not stop it from coming back a second time
  const again = chromium.nextRestart()
  process.kill(chromium.pid()!, 'SIGKILL')
  t.equal(await again, 2)
  t.equal(await evaluateInPage(await browserWs(chromium.url), '2+2'), 4)
})

t.test('stop() leaves no process and no temp dir behind', async t => {
  const chromium = await startChromium({ port: 0, agent: agentIdentity(), logger: silentLogger, readyTimeoutMs: 60_000 })
  t.teardown(() => chromium.stop())
  const pid = chromium.pid()!
  await waitUntil('chromium helpers', async () => groupMembers(pid).length > 1, 30_000)
  await chromium.stop()
  t.same(groupMembers(pid), [], 'process group empty')
  t.same(pidsWithArg(chromium.root), [], 'no stray process (crashpad handlers included) names its temp dir')
  t.notOk(existsSync(chromium.root), 'temp dir removed')
  await t.rejects(fetch(`${chromium.url}/json/version`, { signal: AbortSignal.timeout(5000) }), 'port closed')
  await chromium.stop() // idempotent
})

t.test('a supervisor killed with SIGKILL takes its Chromium with it (no orphan on the port)', async t => {
  const script = `
    const { startChromium } = await import(${JSON.stringify(new URL('../../src/sandbox/chromium.ts', import.meta.url).pathname)})
    const { agentIdentity } = await import(${JSON.stringify(new URL('../../src/sandbox/agent-user.ts', import.meta.url).pathname)})
    const c = await startChromium({ port: 0, agent: agentIdentity(), readyTimeoutMs: 60_000 })
    console.log(JSON.stringify({ root: c.root, pid: c.pid(), url: c.url }))
    setInterval(() => {}, 60_000)`
  const launcher = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { launcher.kill('SIGKILL') })
  const [line] = await once(createInterface({ input: launcher.stdout! }), 'line') as [string]
  const { root, pid, url } = JSON.parse(line) as { root: string, pid: number, url: string }
  t.teardown(() => { rmSync(root, { recursive: true, force: true }) }) // a SIGKILLed launcher cannot clean its temp dir
  t.ok(groupMembers(pid).length > 0, 'chromium running under the launcher')
  launcher.kill('SIGKILL')
  await waitUntil('chromium gone with its supervisor', async () => groupMembers(pid).length === 0 && pidsWithArg(root).length === 0, 30_000)
  await t.rejects(fetch(`${url}/json/version`, { signal: AbortSignal.timeout(5000) }), 'port closed')
})
