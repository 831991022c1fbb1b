// Compile a validated policy into plain matcher functions, once. Requests only ever
// run the compiled result; a rule that cannot be compiled throws here, at load time.
import type { Policy, LayerName, LayerMode, RouteRule, Scope } from './schema.ts'
import { LAYERS } from './schema.ts'

export interface CompiledRoute {
  readonly method: string
  readonly path: string
  readonly action: 'allow' | 'deny' | 'redact'
  readonly scope: Scope | undefined
  readonly body: boolean
  readonly rule: string // e.g. "kernel.routes[3]": names the rule in logs
}

export type RouteMatch =
  | { kind: 'match', route: CompiledRoute }
  | { kind: 'method', allowed: readonly string[] } // path known, method not
  | { kind: 'none' }

export interface CompiledPolicy {
  readonly policy: Readonly<Policy>
  readonly name: string
  mode: (layer: LayerName) => LayerMode
  /** Host header value (already lower-cased) allowed? */
  hostAllowed: (host: string) => boolean
  /** Serialised origin allowed? (exact match) */
  originAllowed: (origin: string) => boolean
  matchRoute: (method: string, path: string) => RouteMatch
}

const HOST_RE = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(\d{1,5}))?$/

/** Split a Host header value into name and port; null when it is not a plain host[:port]. */
export function splitHost (value: string): { name: string, port: string | undefined } | null {
  const m = HOST_RE.exec(value.toLowerCase())
  if (m === null) return null
  return { name: m[1] as string, port: m[2] }
}

/** The serialisation a browser sends in Origin for this origin, or null if `value` is not one. */
export function canonicalOrigin (value: string): string | null {
  if (!/^https?:\/\/[^/?#@\s]+$/i.test(value)) return null
  try {
    const u = new URL(value)
    return u.origin === 'null' ? null : u.origin
  } catch { return null }
}

export function compilePolicy (policy: Readonly<Policy>): CompiledPolicy {
  const modes = new Map<LayerName, LayerMode>(LAYERS.map(l => [l, policy.layers[l] ?? 'off']))

  const anyPort = new Set<string>()
  const exact = new Set<string>()
  policy.hosts.allow.forEach((h, i) => {
    const s = splitHost(h)
    if (s === null) throw new Error(`hosts.allow[${i}]: not a host or host:port: "${h}"`)
    if (s.port === undefined) anyPort.add(s.name)
    else exact.add(`${s.name}:${s.port}`)
  })

  const origins = new Set<string>()
  policy.origins.allow.forEach((o, i) => {
    const c = canonicalOrigin(o)
    if (c === null) throw new Error(`origins.allow[${i}]: not an origin (scheme://host[:port]): "${o}"`)
    if (c !== o) throw new Error(`origins.allow[${i}]: write "${o}" as browsers send it: "${c}"`)
    origins.add(c)
  })

  const byPath = new Map<string, Map<string, CompiledRoute>>()
  policy.kernel.routes.forEach((r: RouteRule, i) => {
    const rule = `kernel.routes[${i}]`
    if (r.action !== 'deny' && r.scope === undefined) throw new Error(`${rule}: an allow/redact route needs a scope (use "public" for no token)`)
    const methods = byPath.get(r.path) ?? new Map<string, CompiledRoute>()
    if (methods.has(r.method)) throw new Error(`${rule}: duplicate route ${r.method} ${r.path}`)
    methods.set(r.method, Object.freeze({ method: r.method, path: r.path, action: r.action, scope: r.scope, body: r.body ?? false, rule }))
    byPath.set(r.path, methods)
  })

  return Object.freeze({
    policy,
    name: policy.name,
    mode: (layer: LayerName) => modes.get(layer) ?? 'off',
    hostAllowed (host: string): boolean {
      const s = splitHost(host)
      if (s === null) return false
      return anyPort.has(s.name) || (s.port !== undefined && exact.has(`${s.name}:${s.port}`))
    },
    originAllowed: (origin: string) => origins.has(origin),
    matchRoute (method: string, path: string): RouteMatch {
      const methods = byPath.get(path)
      if (methods === undefined) return { kind: 'none' }
      const route = methods.get(method)
      return route === undefined ? { kind: 'method', allowed: [...methods.keys()] } : { kind: 'match', route }
    },
  })
}
