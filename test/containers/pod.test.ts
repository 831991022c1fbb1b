// The Kubernetes pod, emulated on the engine from the manifest itself: a holder container
// owns the network namespace (a pod's pause container), and each container of the
// Deployment's pod spec joins it with the manifest's args, env (the Secret's value), user,
// capabilities, no_new_privs, read-only root filesystem and volumes (emptyDir → a volume or
// tmpfs, the ConfigMap → a read-only directory of its data). Checked: both become ready, the
// gateway answers through the holder's loopback-published port for the Service's names
// (ConfigMap policy) and refuses others, and Playwright's connectOverCDP works end to end.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { chromium } from 'playwright-core'
import { clearAppendOnly, engineProblem, freePorts, GATEWAY_IMAGE, hedge, httpStatus, ROOT, run, SANDBOX_IMAGE, until } from './engine.ts'
import { rawRequest } from '../helpers/http.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>

/** docker run arguments for one container of a pod spec (the parts this manifest uses). */
export function dockerRunArgs (c: Obj, pod: Obj, o: { name: string, netns: string, secret: string, configDir: string, volumes: Record<string, string>, image: string }): string[] {
  const sc: Obj = c.securityContext ?? {}
  const args = ['run', '-d', '--name', o.name, '--network', `container:${o.netns}`]
  if (sc.runAsUser !== undefined) args.push('--user', `${String(sc.runAsUser)}:${String(sc.runAsGroup ?? sc.runAsUser)}`)
  if (sc.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges:true')
  if (sc.readOnlyRootFilesystem === true) args.push('--read-only')
  for (const cap of sc.capabilities?.drop ?? []) args.push('--cap-drop', String(cap))
  for (const cap of sc.capabilities?.add ?? []) args.push('--cap-add', String(cap))
  for (const e of c.env ?? []) {
    const value = e.value ?? (e.valueFrom?.secretKeyRef !== undefined ? o.secret : undefined)
    if (value === undefined) throw new Error(`env ${String(e.name)}: unsupported source`)
    args.push('-e', `${String(e.name)}=${String(value)}`)
  }
  for (const m of c.volumeMounts ?? []) {
    const vol = (pod.volumes as Obj[]).find(v => v.name === m.name)
    if (vol === undefined) throw new Error(`volumeMount ${String(m.name)}: no such volume`)
    const ro = m.readOnly === true ? ':ro' : ''
    if (vol.configMap !== undefined) args.push('-v', `${o.configDir}:${String(m.mountPath)}:ro`)
    else if (vol.emptyDir?.medium === 'Memory') args.push('--tmpfs', `${String(m.mountPath)}:exec,mode=1777`)
    else if (vol.emptyDir !== undefined) args.push('-v', `${o.volumes[m.name]}:${String(m.mountPath)}${ro}`)
    else throw new Error(`volume ${String(m.name)}: unsupported kind`)
  }
  if (c.volumeMounts?.some((m: Obj) => m.mountPath === '/dev/shm')) args.push('--shm-size', '1g')
  args.push(o.image, ...(c.args ?? []).map(String))
  return args
}

const problem = engineProblem()
if (problem !== null) {
  t.comment(`containers: skipped (${problem})`)
  t.pass('skipped')
} else {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy/kubernetes/sandbox-with-hedge.yaml'), 'utf8')).map(d => d.toJSON() as Obj)
  const deployment = docs.find(d => d.kind === 'Deployment')!
  const configMap = docs.find(d => d.kind === 'ConfigMap')!
  const service = docs.find(d => d.kind === 'Service')!
  const pod = deployment.spec.template.spec as Obj
  const tag = `hedgepod${process.pid}`
  const secret = randomBytes(48).toString('base64')
  const [cdpPort, kernelPort, adminPort] = await freePorts(3) as [number, number, number]
  const configDir = mkdtempSync(join(tmpdir(), 'hedge-pod-config-'))
  chmodSync(configDir, 0o755)
  for (const [k, v] of Object.entries(configMap.data as Record<string, string>)) writeFileSync(join(configDir, k), v, { mode: 0o644 })
  const volumes: Record<string, string> = {}
  for (const v of pod.volumes as Obj[]) if (v.emptyDir !== undefined && v.emptyDir.medium !== 'Memory') volumes[v.name] = `${tag}-${String(v.name)}`
  // a tmpfs per container would not be shared: the kernel socket must be one volume for both
  for (const v of pod.volumes as Obj[]) if (v.name === 'kernel-socket') volumes[v.name] = `${tag}-${String(v.name)}`
  const names: string[] = []
  t.teardown(async () => {
    for (const n of names.reverse()) await run('docker', ['rm', '-f', n])
    for (const v of Object.values(volumes)) {
      await clearAppendOnly(v)
      await run('docker', ['volume', 'rm', '-f', v])
    }
    rmSync(configDir, { recursive: true, force: true })
  })

  t.test('pod layout: both containers ready with the manifest\'s settings', async t => {
    const holder = `${tag}-pause`
    names.push(holder)
    const h = await run('docker', ['run', '-d', '--name', holder, '--user', '65534:65534', '--read-only', '--cap-drop', 'ALL', '--init', '--no-healthcheck',
      '-p', `127.0.0.1:${kernelPort}:18888`, '-p', `127.0.0.1:${cdpPort}:19223`, '-p', `127.0.0.1:${adminPort}:18080`,
      '--entrypoint', 'node', GATEWAY_IMAGE, '-e', 'setInterval(() => {}, 1 << 30)'])
    t.equal(h.code, 0, h.stderr)
    // the kernel-socket volume: emptyDir Memory in the manifest, one shared volume here
    for (const c of pod.containers as Obj[]) {
      const name = `${tag}-${String(c.name)}`
      names.push(name)
      const mapped = { ...c, volumeMounts: (c.volumeMounts ?? []).map((m: Obj) => m.name === 'kernel-socket' ? { ...m } : m) }
      const podForDocker = { ...pod, volumes: (pod.volumes as Obj[]).map(v => v.name === 'kernel-socket' ? { name: v.name, emptyDir: {} } : v) }
      const args = dockerRunArgs(mapped, podForDocker, { name, netns: holder, secret, configDir, volumes, image: c.name === 'sandbox' ? SANDBOX_IMAGE : GATEWAY_IMAGE })
      const r = await run('docker', args)
      t.equal(r.code, 0, `${String(c.name)}: ${r.stderr}`)
    }
    await until('pod ready', async () => (await httpStatus(`http://127.0.0.1:${adminPort}/readyz`)) === 200, 300_000, 3000)
    for (const c of pod.containers as Obj[]) {
      const logs = await run('docker', ['logs', `${tag}-${String(c.name)}`])
      t.match(logs.stdout, /ready \{/, `${String(c.name)} printed its ready line`)
    }
  })

  t.test('the Service\'s names pass the host allowlist (ConfigMap policy); others do not', async t => {
    const tok = await hedge(['token', '--aud', 'kernel', '--scope', 'kernel:read'], { HEDGE_JWT_SECRET: secret })
    const svc = String(service.metadata.name)
    // node:http with setHost false: fetch() does not let a caller choose the Host header
    const status = async (host: string): Promise<number> => (await rawRequest(kernelPort, { path: '/kernel/status', headers: [['Host', host], ['Authorization', `Bearer ${tok}`]] })).status
    for (const host of [svc, `${svc}.default.svc`, `${svc}.default.svc.cluster.local`]) t.equal(await status(`${host}:18888`), 200, `Host ${host}`)
    t.equal(await status('evil.example:18888'), 421, 'other names refused')
    t.equal(await status(`${svc}.other.svc:18888`), 421, 'the Service name of another namespace refused')
  })

  t.test('Playwright connectOverCDP through the pod\'s gateway', async t => {
    const tok = await hedge(['token', '--aud', 'cdp', '--scope', 'cdp:read cdp:control'], { HEDGE_JWT_SECRET: secret })
    const browser = await chromium.connectOverCDP(`http://127.0.0.1:${cdpPort}`, { headers: { authorization: `Bearer ${tok}` }, timeout: 60_000 })
    try {
      const page = await browser.contexts()[0]!.newPage()
      await page.setContent('<a id="d" download="pod.txt" href="data:text/plain,pod-download">d</a>')
      t.equal(await page.evaluate(() => document.title + 'ok'), 'ok', 'evaluate')
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#d')])
      t.equal(download.suggestedFilename(), 'pod.txt', 'download')
      await until('download in output/', async () => (await run('docker', ['exec', '-u', '0', `${tag}-sandbox`, 'grep', '-rl', 'pod-download', '/mnt/okcomputer/output'])).code === 0, 60_000)
      t.pass('download landed in output/')
    } finally { await browser.close() }
  })
}
