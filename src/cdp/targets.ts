// Which targets a client may see and reach, judged on what the browser says a target is
// (type and URL), never on what the client claims. A session, a page-socket upgrade, a
// discovery entry or a ticket exists only for a target these rules allow.
//
// Why: a `devtools://` frontend (opened by a key accelerator) exposes
// `InspectorFrontendHost.sendMessageToBackend`, raw CDP that never crosses the gateway;
// `chrome://` WebUI pages (history, downloads, the omnibox popup) carry Mojo bindings and
// other clients' data. Both report `type: "page"` or `browser_ui`. See docs/cdp-model.md.
import type { Policy } from '../policy/schema.ts'

/** The subset of CDP's Target.TargetInfo the gateway decides on (the rest is passed through). */
export interface TargetInfo {
  readonly targetId: string
  readonly type: string
  readonly url: string
  readonly browserContextId?: string
  readonly openerId?: string
  readonly [k: string]: unknown
}

export interface TargetRules {
  readonly types: ReadonlySet<string>
  readonly schemes: ReadonlySet<string>
}

export type TargetVerdict = { readonly allowed: true } | { readonly allowed: false, readonly rule: string, readonly message: string }

/** Schemes that are never a target the client may reach, whatever the policy lists (checked at load too). */
export const PRIVILEGED_SCHEMES = new Set(['devtools', 'chrome', 'chrome-untrusted', 'chrome-search', 'chrome-extension', 'chrome-error', 'file', 'view-source'])

export function compileTargetRules (t: Policy['cdp']['targets']): TargetRules {
  t.schemes.forEach((s, i) => {
    if (PRIVILEGED_SCHEMES.has(s)) throw new Error(`cdp.targets.schemes[${i}]: "${s}" targets are privileged and never allowed`)
  })
  return Object.freeze({ types: new Set(t.types), schemes: new Set(t.schemes) })
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/

/** The scheme of `url`, lower-cased, or undefined when it has none. `blob:` is judged by its inner origin. */
export function targetScheme (url: string): string | undefined {
  const m = SCHEME.exec(url)
  if (m === null) return undefined
  const scheme = (m[1] as string).toLowerCase()
  if (scheme !== 'blob') return scheme
  const inner = SCHEME.exec(url.slice(5))
  const innerScheme = inner === null ? undefined : (inner[1] as string).toLowerCase()
  return innerScheme === 'http' || innerScheme === 'https' ? 'blob' : `blob+${innerScheme ?? 'opaque'}`
}

export function judgeTarget (rules: TargetRules, info: { type?: unknown, url?: unknown }): TargetVerdict {
  const type = typeof info.type === 'string' ? info.type : ''
  if (!rules.types.has(type)) return { allowed: false, rule: 'cdp.targets.type', message: `targets of type "${type}" are not allowed` }
  if (typeof info.url !== 'string') return { allowed: false, rule: 'cdp.targets.url', message: 'target has no URL' }
  // A target that has not committed a navigation yet reports "" (it is about:blank).
  if (info.url === '') return { allowed: true }
  const scheme = targetScheme(info.url)
  if (scheme === undefined || PRIVILEGED_SCHEMES.has(scheme) || !rules.schemes.has(scheme)) {
    return { allowed: false, rule: 'cdp.targets.scheme', message: `targets at ${scheme ?? 'scheme-less'} URLs are not allowed` }
  }
  return { allowed: true }
}

export function isTargetInfo (v: unknown): v is TargetInfo {
  if (v === null || typeof v !== 'object') return false
  const o = v as Record<string, unknown>
  return typeof o.targetId === 'string' && typeof o.type === 'string' && typeof o.url === 'string'
}
