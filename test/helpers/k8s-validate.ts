// Schema validation of Kubernetes objects without a cluster: each document is checked
// against the OpenAPI schema of its kind as shipped by `kubernetes-models` (ajv-compiled,
// one class per kind with `.validate()`, throwing on a type error, a bad enum value or a
// missing required field). Those compiled schemas do not reject unknown fields (no
// `additionalProperties: false` in Kubernetes' OpenAPI), which is what the API server's strict
// field validation (`kubectl apply --validate=strict`, the default) does: a misspelt
// `runAsNonRot` would pass silently. So the validator runs on a recording proxy, and every
// field of a typed object that the schema never looked at is reported as unknown.
// Kinds that kubernetes-models does not know (CRDs, typos) are errors, never skipped.
import { parseAllDocuments } from 'yaml'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>

interface KindClass {
  apiVersion: string
  kind: string
  new (data: Obj): { validate: () => void }
}

const classes = new Map<string, Promise<KindClass | null>>()

/** The kubernetes-models class for apiVersion + kind, or null when it ships none. */
export async function kindClass (apiVersion: unknown, kind: unknown): Promise<KindClass | null> {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return null
  // group/version as the package lays them out: `v1/ConfigMap`, `apps/v1/Deployment`
  if (!/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return null
  const key = `${apiVersion}/${kind}`
  let found = classes.get(key)
  if (found === undefined) {
    found = (import(`kubernetes-models/${key}`) as Promise<Obj>).then(mod => {
      const cls = mod[kind] as KindClass | undefined
      // nested types (`v1/Container`) have no apiVersion/kind of their own: not a top-level kind
      return cls !== undefined && cls.apiVersion === apiVersion && cls.kind === kind ? cls : null
    }, () => null)
    classes.set(key, found)
  }
  return await found
}

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A deep proxy of `data` that records, per object, which own fields were read. */
function recording (data: unknown, read: Map<Obj, Set<string>>, path: string, paths: Map<Obj, string>): unknown {
  if (Array.isArray(data)) {
    return new Proxy(data, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver) as unknown
        return typeof prop === 'string' && /^\d+$/.test(prop) ? recording(v, read, `${path}/${prop}`, paths) : v
      },
    })
  }
  if (!isObject(data)) return data
  const seen = new Set<string>()
  read.set(data, seen)
  paths.set(data, path)
  return new Proxy(data, {
    get: (target, prop, receiver) => {
      const v = Reflect.get(target, prop, receiver) as unknown
      if (typeof prop !== 'string') return v
      seen.add(prop)
      return recording(v, read, `${path}/${prop}`, paths)
    },
    // a map (labels, data, resources.limits) is walked key by key: every key counts as read
    ownKeys: target => { for (const k of Object.keys(target)) seen.add(k); return Reflect.ownKeys(target) },
  })
}

/** Problems with one object: schema errors, unknown fields, unknown kind. Empty when valid. */
export async function validateObject (doc: unknown): Promise<string[]> {
  if (!isObject(doc)) return ['not a mapping']
  const cls = await kindClass(doc.apiVersion, doc.kind)
  if (cls === null) {
    return [`unknown kind ${String(doc.apiVersion)} ${String(doc.kind)} (not in kubernetes-models: no schema to check it against)`]
  }
  const read = new Map<Obj, Set<string>>()
  const paths = new Map<Obj, string>()
  const proxy = recording(structuredClone(doc), read, '', paths) as Obj
  const problems: string[] = []
  try {
    cls.prototype.validate.call(proxy)
  } catch (err) {
    problems.push(`schema: ${(err as Error).message}`)
  }
  for (const [obj, seen] of read) {
    for (const key of Object.keys(obj)) if (!seen.has(key)) problems.push(`unknown field ${paths.get(obj) ?? ''}/${key}`)
  }
  return problems
}

export interface DocProblems { index: number, kind: string, name: string, problems: string[] }

/** Every document of a multi-document YAML text (empty ones dropped), parsed strictly. */
export function parseManifests (text: string, source: string): Obj[] {
  const out: Obj[] = []
  for (const d of parseAllDocuments(text, { uniqueKeys: true })) {
    if (d.errors.length > 0) throw new Error(`${source}: ${d.errors.map(e => e.message).join('; ')}`)
    if (d.warnings.length > 0) throw new Error(`${source}: ${d.warnings.map(e => e.message).join('; ')}`)
    const js = d.toJS() as unknown
    if (js === null || js === undefined) continue
    if (!isObject(js)) throw new Error(`${source}: a document is not a mapping`)
    out.push(js)
  }
  return out
}

/** Validation of every document; the result lists only those with problems. */
export async function validateAll (docs: readonly Obj[]): Promise<DocProblems[]> {
  const out: DocProblems[] = []
  for (const [index, doc] of docs.entries()) {
    const problems = await validateObject(doc)
    if (problems.length > 0) out.push({ index, kind: String(doc.kind), name: String(doc.metadata?.name), problems })
  }
  return out
}
