// The hedged shape's Chromium (docs/chromium-hardening.md has the measurements behind every
// line here): extra switches, managed policies applied to this one browser only (a private
// mount namespace binds a hedge-owned directory over /etc/chromium), and a profile whose
// default download folder is the workspace's output/. The documented baseline uses none of it.
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import type { AgentIdentity } from './agent-user.ts'

/** Where Debian's Chromium reads its managed policies from (policies/managed/*.json). */
export const CHROMIUM_ETC = '/etc/chromium'

/**
 * Switches added in the hedged shape. Each exists in this Chromium (see the doc for how that
 * was checked); `--webrtc-ip-handling-policy` is the spelling this build knows (the older
 * `--force-webrtc-ip-handling-policy` is absent), and the WebRtcIPHandling policy backs it.
 */
export const HEDGED_CHROMIUM_ARGS: readonly string[] = [
  '--webrtc-ip-handling-policy=disable_non_proxied_udp',
  '--disable-domain-reliability',
  '--disable-component-extensions-with-background-pages',
  '--disable-default-apps',
  '--disable-field-trial-config',
  '--metrics-recording-only',
  '--no-pings',
  '--disable-search-engine-choice-screen',
  // each feature name is in the binary; OptimizationHints and NetworkTimeServiceQuerying were
  // each seen to stop a request (optimizationguide-pa, clients2 /time) through a logging proxy
  '--disable-features=OptimizationHints,NetworkTimeServiceQuerying,AutofillServerCommunication,MediaRouter',
]

/**
 * Managed policies of the hedged Chromium. Every name was checked OK on chrome://policy.
 * Deliberately absent: DeveloperToolsAvailability=2 (measured: it makes Target.attachToTarget
 * answer "Not allowed", so no CDP client, Playwright included, can drive a page).
 */
export const HEDGED_POLICIES: Readonly<Record<string, unknown>> = Object.freeze({
  // WebUI, DevTools frontends, file:// — blocked pages render an error page with no bindings;
  // the DevTools window that Ctrl+Shift+J / F12 would open is not created at all.
  URLBlocklist: ['chrome://*', 'devtools://*', 'chrome-untrusted://*', 'chrome-search://*', 'chrome-extension://*', 'file://*'],
  // The headless browser's own omnibox popup (two browser_ui targets present at start): blocked,
  // Chromium re-labels them type "page" holding an error page, and clients that take "the
  // first page" (Puppeteer's pages(), a raw observer) pick one and hang on a screenshot.
  // Allowed, they stay browser_ui as in the documented shape (the gateway refuses those).
  URLAllowlist: ['chrome://omnibox-popup.top-chrome'],
  WebRtcIPHandling: 'disable_non_proxied_udp',
  ExtensionInstallBlocklist: ['*'],
  BrowserSignin: 0,
  SyncDisabled: true,
  MetricsReportingEnabled: false,
  SafeBrowsingProtectionLevel: 0,
  ComponentUpdatesEnabled: false,
  BackgroundModeEnabled: false,
  PasswordManagerEnabled: false,
  TranslateEnabled: false,
  SearchSuggestEnabled: false,
  SpellcheckEnabled: false,
  NetworkPredictionOptions: 2,
  DnsOverHttpsMode: 'off',
  QuicAllowed: false,
  EnableMediaRouter: false,
  PromptForDownloadLocation: false,
})

/**
 * A root-owned, world-readable stand-in for /etc/chromium holding `policies` (and a copy of
 * the distribution's master_preferences). The browser's uid cannot write it.
 */
export function makePolicyRoot (policies: Readonly<Record<string, unknown>>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hedge-chromium-etc-'))
  chmodSync(dir, 0o755) // mkdtemp makes it 0700: the browser's uid must read it, or Chromium silently runs without policies
  mkdirSync(join(dir, 'policies', 'managed'), { recursive: true, mode: 0o755 })
  mkdirSync(join(dir, 'policies', 'recommended'), { mode: 0o755 })
  const prefs = join(CHROMIUM_ETC, 'master_preferences')
  if (existsSync(prefs)) { copyFileSync(prefs, join(dir, 'master_preferences')); chmodSync(join(dir, 'master_preferences'), 0o644) }
  writeFileSync(join(dir, 'policies', 'managed', 'hedge.json'), JSON.stringify(policies, null, 2), { mode: 0o644 })
  return dir
}

/** Whether this process may create a mount namespace and bind-mount (CAP_SYS_ADMIN, bit 21). */
export function canMountNamespace (): boolean {
  try {
    const hex = /^CapEff:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
    return hex !== undefined && (BigInt(`0x${hex}`) & (1n << 21n)) !== 0n
  } catch { return false }
}

/**
 * Run `cmd` in a private mount namespace where `policyRoot` is bound over /etc/chromium.
 * unshare and sh exec in turn, so the spawned pid is Chromium's own; if the bind fails, the
 * command never runs (fails closed). Needs CAP_SYS_ADMIN (root).
 */
export function inPolicyNamespace (policyRoot: string, cmd: { command: string, args: string[] }): { command: string, args: string[] } {
  return {
    command: 'unshare',
    args: ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c',
      `mount --bind "$0" ${CHROMIUM_ETC} && mount -o remount,bind,ro ${CHROMIUM_ETC} && exec "$@"`, policyRoot, cmd.command, ...cmd.args],
  }
}

/** The system path Debian's Chromium reads managed policies from, and hedge's file in it. */
export const SYSTEM_POLICY_DIR = join(CHROMIUM_ETC, 'policies', 'managed')
export const SYSTEM_POLICY_FILE = join(SYSTEM_POLICY_DIR, 'hedge.json')

/**
 * The container form of the hedged browser's policies (no CAP_SYS_ADMIN, so no private mount
 * namespace): the launcher is alone in a dedicated container, so the system path is this one
 * browser's. Before each start: the directory is made root-owned 0755 (a tmpfs or emptyDir
 * mounted there may arrive world-writable), any other file in it is removed (a foreign policy
 * file could relax ours), and hedge.json is written 0644. Needs root; throws otherwise, and
 * verifyPoliciesApplied still checks after the start that the policies are in force.
 */
export function writeSystemPolicies (policies: Readonly<Record<string, unknown>>, dir = SYSTEM_POLICY_DIR): string {
  if (process.getuid?.() !== 0) throw new Error(`chromium: system-path policies need a root launcher (${dir})`)
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  chownSync(dir, 0, 0)
  chmodSync(dir, 0o755)
  for (const name of readdirSync(dir)) if (name !== 'hedge.json') rmSync(join(dir, name), { recursive: true, force: true })
  const file = join(dir, 'hedge.json')
  if (existsSync(file) && !lstatSync(file).isFile()) rmSync(file, { recursive: true, force: true })
  writeFileSync(file, JSON.stringify(policies, null, 2), { mode: 0o644 })
  chownSync(file, 0, 0)
  chmodSync(file, 0o644)
  return file
}

/** Remove hedge's system-path policy file (stop): the container's next start decides anew. */
export function removeSystemPolicies (dir = SYSTEM_POLICY_DIR): void {
  rmSync(join(dir, 'hedge.json'), { force: true })
}

/**
 * The profile's Default/Preferences: downloads (from a page, or with behaviour "default")
 * land in `downloadDir` with no prompt. Written into a fresh profile before Chromium starts.
 */
export function writeDownloadPreferences (profileDir: string, downloadDir: string, owner: AgentIdentity | null): void {
  const dflt = join(profileDir, 'Default')
  mkdirSync(dflt, { recursive: true, mode: 0o700 })
  const prefs = {
    download: { default_directory: downloadDir, prompt_for_download: false, directory_upgrade: true },
    savefile: { default_directory: downloadDir },
  }
  const file = join(dflt, 'Preferences')
  writeFileSync(file, JSON.stringify(prefs), { mode: 0o600 })
  if (owner !== null) { chownSync(dflt, owner.uid, owner.gid); chownSync(file, owner.uid, owner.gid) }
}

/**
 * Fail closed: Chromium ignores a policy file it cannot read, silently. After each start of
 * a browser with managed policies, a throwaway tab must find chrome://version blocked, or the
 * start counts as failed.
 */
export async function verifyPoliciesApplied (httpUrl: string, timeoutMs = 15_000): Promise<void> {
  const version = await (await fetch(`${httpUrl}/json/version`, { signal: AbortSignal.timeout(timeoutMs) })).json() as { webSocketDebuggerUrl: string }
  const ws = new WebSocket(version.webSocketDebuggerUrl, { perMessageDeflate: false, handshakeTimeout: timeoutMs })
  const timer = setTimeout(() => { ws.terminate() }, timeoutMs)
  try {
    await new Promise<void>((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); ws.once('close', () => { reject(new Error('closed')) }) })
    let nextId = 1
    const pending = new Map<number, (m: { result?: any, error?: { message: string } }) => void>()
    ws.on('message', d => { try { const m = JSON.parse(d.toString()); if (typeof m.id === 'number') pending.get(m.id)?.(m) } catch { /* not ours */ } })
    const call = (method: string, params: object, sessionId?: string): Promise<any> => new Promise((resolve, reject) => {
      const id = nextId++
      pending.set(id, m => { m.error !== undefined ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result) })
      ws.once('close', () => { reject(new Error(`${method}: socket closed`)) })
      ws.send(JSON.stringify({ id, method, params, ...(sessionId !== undefined ? { sessionId } : {}) }))
    })
    const { targetId } = await call('Target.createTarget', { url: 'about:blank', background: true })
    try {
      const { sessionId } = await call('Target.attachToTarget', { targetId, flatten: true })
      const nav = await call('Page.navigate', { url: 'chrome://version' }, sessionId)
      if (nav.errorText !== 'net::ERR_BLOCKED_BY_ADMINISTRATOR') throw new Error(`managed policies not in effect (chrome://version: ${String(nav.errorText ?? 'loaded')})`)
    } finally { await call('Target.closeTarget', { targetId }).catch(() => undefined) }
  } finally { clearTimeout(timer); ws.terminate() }
}
