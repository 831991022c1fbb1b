// The baseline sandbox's browser, as documented: Chromium with remote debugging on
// 127.0.0.1:9222, `--no-sandbox`, running as the agent, restarted whenever it dies and
// always showing at least one tab. Permissive on purpose: whoever reaches the port
// drives the browser. The gateway, not this file, is where that gets fixed.
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter, once } from 'node:events'
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { asAgent, diesWithParent, type AgentIdentity } from './agent-user.ts'
import { keepOneTab, type TabKeeper } from './chromium-tab-keeper.ts'
import { canMountNamespace, inPolicyNamespace, makePolicyRoot, removeSystemPolicies, verifyPoliciesApplied, writeDownloadPreferences, writeSystemPolicies } from './chromium-hardening.ts'
import { killTree, pidsWithArg, signalGroup } from './process-group.ts'
import { silentLogger, type Logger } from '../logger.ts'
import { httpOk, waitUntil } from '../util/wait.ts'

export const CHROMIUM_PATH = '/usr/bin/chromium'

export interface ChromiumOptions {
  /** 9222 by default; 0 lets the OS pick on first start, and restarts reuse that port. */
  port?: number
  headless?: boolean
  /** Who Chromium runs as (agentIdentity()); null runs it as the current user. */
  agent: AgentIdentity | null
  /** e.g. http://127.0.0.1:13128 (the gateway's egress guard). */
  proxyServer?: string
  /** Defaults to `<-loopback>` when proxyServer is set, so loopback goes through the proxy too. */
  proxyBypassList?: string
  extraArgs?: readonly string[]
  logger?: Logger
  executable?: string
  /** How long one start may take before it counts as failed (default 30 s). */
  readyTimeoutMs?: number
  /** false: a running Chromium does not by itself keep the Node process alive (tests); a pending restart still does. Default true. */
  keepAlive?: boolean
  /** Hedged shape: wipe profile, HOME and TMPDIR before every (re)start, so nothing planted survives a crash. */
  freshProfile?: boolean
  /** Hedged shape: the profile's default download folder (Default/Preferences written before each start). */
  downloadDir?: string
  /** Hedged shape (root only): managed policies for this browser alone (chromium-hardening.ts). */
  managedPolicies?: Readonly<Record<string, unknown>>
  /**
   * Where managedPolicies go: 'namespace' (default) binds them over /etc/chromium in a private
   * mount namespace (CAP_SYS_ADMIN); 'system' writes /etc/chromium/policies/managed/hedge.json
   * itself, for a root launcher alone in a dedicated container (no CAP_SYS_ADMIN there).
   */
  policyPlacement?: 'namespace' | 'system'
}

/** Backoff between restarts: 250 ms doubling to 8 s, reset after 30 s of stable running. */
const BACKOFF_MIN_MS = 250
const BACKOFF_MAX_MS = 8000
const STABLE_MS = 30_000

export function chromiumArgs (o: {
  port: number, headless: boolean, userDataDir: string, proxyServer?: string, proxyBypassList?: string, extraArgs?: readonly string[],
}): string[] {
  const args = [
    '--no-sandbox',
    `--remote-debugging-port=${o.port}`,
    '--remote-debugging-address=127.0.0.1',
    `--user-data-dir=${o.userDataDir}`,
    '--disable-blink-features=AutomationControlled',
    '--disable-gpu', '--no-first-run', '--no-default-browser-check',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic',
    '--disable-crash-reporter', '--disable-breakpad',
  ]
  if (o.headless) args.push('--headless')
  if (o.proxyServer !== undefined) {
    args.push(`--proxy-server=${o.proxyServer}`, `--proxy-bypass-list=${o.proxyBypassList ?? '<-loopback>'}`)
  }
  return [...args, ...(o.extraArgs ?? []), 'about:blank']
}

export class ChromiumSupervisor extends EventEmitter {
  port: number
  restarts = 0
  private child: ChildProcess | undefined
  private tabs: TabKeeper | undefined
  private stopping = false
  private failures = 0
  private restartTimer: NodeJS.Timeout | undefined
  private readonly log: Logger
  /** The supervisor's private temp tree (profile, HOME, TMPDIR); removed by stop(). */
  readonly root: string
  private readonly dirs: { profile: string, home: string, tmp: string }
  /** Root-owned stand-in for /etc/chromium when managedPolicies is set; removed by stop(). */
  private readonly policyRoot: string | undefined

  constructor (private readonly opts: ChromiumOptions) {
    super()
    this.port = opts.port ?? 9222
    this.log = (opts.logger ?? silentLogger).child({ component: 'chromium' })
    // One private tree per supervisor, owned by the agent: profile, HOME (crashpad's
    // database lives there) and TMPDIR (Chromium's singleton socket dir).
    this.root = mkdtempSync(join(tmpdir(), 'hedge-chromium-'))
    this.dirs = { profile: join(this.root, 'profile'), home: join(this.root, 'home'), tmp: join(this.root, 'tmp') }
    const systemPolicies = opts.managedPolicies !== undefined && opts.policyPlacement === 'system'
    if (systemPolicies && process.getuid?.() !== 0) throw new Error('chromium: system-path managedPolicies need a root launcher (see docs/chromium-hardening.md)')
    if (opts.managedPolicies !== undefined && !systemPolicies && (process.getuid?.() !== 0 || !canMountNamespace())) {
      rmSync(this.root, { recursive: true, force: true })
      throw new Error('chromium: managedPolicies need a root launcher with CAP_SYS_ADMIN (a private mount namespace binds them over /etc/chromium; see docs/chromium-hardening.md)')
    }
    this.makeDirs()
    if (opts.agent !== null) chownSync(this.root, opts.agent.uid, opts.agent.gid)
    this.policyRoot = opts.managedPolicies !== undefined && !systemPolicies ? makePolicyRoot(opts.managedPolicies) : undefined
    process.on('exit', this.onProcessExit)
  }

  get url (): string { return `http://127.0.0.1:${this.port}` }
  get userDataDir (): string { return this.dirs.profile }
  pid (): number | undefined { return this.child?.pid }
  /** Resolves with the restart count once Chromium is back and answering after its next restart. */
  nextRestart (): Promise<number> {
    const hold = setInterval(() => {}, 60_000) // whoever awaits a restart keeps the process alive (keepAlive: false)
    return once(this, 'restart').then(([n]) => n as number).finally(() => { clearInterval(hold) })
  }

  /** Profile, HOME and TMPDIR: 0700, owned by whoever Chromium runs as (wiped first when fresh). */
  private makeDirs (): void {
    for (const d of Object.values(this.dirs)) {
      if (this.opts.freshProfile === true) rmSync(d, { recursive: true, force: true })
      mkdirSync(d, { mode: 0o700, recursive: true })
      if (this.opts.agent !== null) chownSync(d, this.opts.agent.uid, this.opts.agent.gid)
    }
  }

  /** Launch and wait until /json/version answers. */
  async start (): Promise<void> {
    if (this.stopping) throw new Error('chromium supervisor stopped')
    if (this.opts.freshProfile === true && this.child !== undefined) this.makeDirs() // a restart: the old tree is dead (killTree)
    rmSync(join(this.dirs.profile, 'DevToolsActivePort'), { force: true })
    for (const f of ['SingletonLock', 'SingletonSocket', 'SingletonCookie']) rmSync(join(this.dirs.profile, f), { force: true })
    if (this.opts.downloadDir !== undefined) writeDownloadPreferences(this.dirs.profile, this.opts.downloadDir, this.opts.agent)
    const args = chromiumArgs({ ...this.opts, port: this.port, headless: this.opts.headless ?? true, userDataDir: this.dirs.profile })
    const asUser = diesWithParent('SIGKILL', asAgent(this.opts.agent, this.opts.executable ?? CHROMIUM_PATH, args))
    if (this.opts.managedPolicies !== undefined && this.policyRoot === undefined) writeSystemPolicies(this.opts.managedPolicies)
    const cmd = this.policyRoot !== undefined ? inPolicyNamespace(this.policyRoot, asUser) : asUser
    // A minimal environment: the agent's browser inherits none of the launcher's secrets.
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.dirs.home, TMPDIR: this.dirs.tmp, LANG: 'C.UTF-8' }
    if (this.opts.headless === false && process.env.DISPLAY !== undefined) env.DISPLAY = process.env.DISPLAY
    const child = spawn(cmd.command, cmd.args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env })
    this.child = child
    if (this.opts.keepAlive === false) { child.unref(); (child.stderr as unknown as { unref?: () => void }).unref?.() }
    const startedAt = Date.now()
    createInterface({ input: child.stderr! }).on('line', line => { this.log.debug({ stderr: line }) })
    const exited = once(child, 'exit')
    child.once('exit', (code, signal) => { void this.onExit(child, code, signal, startedAt) })

    const gone = (): boolean => child.exitCode !== null || child.signalCode !== null
    const ready = async (): Promise<void> => {
      const timeout = this.opts.readyTimeoutMs ?? 30_000
      if (this.port === 0) {
        await waitUntil('DevToolsActivePort', async () => {
          if (gone()) return true // the race below has already failed the start
          const first = readFileSync(join(this.dirs.profile, 'DevToolsActivePort'), 'utf8').split('\n')[0]
          const port = Number(first)
          if (!Number.isInteger(port) || port <= 0) return false
          this.port = port
          return true
        }, timeout)
      }
      await waitUntil(`chromium on ${this.url}`, async () => gone() || await httpOk(`${this.url}/json/version`), timeout)
    }
    await Promise.race([ready(), exited.then(([code, signal]) => {
      throw new Error(`chromium exited during start (code ${String(code)}, signal ${String(signal)})`)
    })])
    if (this.child !== child || this.stopping) return
    if (this.opts.managedPolicies !== undefined) await verifyPoliciesApplied(this.url)
    this.tabs = await keepOneTab(this.url, this.log, { keepAlive: this.opts.keepAlive ?? true })
    this.log.info({ event: 'chromium.ready', pid: child.pid, port: this.port, restarts: this.restarts }, 'chromium ready')
  }

  private async onExit (child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, startedAt: number): Promise<void> {
    if (this.child !== child) return
    this.tabs?.close(); this.tabs = undefined
    this.emit('exit', { code, signal })
    if (this.stopping) return
    // the browser is gone: finish off its zygotes and helpers before starting anew
    signalGroup(child.pid!, 'SIGKILL')
    if (Date.now() - startedAt > STABLE_MS) this.failures = 0
    const wait = Math.min(BACKOFF_MIN_MS * 2 ** this.failures, BACKOFF_MAX_MS)
    this.failures++
    this.log.warn({ event: 'chromium.exit', code, signal, restartInMs: wait }, 'chromium exited; restarting')
    this.restartTimer = setTimeout(() => { void this.restart(child) }, wait)
  }

  private async restart (previous: ChildProcess): Promise<void> {
    if (this.stopping) return
    try {
      await killTree(previous.pid!, this.root, 0)
      await this.start()
      if (this.stopping) return
      this.restarts++
      this.emit('restart', this.restarts)
    } catch (err) {
      this.log.error({ err }, 'chromium restart failed')
      // a failed start whose process is still alive: kill it, its exit schedules the next try
      if (this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null) signalGroup(this.child.pid!, 'SIGKILL')
    }
  }

  /** Stop for good: no process left behind (group and crashpad strays), temp dirs removed. */
  async stop (): Promise<void> {
    this.stopping = true
    clearTimeout(this.restartTimer)
    process.off('exit', this.onProcessExit)
    this.tabs?.close(); this.tabs = undefined
    const child = this.child
    try {
      if (child?.pid !== undefined) await killTree(child.pid, this.root)
    } finally {
      rmSync(this.root, { recursive: true, force: true })
      if (this.policyRoot !== undefined) rmSync(this.policyRoot, { recursive: true, force: true })
      if (this.opts.managedPolicies !== undefined && this.policyRoot === undefined) removeSystemPolicies()
    }
    this.log.info({ event: 'chromium.stopped' }, 'chromium stopped')
  }

  /** Last resort when the launcher exits without stop(): nothing async runs here. */
  private readonly onProcessExit = (): void => {
    const pid = this.child?.pid
    if (pid !== undefined) signalGroup(pid, 'SIGKILL')
    for (const stray of pidsWithArg(this.root)) { try { process.kill(stray, 'SIGKILL') } catch { /* gone */ } }
    try { rmSync(this.root, { recursive: true, force: true }) } catch { /* best effort */ }
    if (this.policyRoot !== undefined) try { rmSync(this.policyRoot, { recursive: true, force: true }) } catch { /* best effort */ }
  }
}

/** Start a supervised Chromium and wait until it answers; on failure nothing is left running. */
export async function startChromium (opts: ChromiumOptions): Promise<ChromiumSupervisor> {
  const sup = new ChromiumSupervisor(opts)
  try { await sup.start() } catch (err) { await sup.stop(); throw err }
  return sup
}
