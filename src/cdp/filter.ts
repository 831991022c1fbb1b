// The CDP filter as compiled from policy: method matchers, the URL policy, target rules and
// the workspace directories, plus the one check that needs the filesystem (where a client-
// named path really points once symlinks are resolved), injected into decide() from here.
import { realpathSync } from 'node:fs'
import { dirname, isAbsolute, resolve, sep } from 'node:path'
import type { Policy } from '../policy/schema.ts'
import { compileMethodRules, type MethodMatcher } from './method-rules.ts'
import { compileUrlPolicy, type UrlPolicy } from './url-policy.ts'
import type { AddressClass } from '../net/address-policy.ts'
import { compileTargetRules, type TargetRules } from './targets.ts'
import type { Tenancy } from './target-view.ts'

export interface CdpFilter {
  readonly methods: MethodMatcher
  readonly browserSessionDeny: MethodMatcher
  readonly url: UrlPolicy
  readonly downloads: 'rewrite' | 'refuse' | 'allow'
  readonly initScripts: 'allow' | 'isolated-only' | 'deny'
  readonly outputDir: string | undefined
  readonly fileDirs: readonly string[]
  readonly targets: TargetRules
  readonly tenancy: Tenancy
  readonly input: 'filter' | 'allow'
  readonly maxPages: number
  /** Is a client-named file path inside one of these directories? Injected: the real one resolves symlinks (insideDirs). */
  readonly pathInside: PathCheck
}

export type PathCheck = (path: unknown, dirs: readonly string[]) => boolean

export interface WorkspaceDirs { readonly output?: string, readonly upload?: string }

export function compileCdpFilter (cdp: Policy['cdp'], dirs: WorkspaceDirs = {}, pathInside: PathCheck = insideDirs): CdpFilter {
  return Object.freeze({
    methods: compileMethodRules(cdp.methods),
    browserSessionDeny: compileMethodRules({ default: 'allow', allow: [], deny: cdp.methods.browserSessionDeny }, 'cdp.methods.browserSessionDeny'),
    url: compileUrlPolicy({ schemes: cdp.urls.schemes, allowAboutBlank: cdp.urls.allowAboutBlank, denyAddressClasses: cdp.urls.denyAddressClasses as AddressClass[], allowHosts: cdp.urls.allowHosts, denyHosts: cdp.urls.denyHosts }),
    downloads: cdp.downloads,
    initScripts: cdp.initScripts,
    outputDir: dirs.output === undefined ? undefined : real(dirs.output),
    fileDirs: [dirs.upload, dirs.output].filter((x): x is string => x !== undefined).map(real),
    targets: compileTargetRules(cdp.targets),
    tenancy: cdp.tenancy,
    input: cdp.input,
    maxPages: cdp.maxPagesPerConnection,
    pathInside,
  })
}

function real (p: string): string {
  try { return realpathSync(p) } catch { return resolve(p) }
}

/** Is `p` (absolute, no NUL) inside one of `dirs` once symlinks are resolved? */
export function insideDirs (p: unknown, dirs: readonly string[]): boolean {
  if (typeof p !== 'string' || p === '' || p.includes('\0') || !isAbsolute(p)) return false
  const abs = resolve(p)
  let r: string
  try { r = realpathSync(abs) } catch { try { r = resolve(realpathSync(dirname(abs)), abs.slice(dirname(abs).length + 1)) } catch { return false } }
  return dirs.some(d => r === d || r.startsWith(d + sep))
}
