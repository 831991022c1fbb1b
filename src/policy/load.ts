// Load a policy once: read YAML (duplicate keys are an error), apply defaults and
// validate against the one schema, apply HEDGE_LAYER_* overrides, then freeze.
// A mistake is reported with its path in the file, e.g.
//   kernel.routes[3].scope: unknown scope "kernal:read" (one of: public, kernel:read, …)
import { readFileSync, existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv, type ErrorObject } from 'ajv'
import { parseDocument } from 'yaml'
import { PolicySchema, LAYERS, MODES, type Policy, type LayerMode } from './schema.ts'

export const POLICY_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../policies')

export class PolicyError extends Error {
  constructor (readonly source: string, readonly problems: string[]) {
    super(`${source}: invalid policy\n  ${problems.join('\n  ')}`)
    this.name = 'PolicyError'
  }
}

const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false, verbose: true })
const validate = ajv.compile<Policy>(PolicySchema)

/** `hedged` → policies/hedged.yaml; anything with a slash or .yaml/.yml is a path. */
export function resolvePolicyPath (nameOrFile: string): string {
  if (/[/\\]/.test(nameOrFile) || /\.ya?ml$/.test(nameOrFile)) return resolve(nameOrFile)
  if (!/^[a-z0-9][a-z0-9-]*$/.test(nameOrFile)) throw new PolicyError(nameOrFile, [`not a policy name or file: "${nameOrFile}"`])
  return join(POLICY_DIR, `${nameOrFile}.yaml`)
}

export function loadPolicy (nameOrFile: string, env: NodeJS.ProcessEnv = process.env): Readonly<Policy> {
  const file = resolvePolicyPath(nameOrFile)
  return validatePolicy(readWithExtends(file, []), file, env)
}

export function parsePolicy (text: string, source: string, env: NodeJS.ProcessEnv = process.env): Readonly<Policy> {
  return validatePolicy(resolveExtends(parseYaml(text, source), source, []), source, env)
}

function parseYaml (text: string, source: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false })
  if (doc.errors.length > 0) throw new PolicyError(source, doc.errors.map(e => `YAML: ${e.message.split('\n')[0] ?? ''}`))
  return doc.toJS({ maxAliasCount: 0 })
}

function readWithExtends (file: string, chain: string[]): unknown {
  if (!existsSync(file)) throw new PolicyError(chain[0] ?? file, [`no such policy file: ${file}`])
  return resolveExtends(parseYaml(readFileSync(file, 'utf8'), file), file, chain)
}

/**
 * `extends: hedged` (a name, or a path relative to this file): the parent, with this file's keys
 * merged over it (objects merge, arrays and scalars replace).
 */
function resolveExtends (data: unknown, source: string, chain: string[]): unknown {
  if (!isPlainObject(data) || data.extends === undefined) return data
  const { extends: parent, ...rest } = data
  if (typeof parent !== 'string') throw new PolicyError(source, ['extends: must be a policy name or file'])
  const parentFile = /[/\\]/.test(parent) ? resolve(dirname(source), parent) : resolvePolicyPath(parent)
  if (chain.includes(parentFile) || parentFile === source) throw new PolicyError(source, [`extends: cycle through ${parentFile}`])
  return merge(readWithExtends(parentFile, [...chain, source]), rest)
}

/** A policy with `patch` merged over it (objects merge, arrays/scalars replace), validated again. */
export function derivePolicy (base: Readonly<Policy>, patch: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Readonly<Policy> {
  return validatePolicy(merge(structuredClone(base), patch), `${base.name}+patch`, env)
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function merge (base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over
  const out: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v)
  return out
}

export function validatePolicy (data: unknown, source: string, env: NodeJS.ProcessEnv = process.env): Readonly<Policy> {
  const copy: unknown = structuredClone(data)
  if (!validate(copy)) throw new PolicyError(source, formatErrors(validate.errors ?? []))
  const policy = copy
  applyLayerOverrides(policy, env)
  return deepFreeze(policy)
}

/** HEDGE_LAYER_AUTH=off, HEDGE_LAYER_CDP_FILTER=report-only, … (bad values are errors, not ignored). */
export function applyLayerOverrides (policy: Policy, env: NodeJS.ProcessEnv): void {
  for (const layer of LAYERS) {
    const key = `HEDGE_LAYER_${layer.toUpperCase().replace(/-/g, '_')}`
    const v = env[key]
    if (v === undefined || v === '') continue
    if (!(MODES as readonly string[]).includes(v)) throw new PolicyError(key, [`${key}: must be one of ${MODES.join(', ')}, got "${v}"`])
    policy.layers[layer] = v as LayerMode
  }
}

function jsonPath (instancePath: string): string {
  let out = ''
  for (const raw of instancePath.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    out += /^\d+$/.test(seg) ? `[${seg}]` : (out === '' ? seg : `.${seg}`)
  }
  return out === '' ? '(top level)' : out
}

function formatErrors (errors: ErrorObject[]): string[] {
  const out = new Set<string>()
  // anyOf-of-literals errors come as one `const` error per alternative plus one `anyOf`: keep the anyOf one.
  const anyOfPaths = new Set(errors.filter(e => e.keyword === 'anyOf').map(e => e.instancePath))
  for (const e of errors) {
    const path = jsonPath(e.instancePath)
    if (anyOfPaths.has(e.instancePath) && e.keyword !== 'anyOf') continue
    if (e.keyword === 'additionalProperties') {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty)
      out.add(`${path === '(top level)' ? extra : `${path}.${extra}`}: unknown key "${extra}"`)
    } else if (e.keyword === 'anyOf') {
      const alts = ((e.parentSchema as { anyOf?: Array<{ const?: unknown }> }).anyOf ?? []).map(a => a.const)
      const got = instanceAt(e)
      const leaf = e.instancePath.split('/').pop() ?? 'value'
      const what = /^\d+$/.test(leaf) ? 'value' : leaf
      out.add(alts.every(a => a !== undefined)
        ? `${path}: unknown ${what} ${JSON.stringify(got)} (one of: ${alts.join(', ')})`
        : `${path}: ${e.message ?? 'invalid'}`)
    } else {
      out.add(`${path}: ${e.message ?? 'invalid'}`)
    }
  }
  return [...out]
}

function instanceAt (e: ErrorObject): unknown {
  return e.data // present because the validator is compiled with `verbose`
}

function deepFreeze<T> (o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o)
    for (const v of Object.values(o)) deepFreeze(v)
  }
  return o
}
