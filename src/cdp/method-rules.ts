// Method allow/deny rules, compiled once: exact names in Sets, `Domain.*` globs in a
// Set of domains. Deny is checked before allow; what no rule names gets the default.
// Names are matched byte-exact after alias resolution, as Chromium's dispatcher does.
import { effectiveMethod } from './aliases.ts'

export interface MethodRulesInput { default: 'allow' | 'deny', allow: readonly string[], deny: readonly string[] }
export interface MethodDecision { readonly allowed: boolean, readonly rule: string }
export type MethodMatcher = (method: string) => MethodDecision

function compileList (list: readonly string[], where: string): { exact: Set<string>, domains: Set<string>, has: (m: string) => string | undefined } {
  const exact = new Set<string>()
  const domains = new Set<string>()
  list.forEach((entry, i) => {
    const m = /^([A-Za-z]+)\.(\*|[A-Za-z]+)$/.exec(entry)
    if (m === null) throw new Error(`${where}[${i}]: not "Domain.method" or "Domain.*": "${entry}"`)
    if (m[2] === '*') domains.add(m[1] as string)
    else exact.add(entry)
  })
  return {
    exact,
    domains,
    has (method: string): string | undefined {
      if (exact.has(method)) return method
      const dot = method.indexOf('.')
      const domain = method.slice(0, dot)
      return domains.has(domain) ? `${domain}.*` : undefined
    },
  }
}

export function compileMethodRules (r: MethodRulesInput, where = 'cdp.methods'): MethodMatcher {
  const deny = compileList(r.deny, `${where}.deny`)
  const allow = compileList(r.allow, `${where}.allow`)
  return (method: string): MethodDecision => {
    const m = effectiveMethod(method)
    const d = deny.has(m)
    if (d !== undefined) return { allowed: false, rule: `${where}.deny:${d}` }
    const a = allow.has(m)
    if (a !== undefined) return { allowed: true, rule: `${where}.allow:${a}` }
    return { allowed: r.default === 'allow', rule: `${where}.default:${r.default}` }
  }
}
