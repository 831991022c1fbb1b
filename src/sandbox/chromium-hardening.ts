// The hedged shape's Chromium (docs/chromium-hardening.md has the measurements behind every
// line here): extra switches, managed policies applied to this one browser only (a private
// mount namespace binds a hedge-owned directory over /etc/chromium), and a profile whose
// default download folder is the workspace's output/. The documented baseline uses none of it.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync, chownSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
  mkdirSync(join(dir, 'policies', 'managed'), { recursive: true, mode: 0o755 })
  mkdirSync(join(dir, 'policies', 'recommended'), { mode: 0o755 })
  const prefs = join(CHROMIUM_ETC, 'master_preferences')
  if (existsSync(prefs)) copyFileSync(prefs, join(dir, 'master_preferences'))
  writeFileSync(join(dir, 'policies', 'managed', 'hedge.json'), JSON.stringify(policies, null, 2), { mode: 0o644 })
  return dir
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
