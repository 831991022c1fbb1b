// The CDP decision, pure: (compiled filter, what the connection has learnt, parsed command)
// → forward (possibly with rewritten params), deny with the rule that fired, or answer. It
// writes nothing: the filesystem is reached only through the filter's injected pathInside,
// and what a forwarded command changes on the connection (an IO handle closed) is named in
// the decision for the relay to apply once it has forwarded the command.
//
// Order: session lookup → built-in hard rules (channels around the gateway) → method
// rules (deny before allow, on the name Chromium really dispatches) → session-kind rules
// → parameter rules (URLs, download and upload paths, proxies, init scripts, IO handles).
import type { CdpCommand } from './protocol.ts'
import type { ErrorCode } from '../errors/codes.ts'
import { effectiveMethod } from './aliases.ts'
import type { SessionKind } from './sessions.ts'
import { parseFilter, type TargetView } from './target-view.ts'
import { judgeKeyEvent } from './input-rules.ts'
import type { CdpFilter } from './filter.ts'

export type Decision =
  /** `closesHandle`: an IO stream handle the command ends, for the relay to forget once the command is forwarded. */
  | { readonly action: 'forward', readonly cmd: CdpCommand, readonly rule?: string, readonly closesHandle?: string }
  /** `code` names the refusal in logs (the client gets a CDP error either way). */
  | { readonly action: 'deny', readonly rule: string, readonly message: string, readonly code: ErrorCode }
  /** The gateway answers itself (Target.setDiscoverTargets: discovery stays on for the gateway; the client's wish is kept). */
  | { readonly action: 'answer', readonly result: Record<string, unknown>, readonly discover: { filter: Array<{ type?: string, exclude?: boolean }> | undefined } | null }

/** What decide() reads of a connection (ConnectionState): read-only here. */
export interface DecisionState {
  readonly rootKind: SessionKind
  /** false in report-only: the connection has no context of its own to rewrite into. */
  readonly enforce: boolean
  readonly sessions: ReadonlyMap<string, SessionKind>
  readonly sessionTargets: ReadonlyMap<string, string>
  readonly handles: ReadonlySet<string>
  readonly windows: ReadonlySet<number>
  readonly view: Pick<TargetView, 'judgeId' | 'gatewayContext' | 'contextAllowed' | 'ownPages'>
  historyUrl (sessionId: string | undefined, entryId: unknown): string | undefined
}

const deny = (rule: string, message: string, code: ErrorCode = 'HEDGE_ROUTE_DENIED'): Decision => ({ action: 'deny', rule, message, code })

/** Source that runs nothing: only whitespace and comments (e.g. '' or '//# sourceURL=pptr:internal'). */
export function isInertSource (source: unknown): boolean {
  return typeof source === 'string' && source.length <= 4096 && /^(?:\s|\/\/[^\n\r\u2028\u2029]*|\/\*(?:[^*]|\*(?!\/))*\*\/)*$/.test(source)
}

/** Commands that would open a CDP channel (or reach other hosts) that never crosses the gateway. */
const HARD_DENY: Readonly<Record<string, string>> = {
  'Target.exposeDevToolsProtocol': 'hands page JavaScript a CDP channel that bypasses the gateway',
  'Target.sendMessageToTarget': 'non-flat sessions would tunnel commands past the filter',
  'Target.setRemoteLocations': 'makes the browser connect to other hosts for discovery',
  // Measured on Chromium 156 headless: returns a devtools:// frontend target whose
  // InspectorFrontendHost.sendMessageToBackend talks CDP to the inspected tab through the
  // embedder, a channel that never crosses the gateway (same threat as exposeDevToolsProtocol).
  'Target.openDevTools': 'opens a DevTools frontend whose own CDP channel bypasses the gateway',
}

/** Methods whose `browserContextId` parameter names whose storage, downloads or permissions are touched. */
const CONTEXT_METHODS = new Set(['Target.createTarget', 'Browser.setDownloadBehavior', 'Storage.getCookies', 'Storage.setCookies', 'Storage.clearCookies',
  'Browser.grantPermissions', 'Browser.resetPermissions', 'Browser.setPermission'])
/** Methods that name a target: the target must be one this connection may see. */
const TARGET_METHODS = new Set(['Target.attachToTarget', 'Target.activateTarget', 'Target.closeTarget', 'Target.getTargetInfo', 'Target.autoAttachRelated', 'Target.exposeDevToolsProtocol',
  'Browser.getWindowForTarget'])
/** Methods that name a browser window: only windows this connection learnt from getWindowForTarget on its own targets. */
const WINDOW_METHODS = new Set(['Browser.getWindowBounds', 'Browser.setWindowBounds', 'Browser.setContentsSize'])
/** Domains that act browser-wide when used on the browser session. */
const BROWSER_WIDE = new Set(['Fetch', 'Security'])

export function decide (f: CdpFilter, st: DecisionState, cmd: CdpCommand): Decision {
  // 0. negative ids are the gateway's own commands on this connection
  if (cmd.id < 0) return deny('cdp.id:reserved', 'negative message ids are reserved for the gateway')
  // 1. session: every sessionId must be one we saw the browser hand out on this connection,
  //    for a target this connection may still reach
  let kind: SessionKind = st.rootKind
  if (cmd.sessionId !== undefined) {
    const k = st.sessions.get(cmd.sessionId)
    if (k === undefined) return deny('cdp.session-unknown', 'unknown sessionId')
    // A page connection can attach to the browser target by id (Target.attachToTarget with the
    // id /json/version publishes): Chromium allows it, so the escalation is refused on use.
    if (k === 'browser' && st.rootKind !== 'browser') return deny('cdp.builtin:browser-escalation', 'a page connection cannot use a browser session')
    const tid = st.sessionTargets.get(cmd.sessionId)
    if (tid !== undefined) {
      const v = st.view.judgeId(tid)
      if (!v.allowed) return deny(v.rule, `${cmd.method}: ${v.message}`)
    }
    kind = k
  }
  const method = effectiveMethod(cmd.method)
  const p = cmd.params ?? {}
  // 2. built-in rules: not policy, because no policy should open these
  const hard = HARD_DENY[method]
  if (hard !== undefined) return deny(`cdp.builtin:${method}`, `${cmd.method} is refused: it ${hard}`)
  if ((method === 'Target.attachToTarget' || (method === 'Target.setAutoAttach' && p.autoAttach === true)) && p.flatten !== true) {
    return deny('cdp.builtin:flatten-required', `${cmd.method} must use flatten:true (non-flat sessions bypass the filter)`)
  }
  if (method === 'Target.attachToBrowserTarget' && st.rootKind !== 'browser') return deny('cdp.builtin:browser-escalation', 'a page connection cannot attach to the browser')
  // Browser-wide interception or certificate decisions would reach other clients' contexts (and
  // could forge any origin's service worker, or accept another client's certificate errors).
  if (kind === 'browser' && f.tenancy === 'isolated') {
    const domain = method.slice(0, method.indexOf('.'))
    if (BROWSER_WIDE.has(domain)) return deny(`cdp.builtin:browser-${domain.toLowerCase()}`, `${domain} on the browser session would act on every client's context; use it on a page session`)
  }
  // 3. methods
  const m = f.methods(cmd.method)
  if (!m.allowed) return deny(m.rule, `${cmd.method} is not allowed by policy (${m.rule})`)
  if (kind === 'browser') {
    const b = f.browserSessionDeny(cmd.method)
    if (!b.allowed) return deny(b.rule, `${cmd.method} is not allowed on the browser session (${b.rule})`)
  }
  // 4. targets and contexts
  // Without a targetId these name the session's own target (already judged above).
  const ownTarget = p.targetId === undefined && (method === 'Target.getTargetInfo' || (method === 'Browser.getWindowForTarget' && cmd.sessionId !== undefined))
  if (TARGET_METHODS.has(method) && !ownTarget) {
    const v = st.view.judgeId(p.targetId)
    if (!v.allowed) return deny(v.rule, `${cmd.method}: ${v.message}`)
  }
  if (WINDOW_METHODS.has(method) && f.tenancy === 'isolated' && !st.windows.has(p.windowId as number)) {
    return deny('cdp.tenancy.window', `${cmd.method}: window not learnt from Browser.getWindowForTarget on this connection's own targets`)
  }
  let c = cmd
  if (f.tenancy === 'isolated' && st.rootKind !== 'browser') {
    // A page socket acts in the default context only: naming a context, or making and disposing them, is refused.
    if ((CONTEXT_METHODS.has(method) && p.browserContextId !== undefined) || method === 'Target.createBrowserContext' || method === 'Target.disposeBrowserContext') {
      return deny('cdp.tenancy.context', `${cmd.method}: a page connection cannot name or manage browser contexts`)
    }
  }
  if (CONTEXT_METHODS.has(method) && f.tenancy === 'isolated' && st.rootKind === 'browser') {
    if (p.browserContextId === undefined) {
      const own = st.view.gatewayContext
      // report-only prepares no context of its own: the rewrite would have happened, nothing to report
      if (own === undefined) { if (st.enforce) return deny('cdp.tenancy.no-context', `${cmd.method}: this connection has no browser context of its own`) } else c = withParam(cmd, p, 'browserContextId', own)
    } else if (!st.view.contextAllowed(p.browserContextId)) return deny('cdp.tenancy.context', `${cmd.method}: browser context belongs to another client`)
  }
  if (method === 'Target.createTarget' && f.tenancy === 'isolated' && st.rootKind === 'browser' && st.view.ownPages() >= f.maxPages) {
    return deny('cdp.maxPagesPerConnection', `${cmd.method}: this connection already holds ${f.maxPages} pages`)
  }
  if (method === 'Target.disposeBrowserContext' && f.tenancy === 'isolated' && (!st.view.contextAllowed(p.browserContextId) || p.browserContextId === st.view.gatewayContext)) {
    return deny('cdp.tenancy.context', 'only browser contexts this connection created can be disposed')
  }
  if (method === 'Target.createBrowserContext' && f.tenancy === 'isolated' && p.disposeOnDetach !== true) c = withParam(c, c.params ?? {}, 'disposeOnDetach', true)
  if (method === 'Target.setDiscoverTargets' && st.rootKind === 'browser' && st.enforce) {
    const filter = parseFilter(p.filter)
    if (filter === null || typeof p.discover !== 'boolean') return deny('cdp.params:discover', 'Target.setDiscoverTargets: discover must be a boolean and filter a target filter')
    return { action: 'answer', result: {}, discover: p.discover ? { filter } : null }
  }
  if (method === 'Input.dispatchKeyEvent' && f.input === 'filter') {
    const v = judgeKeyEvent(p)
    if (!v.allowed) return deny(v.rule, `${cmd.method}: ${v.message}`)
  }
  // 5. parameters
  return params(f, st, c, method, c.params ?? {})
}

function checkUrl (f: CdpFilter, cmd: CdpCommand, field: string, value: unknown): Decision | string {
  if (typeof value !== 'string') return deny(`cdp.params:${field}`, `${cmd.method}: ${field} must be a string`, 'HEDGE_CDP_URL_DENIED')
  const u = f.url(value)
  if (!u.allowed || u.canonical === undefined) return deny(u.rule, `${cmd.method}: URL refused (${u.rule})`, 'HEDGE_CDP_URL_DENIED')
  return u.canonical
}

/** A list of paths, each inside upload/ or output/ (asked of the injected path check). */
function filesInWorkspace (f: CdpFilter, files: unknown): boolean {
  return Array.isArray(files) && files.every(x => f.pathInside(x, f.fileDirs))
}

function withParam (cmd: CdpCommand, p: Record<string, unknown>, key: string, value: unknown): CdpCommand {
  return { ...cmd, params: { ...p, [key]: value } }
}

function params (f: CdpFilter, st: DecisionState, cmd: CdpCommand, method: string, p: Record<string, unknown>): Decision {
  switch (method) {
    case 'Page.navigate':
    case 'Target.createTarget':
    case 'Network.loadNetworkResource': {
      if (method === 'Target.createTarget' && p.url === undefined) return { action: 'forward', cmd }
      const u = checkUrl(f, cmd, 'url', p.url)
      return typeof u === 'string' ? { action: 'forward', cmd: withParam(cmd, p, 'url', u) } : u
    }
    case 'Fetch.continueRequest': {
      if (p.url === undefined) return { action: 'forward', cmd }
      const u = checkUrl(f, cmd, 'url', p.url)
      return typeof u === 'string' ? { action: 'forward', cmd: withParam(cmd, p, 'url', u) } : u
    }
    case 'Page.navigateToHistoryEntry': {
      const url = st.historyUrl(cmd.sessionId, p.entryId)
      if (url === undefined) return deny('cdp.params:history-entry-unknown', 'history entry not seen in a Page.getNavigationHistory answer on this connection')
      const u = checkUrl(f, cmd, 'entry url', url)
      return typeof u === 'string' ? { action: 'forward', cmd } : u
    }
    case 'Browser.setDownloadBehavior': {
      if (f.downloads === 'allow' || p.behavior === 'deny') return { action: 'forward', cmd }
      // "default" sends files to the profile's download folder (the browser user's ~/Downloads
      // unless the sandbox set it): treated as a download to a path the client did not choose.
      if (p.behavior === 'default') {
        if (f.downloads === 'refuse' || f.outputDir === undefined) return deny('cdp.downloads:default', 'behavior "default" would download outside the workspace output/')
        return { action: 'forward', cmd: { ...cmd, params: { ...p, behavior: 'allow', downloadPath: f.outputDir } }, rule: 'cdp.downloads:rewritten' }
      }
      if (f.outputDir === undefined) return deny('cdp.downloads:no-workspace', 'downloads need a workspace output/ directory')
      if (f.pathInside(p.downloadPath, [f.outputDir])) return { action: 'forward', cmd }
      if (f.downloads === 'refuse') return deny('cdp.downloads:outside-output', 'downloadPath must be inside the workspace output/')
      return { action: 'forward', cmd: withParam(cmd, p, 'downloadPath', f.outputDir), rule: 'cdp.downloads:rewritten' }
    }
    case 'DOM.setFileInputFiles': {
      const files = p.files
      if (!filesInWorkspace(f, files)) return deny('cdp.files:outside-workspace', 'files must be inside the workspace upload/ or output/')
      return { action: 'forward', cmd }
    }
    case 'Input.dispatchDragEvent': {
      // DragData.files: Chromium grants the page read access to every path dropped (measured:
      // page JS read /etc/hostname), so this is a file upload like DOM.setFileInputFiles.
      const data = p.data
      const files = data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>).files : undefined
      if (files === undefined || (Array.isArray(files) && files.length === 0)) return { action: 'forward', cmd }
      if (!filesInWorkspace(f, files)) {
        return deny('cdp.files:outside-workspace', 'dragged files must be inside the workspace upload/ or output/')
      }
      return { action: 'forward', cmd }
    }
    case 'Target.createBrowserContext':
      if (p.proxyServer !== undefined || p.proxyBypassList !== undefined) return deny('cdp.params:context-proxy', 'per-context proxies would route around the egress guard')
      return { action: 'forward', cmd }
    case 'Page.addScriptToEvaluateOnNewDocument':
      if (f.initScripts === 'deny') return deny('cdp.initScripts:deny', 'scripts injected into every new document are refused')
      // isolated-only: only scripts that merely create an isolated world (what Playwright and
      // Puppeteer send: an empty source or a sourceURL comment). An isolated-world script with
      // code could append a <script> element and so reach the main world of every document.
      if (f.initScripts === 'isolated-only' && (typeof p.worldName !== 'string' || p.worldName === '' || !isInertSource(p.source))) {
        return deny('cdp.initScripts:isolated-only', 'only init scripts that create an isolated world with no code are allowed (code would run in every future document)')
      }
      return { action: 'forward', cmd }
    case 'Page.addScriptToEvaluateOnLoad':
      // Deprecated but still dispatched (Chromium 156): a main-world script for every new
      // document, with no worldName parameter. Same rule as a main-world addScriptToEvaluateOnNewDocument.
      if (f.initScripts === 'allow') return { action: 'forward', cmd }
      return deny(`cdp.initScripts:${f.initScripts}`, 'addScriptToEvaluateOnLoad injects a main-world script into every new document')
    case 'IO.read':
    case 'IO.close':
      if (typeof p.handle !== 'string' || !st.handles.has(p.handle)) return deny('cdp.io:foreign-handle', 'stream handle was not issued on this connection')
      return method === 'IO.close' ? { action: 'forward', cmd, closesHandle: p.handle } : { action: 'forward', cmd }
    default:
      return { action: 'forward', cmd }
  }
}
