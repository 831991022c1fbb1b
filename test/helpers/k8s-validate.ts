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

// ---------- Pod Security Standards ----------------------------------------------------------

/** Capabilities `baseline` lets a container add (Pod Security Standards, Kubernetes ≥ 1.25). */
export const BASELINE_CAPABILITIES = ['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE',
  'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']
const SAFE_SYSCTLS = ['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']
const RESTRICTED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']
const SELINUX_TYPES = ['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']

export interface PodSecurityViolations { baseline: string[], restricted: string[] }

/** What keeps one container of a pod spec (with the pod-level settings that apply to it) from
 *  the `baseline` and `restricted` levels: the checks of the Pod Security admission
 *  controller, written out. `restricted` lists the baseline violations too. */
export function podSecurityViolations (pod: Obj, containerName: string): PodSecurityViolations {
  const c = ([...(pod.containers ?? []), ...(pod.initContainers ?? [])] as Obj[]).find(x => x.name === containerName)
  if (c === undefined) throw new Error(`no container ${containerName}`)
  const psc: Obj = pod.securityContext ?? {}
  const sc: Obj = c.securityContext ?? {}
  const baseline: string[] = []
  const restricted: string[] = []
  // baseline
  for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod[k] === true) baseline.push(`${k}: true`)
  if (psc.windowsOptions?.hostProcess === true || sc.windowsOptions?.hostProcess === true) baseline.push('windowsOptions.hostProcess')
  if (sc.privileged === true) baseline.push('privileged: true')
  for (const cap of (sc.capabilities?.add ?? []) as string[]) {
    if (!BASELINE_CAPABILITIES.includes(cap)) baseline.push(`capabilities.add ${cap}`)
  }
  for (const v of (pod.volumes ?? []) as Obj[]) if (v.hostPath !== undefined) baseline.push(`hostPath volume ${String(v.name)}`)
  for (const p of (c.ports ?? []) as Obj[]) {
    if (p.hostPort !== undefined && p.hostPort !== 0) baseline.push(`hostPort ${String(p.hostPort)}`)
  }
  for (const s of [psc, sc]) {
    if (s.appArmorProfile?.type === 'Unconfined') baseline.push('appArmorProfile Unconfined')
    if (s.seccompProfile?.type === 'Unconfined') baseline.push('seccompProfile Unconfined')
    const se: Obj | undefined = s.seLinuxOptions
    if (se !== undefined && (!SELINUX_TYPES.includes(se.type ?? '') || se.user !== undefined || se.role !== undefined)) {
      baseline.push('seLinuxOptions')
    }
  }
  if (sc.procMount !== undefined && sc.procMount !== 'Default') baseline.push(`procMount ${String(sc.procMount)}`)
  for (const s of (psc.sysctls ?? []) as Obj[]) if (!SAFE_SYSCTLS.includes(s.name)) baseline.push(`sysctl ${String(s.name)}`)
  // restricted
  for (const v of (pod.volumes ?? []) as Obj[]) {
    const kind = Object.keys(v).find(k => k !== 'name')
    if (kind === undefined || !RESTRICTED_VOLUMES.includes(kind)) restricted.push(`volume ${String(v.name)} of type ${String(kind)}`)
  }
  if (sc.allowPrivilegeEscalation !== false) restricted.push('allowPrivilegeEscalation is not false')
  const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot
  if (nonRoot !== true) restricted.push('runAsNonRoot is not true')
  if ((sc.runAsUser ?? psc.runAsUser) === 0) restricted.push('runAsUser 0')
  const seccomp = (sc.seccompProfile ?? psc.seccompProfile)?.type
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') restricted.push(`seccompProfile ${String(seccomp)}`)
  if (!((sc.capabilities?.drop ?? []) as string[]).includes('ALL')) restricted.push('capabilities.drop lacks ALL')
  for (const cap of (sc.capabilities?.add ?? []) as string[]) if (cap !== 'NET_BIND_SERVICE') restricted.push(`capabilities.add ${cap}`)
  return { baseline, restricted: [...new Set([...baseline, ...restricted])] }
}

// ---------- references the schema cannot see ------------------------------------------------

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/ // Service names
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const PORT_NAME = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/

/** A few of the API server's semantic checks, for the objects this repository ships: names,
 *  port names, volume mounts naming volumes, named probe and Service ports declared by the
 *  pod, ConfigMaps mounted from the same set of documents, selectors that select the pod. */
export function referenceProblems (docs: readonly Obj[]): string[] {
  const out: string[] = []
  for (const d of docs) {
    const name = String(d.metadata?.name)
    const label = d.kind === 'Service' ? DNS1035_LABEL : DNS1123_SUBDOMAIN
    if (!label.test(name) || name.length > (d.kind === 'Service' ? 63 : 253)) out.push(`${String(d.kind)} ${name}: invalid name`)
  }
  for (const dep of docs.filter(d => d.kind === 'Deployment')) {
    const tmpl: Obj = dep.spec?.template ?? {}
    const pod: Obj = tmpl.spec ?? {}
    const labels: Obj = tmpl.metadata?.labels ?? {}
    const selects = (sel: Obj | undefined): boolean => sel !== undefined && Object.entries(sel).every(([k, v]) => labels[k] === v)
    if (!selects(dep.spec?.selector?.matchLabels)) out.push(`Deployment ${String(dep.metadata?.name)}: selector does not match the pod`)
    const volumes = new Set(((pod.volumes ?? []) as Obj[]).map(v => String(v.name)))
    const ports = new Set<string>()
    for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])] as Obj[]) {
      if (!DNS1123_LABEL.test(String(c.name))) out.push(`container ${String(c.name)}: invalid name`)
      for (const p of (c.ports ?? []) as Obj[]) {
        if (p.name !== undefined && !PORT_NAME.test(String(p.name))) out.push(`${String(c.name)}: invalid port name ${String(p.name)}`)
        if (p.name !== undefined) ports.add(String(p.name))
      }
      for (const m of (c.volumeMounts ?? []) as Obj[]) {
        if (!volumes.has(String(m.name))) out.push(`${String(c.name)}: mounts unknown volume ${String(m.name)}`)
      }
    }
    for (const c of (pod.containers ?? []) as Obj[]) {
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const port = (c[probe]?.httpGet ?? c[probe]?.tcpSocket)?.port as unknown
        if (typeof port === 'string' && !((c.ports ?? []) as Obj[]).some(p => p.name === port)) {
          out.push(`${String(c.name)}: ${probe} uses undeclared port ${port}`)
        }
      }
    }
    for (const v of (pod.volumes ?? []) as Obj[]) {
      const cm = v.configMap?.name as string | undefined
      if (cm !== undefined && !docs.some(d => d.kind === 'ConfigMap' && d.metadata?.name === cm)) {
        out.push(`volume ${String(v.name)}: no ConfigMap ${cm}`)
      }
    }
    for (const svc of docs.filter(d => d.kind === 'Service')) {
      if (!selects(svc.spec?.selector)) out.push(`Service ${String(svc.metadata?.name)}: selector does not match the pod`)
      for (const p of (svc.spec?.ports ?? []) as Obj[]) {
        if (typeof p.targetPort === 'string' && !ports.has(p.targetPort)) {
          out.push(`Service port ${String(p.name)}: no container port ${p.targetPort}`)
        }
      }
    }
    for (const np of docs.filter(d => d.kind === 'NetworkPolicy')) {
      if (!selects(np.spec?.podSelector?.matchLabels)) out.push(`NetworkPolicy ${String(np.metadata?.name)}: does not select the pod`)
    }
  }
  return out
}
