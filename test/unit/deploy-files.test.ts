// Static checks of the deployment files (no Docker engine or cluster here): the compose file,
// both Dockerfiles, .dockerignore and the Kubernetes manifest parse, keep the properties their
// comments promise (no egress, dropped capabilities, only the gateway published, the secret
// from the environment), agree with each other (agent uid, socket path, ports) and only use
// CLI flags that the commands define.
import t from 'tap'
import { parse, parseAllDocuments } from 'yaml'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { spawn, spawnSync } from 'node:child_process'
import { connect, createServer, type AddressInfo } from 'node:net'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join, posix, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Script } from 'node:vm'
import { loadPolicy } from '../../src/policy/load.ts'
import { LAYERS } from '../../src/policy/schema.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const read = (rel: string): string => readFileSync(join(ROOT, rel), 'utf8')

const HEDGED = loadPolicy('hedged', {})
const GATEWAY_PORTS = [HEDGED.listen.kernelPort, HEDGED.listen.cdpPort, HEDGED.listen.adminPort]
const NEVER_PUBLISHED = [8888, 9222, 9223, HEDGED.listen.egressPort] // upstreams and the egress guard (hedged)
/** What the root supervisor needs (see the compose header); anything else is a regression. */
const SANDBOX_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE']

// ---------- Dockerfiles -------------------------------------------------------------------

interface Instr { op: string, args: string, line: number }

/** Instructions with continuations joined; comments and the syntax directive dropped. */
function dockerfile (rel: string): Instr[] {
  const out: Instr[] = []
  let buf = ''
  let start = 0
  read(rel).split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line.startsWith('#') || (buf === '' && line === '')) return
    if (buf === '') start = i + 1
    if (line.endsWith('\\')) { buf += line.slice(0, -1) + ' '; return }
    buf += line
    const m = /^(\S+)\s+([\s\S]*)$/.exec(buf)
    if (m === null) throw new Error(`${rel}:${start}: cannot parse "${buf}"`)
    out.push({ op: (m[1] as string).toUpperCase(), args: (m[2] as string).trim(), line: start })
    buf = ''
  })
  return out
}

const execForm = (args: string): string[] => args.startsWith('[') ? JSON.parse(args) as string[] : ['/bin/sh', '-c', args]
const last = (d: Instr[], op: string): Instr | undefined => d.filter(i => i.op === op).at(-1)

const DOCKERFILES = { sandbox: 'sandbox/Dockerfile', gateway: 'gateway/Dockerfile' } as const
const DF = { sandbox: dockerfile(DOCKERFILES.sandbox), gateway: dockerfile(DOCKERFILES.gateway) }

const agentUid = ((): number => {
  const runs = DF.sandbox.filter(i => i.op === 'RUN').map(i => i.args).join('\n')
  const m = /useradd\b[^\n]*?--uid\s+(\d+)[^\n]*\bhedge-agent\b/.exec(runs)
  return m === null ? NaN : Number(m[1])
})()

/** ARG defaults declared before the first FROM (what `${NAME}` in a FROM resolves to). */
function globalArgs (d: Instr[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const i of d) {
    if (i.op === 'FROM') break
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\S+)$/.exec(i.args)
    if (i.op === 'ARG' && m !== null) out[m[1] as string] = m[2] as string
  }
  return out
}

t.test('Dockerfiles: base images pinned to a major version, overridable for air-gapped engines', async t => {
  for (const [name, d] of Object.entries(DF)) {
    const args = globalArgs(d)
    const froms = d.filter(i => i.op === 'FROM').map(i => i.args.split(/\s+/)[0] as string)
    t.ok(froms.length > 0, `${name}: has a FROM`)
    for (const from of froms) {
      const image = from.replace(/^\$\{(\w+)\}$/, (_, v: string) => args[v] ?? from)
      t.match(image, /^[a-z0-9./-]+:\d+[a-z0-9.-]*(@sha256:[0-9a-f]{64})?$/, `${name}: ${from} (${image}) names a major, never latest`)
    }
    t.equal(args.BASE, 'node:20-bookworm-slim', `${name}: default base`)
    t.ok(froms.every(f => f === '${BASE}'), `${name}: every stage FROM \${BASE} (scripts/containers/make-base.sh builds an offline one)`)
  }
})

t.test('Dockerfiles: no syntax directive (BuildKit would fetch a frontend from a registry)', async t => {
  for (const [name, rel] of Object.entries(DOCKERFILES)) t.notMatch(read(rel), /^#\s*syntax\s*=/im, `${name}: no # syntax= line`)
})

t.test('Dockerfiles: users', async t => {
  const user = last(DF.gateway, 'USER')?.args
  t.ok(user !== undefined && !/^(root|0)(:|$)/.test(user), `gateway image ends non-root (USER ${String(user)})`)
  t.ok(Number.isInteger(agentUid) && agentUid > 0, `sandbox image creates hedge-agent with a fixed non-root uid (${agentUid})`)
  // The documented choice: a root supervisor that drops to hedge-agent for everything the agent runs.
  t.equal(last(DF.sandbox, 'USER')?.args, 'root', 'sandbox image states its root start explicitly')
})

t.test('Dockerfiles: HEALTHCHECK present, exec form, valid script', async t => {
  for (const [name, d] of Object.entries(DF)) {
    const hc = last(d, 'HEALTHCHECK')
    if (hc === undefined) { t.fail(`${name}: no HEALTHCHECK`); continue }
    const m = /\bCMD\s+(\[.*\])$/.exec(hc.args)
    t.ok(m, `${name}: HEALTHCHECK CMD in exec form`)
    const argv = JSON.parse(m?.[1] ?? '[]') as string[]
    t.same(argv.slice(0, 2), ['node', '-e'], `${name}: probes with node (no curl in a slim image)`)
    t.doesNotThrow(() => new Script(argv[2] ?? ''), `${name}: health script compiles`)
  }
  t.match(last(DF.gateway, 'HEALTHCHECK')?.args, new RegExp(`127\\.0\\.0\\.1:${HEDGED.listen.adminPort}/healthz`), 'gateway probes admin /healthz')
  t.match(last(DF.sandbox, 'HEALTHCHECK')?.args, /\/health'/, 'sandbox probes the kernel /health')
})

t.test('Dockerfiles: no curl | sh, no secrets baked in', async t => {
  for (const [name, rel] of Object.entries(DOCKERFILES)) {
    const text = read(rel)
    t.notMatch(text, /\b(curl|wget)\b[^\n]*\|\s*(sudo\s+)?(ba|da|z)?sh\b/, `${name}: no piping a download into a shell`)
    const instrs = DF[name as keyof typeof DF]
    t.notOk(instrs.some(i => /HEDGE_JWT_SECRET/.test(i.args)), `${name}: no instruction mentions HEDGE_JWT_SECRET (comments may)`)
    for (const i of instrs.filter(i => i.op === 'ENV' || i.op === 'ARG')) {
      t.notMatch(i.args, /(SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|API_KEY)/i, `${name}:${i.line}: ${i.op} carries nothing secret`)
    }
  }
})

t.test('Dockerfiles: compiled JavaScript from a build stage, production dependencies only', async t => {
  const stages = (d: Instr[]): Instr[][] => d.reduce<Instr[][]>((acc, i) => { if (i.op === 'FROM') acc.push([]); acc.at(-1)?.push(i); return acc }, [])
  const buildStage = (d: Instr[]): Instr[] => stages(d).find(s => / AS build$/i.test(s[0]?.args ?? '')) ?? []
  t.same(buildStage(DF.sandbox).map(i => `${i.op} ${i.args}`), buildStage(DF.gateway).map(i => `${i.op} ${i.args}`), 'the build stage is identical in both (shared cache)')
  for (const [name, d] of Object.entries(DF)) {
    const build = buildStage(d)
    const runs = build.filter(i => i.op === 'RUN').map(i => i.args).join('\n')
    t.match(runs, /npm ci\b/, `${name}: npm ci (from the lock file)`)
    t.match(runs, /tsc -p deploy\/container\/tsconfig\.build\.json/, `${name}: tsc emits dist/`)
    t.match(runs, /npm prune --omit=dev/, `${name}: dev dependencies pruned`)
    t.match(runs, /cp -r dist node_modules policies sandbox package\.json \/opt\/hedge\//, `${name}: the runtime tree`)
    t.match(runs, /cp deploy\/container\/hedge\.js \/opt\/hedge\/bin\/hedge\.js/, `${name}: the compiled launcher`)
    const final = stages(d).at(-1) ?? []
    t.same(final.filter(i => i.op === 'COPY').map(i => i.args), ['--from=build /opt/hedge /opt/hedge'], `${name}: the runtime stage copies only the built tree`)
    t.notOk(final.some(i => /\btsx\b/.test(i.args)), `${name}: no tsx at run time`)
    t.equal(last(d, 'WORKDIR')?.args, '/opt/hedge', `${name}: WORKDIR`)
  }
  t.match(read('deploy/container/hedge.js'), /from '\.\.\/dist\/cli\/main\.js'/, 'the launcher imports the compiled CLI')
  const tsconfig = JSON.parse(read('deploy/container/tsconfig.build.json')) as Obj
  t.equal(tsconfig.compilerOptions.rewriteRelativeImportExtensions, true, '.ts imports become .js')
  t.equal(tsconfig.compilerOptions.outDir, '../../dist', 'dist/ beside sandbox/ and policies/ (paths resolved from import.meta.url)')
  const apt = DF.sandbox.filter(i => i.op === 'RUN').map(i => i.args).join('\n')
  for (const pkg of ['chromium', 'python3-fastapi', 'python3-uvicorn', 'python3-jupyter-client', 'python3-ipykernel', 'util-linux', 'e2fsprogs']) {
    t.match(apt, new RegExp(`apt-get install[^\\n]*\\s${pkg}(\\s|$)`), `sandbox installs ${pkg}`)
  }
})

t.test('Dockerfiles: entrypoints, commands and exposed ports', async t => {
  t.same(execForm(last(DF.gateway, 'ENTRYPOINT')?.args ?? ''), ['node', '/opt/hedge/bin/hedge.js', 'gateway'])
  const gwCmd = execForm(last(DF.gateway, 'CMD')?.args ?? '')
  t.equal(flagValue(gwCmd, '--workspace'), '/mnt/okcomputer', 'gateway image default: the workspace (downloads, uploads)')
  t.same(last(DF.gateway, 'EXPOSE')?.args.split(/\s+/).map(Number).sort(), [...GATEWAY_PORTS, HEDGED.listen.egressPort].sort(), 'gateway EXPOSE = the policy listen ports')
  t.same(last(DF.sandbox, 'EXPOSE')?.args.split(/\s+/).map(Number).sort(), [8888, 9223])
  const sandboxArgv = [...execForm(last(DF.sandbox, 'ENTRYPOINT')?.args ?? ''), ...execForm(last(DF.sandbox, 'CMD')?.args ?? '')]
  t.same(hedgeInvocation(sandboxArgv), { command: 'sandbox', args: ['--host', '0.0.0.0'] }, 'sandbox image runs `hedge sandbox --host 0.0.0.0`')
})

// ---------- .dockerignore ----------------------------------------------------------------

t.test('.dockerignore: allowlist that covers every COPY and nothing private', async t => {
  const lines = read('.dockerignore').split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'))
  t.equal(lines[0], '*', 'starts by excluding everything')
  const reincluded = lines.filter(l => l.startsWith('!')).map(l => l.slice(1).replace(/\/$/, ''))
  t.ok(Object.values(DF).every(d => d.filter(i => i.op === 'COPY' && !i.args.startsWith('--from=')).every(i => i.args === '. /src')), 'the build stage copies the (allowlisted) context')
  const sources = ['package.json', 'package-lock.json', 'tsconfig.json', 'src/', 'policies/', 'sandbox/', 'deploy/container/']
  for (const src of new Set(sources)) {
    const top = src.replace(/\/$/, '').split('/')[0] as string
    t.ok(reincluded.includes(top) || reincluded.includes(src.replace(/\/$/, '')), `${src} is in the build context`)
  }
  for (const priv of ['.git', 'node_modules', 'certs', '.tap', 'test', '.env']) t.notOk(reincluded.includes(priv), `${priv} stays out`)
  for (const pat of ['**/*.pem', '**/*.key', '**/.env*', '**/node_modules']) t.ok(lines.includes(pat), `${pat} excluded inside allowed dirs too`)
})

// ---------- compose ----------------------------------------------------------------------

const compose = parse(read('docker-compose.yml'), { merge: true }) as Obj
const services = compose.services as Record<string, Obj>
const profiled = (name: string): string[] => (services[name]?.profiles as string[] | undefined) ?? []
const hedgedNames = Object.keys(services).filter(n => profiled(n).length === 0).sort()
const baselineNames = Object.keys(services).filter(n => profiled(n).includes('baseline')).sort()
const netNames = (s: Obj): string[] => Array.isArray(s.networks) ? s.networks as string[] : Object.keys(s.networks ?? {})
const internal = (net: string): boolean => compose.networks?.[net]?.internal === true

interface Published { ip: string | undefined, host: number, container: number }
function published (s: Obj): Published[] {
  return ((s.ports ?? []) as Array<string | Obj>).map(p => {
    if (typeof p === 'object') return { ip: p.host_ip as string | undefined, host: Number(p.published), container: Number(p.target) }
    // host ports may be ${VAR:-default}: the default is what an unconfigured `up` publishes
    const parts = String(p).replace(/\$\{[A-Z_]+:-(\d+)\}/g, '$1').split(':')
    const container = Number(parts.pop())
    const host = Number(parts.pop() ?? container)
    return { ip: parts.pop(), host, container }
  })
}

function relayRules (s: Obj): Array<{ listen: number, host: string, port: number }> {
  return String(s.environment?.RELAY ?? '').split(' ').filter(Boolean).map(r => {
    const [listen, target] = r.split('=') as [string, string]
    const [host, port] = target.split(':') as [string, string]
    return { listen: Number(listen), host, port: Number(port) }
  })
}

/** The argv a service runs: its entrypoint/command, else its Dockerfile's. */
function serviceArgv (s: Obj): string[] {
  const df = s.build?.dockerfile === undefined ? [] : dockerfile(s.build.dockerfile as string)
  const entry = (s.entrypoint as string[] | undefined) ?? execForm(last(df, 'ENTRYPOINT')?.args ?? '[]')
  const cmd = (s.command as string[] | undefined) ?? execForm(last(df, 'CMD')?.args ?? '[]')
  return [...entry, ...cmd]
}

/** `… hedge.js <command> args…` → { command, args }, or null when the argv is not hedge. */
function hedgeInvocation (argv: string[]): { command: string, args: string[] } | null {
  const i = argv.findIndex(a => /(^|\/)hedge\.js$|^hedge$/.test(a))
  if (i === -1 || argv[i + 1] === undefined) return null
  return { command: argv[i + 1] as string, args: argv.slice(i + 2) }
}
const flagValue = (args: string[], flag: string): string | undefined => {
  const i = args.indexOf(flag)
  return i === -1 ? undefined : args[i + 1]
}

const COMPOSE_SERVICE_KEYS = new Set(['build', 'image', 'cap_add', 'cap_drop', 'security_opt', 'shm_size', 'pids_limit', 'mem_limit',
  'restart', 'environment', 'user', 'read_only', 'init', 'entrypoint', 'command', 'networks', 'volumes', 'depends_on', 'network_mode',
  'tmpfs', 'ports', 'profiles', 'healthcheck'])

t.test('compose: parses; hedged is the default, baseline a profile', async t => {
  t.same(hedgedNames, ['gateway', 'netns', 'publish', 'sandbox'])
  t.same(baselineNames, ['publish-baseline', 'sandbox-baseline'])
  for (const n of baselineNames) t.same(profiled(n), ['baseline'], `${n}: only in the baseline profile`)
  for (const [n, s] of Object.entries(services)) {
    for (const k of Object.keys(s)) t.ok(COMPOSE_SERVICE_KEYS.has(k), `${n}.${k} is a compose key this file means to use`)
  }
  t.match(read('docker-compose.yml').split('\n').slice(0, 12).join('\n'), /docker compose up( -d)?\s+hedged/, 'the header says what `up` starts')
})

t.test('compose: every service drops all capabilities and forbids new privileges', async t => {
  for (const [n, s] of Object.entries(services)) {
    t.same(s.cap_drop, ['ALL'], `${n}: cap_drop ALL`)
    t.ok((s.security_opt as string[] | undefined)?.includes('no-new-privileges:true'), `${n}: no-new-privileges`)
    t.not(s.privileged, true, `${n}: not privileged`)
    const add = (s.cap_add ?? []) as string[]
    if (n.startsWith('sandbox')) t.same([...add].sort(), [...SANDBOX_CAPS].sort(), `${n}: only what the root supervisor needs`)
    else t.same(add, [], `${n}: adds no capability`)
  }
})

t.test('compose: both sandboxes are the same container, only the shape differs', async t => {
  const strip = (s: Obj): Obj => Object.fromEntries(Object.entries(s).filter(([k]) => !['command', 'networks', 'network_mode', 'depends_on', 'volumes', 'tmpfs', 'profiles'].includes(k)))
  t.same(strip(services.sandbox as Obj), strip(services['sandbox-baseline'] as Obj))
  for (const n of ['sandbox', 'sandbox-baseline']) {
    t.ok((services[n]?.volumes as string[]).some(v => v.endsWith(':/mnt/okcomputer')), `${n}: workspace volume`)
  }
})

t.test('compose: users — non-root gateway and relays, one agent uid everywhere', async t => {
  t.ok(agentUid > 0)
  t.equal(services.gateway?.user, `${agentUid}:${agentUid}`, 'gateway runs as the kernel socket owner (hedge-agent)')
  for (const n of ['netns', 'publish', 'publish-baseline']) t.equal(services[n]?.user, '65534:65534', `${n}: nobody`)
  t.match(compose.volumes?.['kernel-socket']?.driver_opts?.o, new RegExp(`uid=${agentUid},gid=${agentUid},mode=0700`), 'socket volume owned by the agent uid, 0700')
  t.equal(services.gateway?.read_only, true, 'gateway root filesystem read-only')
})

t.test('compose: sandboxes sit on internal networks only; relays alone touch the outside', async t => {
  for (const [n, s] of Object.entries(services)) {
    if (s.network_mode !== undefined) continue
    const nets = netNames(s)
    t.ok(nets.length > 0, `${n}: attached to a declared network`)
    for (const net of nets) t.ok(net in (compose.networks ?? {}), `${n}: ${net} is declared`)
    if (n.startsWith('sandbox') || n === 'netns') for (const net of nets) t.ok(internal(net), `${n}: ${net} is internal (no egress)`)
    else t.ok(nets.some(net => !internal(net)), `${n}: a relay, on a non-internal network to publish`)
  }
  const hedgedNets = new Set(netNames(services.netns as Obj))
  t.notOk(netNames(services['sandbox-baseline'] as Obj).some(x => hedgedNets.has(x)), 'baseline and hedged sandboxes share no network')
  // a holder that never restarts owns the namespace (a pod's pause container): a sandbox
  // crash-restart rejoins it, instead of leaving the gateway in the dead one
  for (const n of ['sandbox', 'gateway']) {
    t.equal(services[n]?.network_mode, 'service:netns', `${n} joins the holder's network namespace`)
    t.equal(services[n]?.networks, undefined, `${n} has no network of its own`)
    t.equal(services[n]?.ports, undefined, `${n}: no ports on a shared namespace (Docker refuses them)`)
  }
  t.match(JSON.stringify(services.netns?.entrypoint), /setInterval/, 'netns only holds the namespace')
})

t.test('compose: hedged publishes the gateway ports only, on loopback; baseline 8888 and 9223', async t => {
  const hedgedPorts = hedgedNames.flatMap(n => published(services[n] as Obj).map(p => ({ ...p, n })))
  t.same(hedgedPorts.map(p => p.container).sort(), [...GATEWAY_PORTS].sort(), 'kernel, CDP and admin fronts')
  t.ok(hedgedPorts.every(p => p.n === 'publish'), 'only the relay publishes')
  const baselinePorts = baselineNames.flatMap(n => published(services[n] as Obj))
  t.same(baselinePorts.map(p => p.container).sort(), [8888, 9223])
  for (const p of [...hedgedPorts, ...baselinePorts]) {
    t.equal(p.ip, '127.0.0.1', `${p.container}: loopback only`)
    t.equal(p.host, p.container, `${p.container}: same port on the host by default`)
  }
  for (const p of hedgedPorts) t.notOk(NEVER_PUBLISHED.includes(p.container), `${p.container} is not an upstream or the egress guard`)
  // each published port is relayed to the same port of the right sandbox's namespace
  for (const [relay, target] of [['publish', 'netns'], ['publish-baseline', 'sandbox-baseline']] as const) {
    const rules = relayRules(services[relay] as Obj)
    t.same(rules.map(r => r.listen).sort(), published(services[relay] as Obj).map(p => p.container).sort(), `${relay}: relays exactly what it publishes`)
    for (const r of rules) t.same([r.host, r.port], [target, r.listen], `${relay}: ${r.listen} → ${target}:${r.listen}`)
  }
})

t.test('compose: the JWT secret comes from the environment, required; nothing secret inline', async t => {
  t.match(services.gateway?.environment?.HEDGE_JWT_SECRET, /^\$\{HEDGE_JWT_SECRET:\?[^}]+\}$/, '${HEDGE_JWT_SECRET:?…}')
  const layerVars = new Set(LAYERS.map(l => `HEDGE_LAYER_${l.toUpperCase().replace(/-/g, '_')}`))
  for (const [n, s] of Object.entries(services)) {
    for (const [k, v] of Object.entries((s.environment ?? {}) as Obj)) {
      if (/SECRET|TOKEN|PASSWORD|KEY/i.test(k)) t.match(String(v), /^\$\{[A-Z_]+(:[?-][^}]*)?\}$/, `${n}.${k}: from the environment`)
      if (k.startsWith('HEDGE_LAYER_')) {
        t.ok(layerVars.has(k), `${n}.${k} names a real layer`)
        t.equal(v, `\${${k}:-}`, `${n}.${k}: passed through, empty = the policy's value`)
      }
    }
  }
  t.notMatch(read('docker-compose.yml'), /HEDGE_JWT_SECRET:\s*["']?[A-Za-z0-9+/=_-]{16,}/, 'no literal secret')
})

t.test('compose: healthchecks present on the sandboxes and the gateway', async t => {
  for (const n of ['sandbox', 'sandbox-baseline', 'gateway']) {
    const s = services[n] as Obj
    t.not(s.healthcheck?.disable, true, `${n}: healthcheck not disabled`)
    const fromCompose = Array.isArray(s.healthcheck?.test)
    const fromImage = s.build?.dockerfile !== undefined && last(dockerfile(s.build.dockerfile as string), 'HEALTHCHECK') !== undefined
    t.ok(fromCompose || fromImage, `${n}: healthcheck (compose or image)`)
  }
})

t.test('compose: the shapes — socket, forwarder, egress guard', async t => {
  const sb = hedgeInvocation(serviceArgv(services.sandbox as Obj))
  const gw = hedgeInvocation(serviceArgv(services.gateway as Obj))
  const base = hedgeInvocation(serviceArgv(services['sandbox-baseline'] as Obj))
  t.equal(sb?.command, 'sandbox')
  t.equal(gw?.command, 'gateway')
  t.equal(base?.command, 'sandbox')
  const uds = flagValue(sb?.args ?? [], '--kernel-uds') ?? ''
  t.match(uds, /^\/.+\.sock$/, 'hedged sandbox: kernel on a unix socket')
  t.equal(flagValue(gw?.args ?? [], '--kernel-upstream'), `unix:${uds}`, 'gateway: the same socket')
  t.ok(sb?.args.includes('--no-forwarder'), 'hedged sandbox: no 9223 forwarder')
  t.equal(flagValue(sb?.args ?? [], '--egress-proxy'), `http://127.0.0.1:${HEDGED.listen.egressPort}`, 'Chromium through the egress guard, on the shared loopback')
  t.equal(flagValue(gw?.args ?? [], '--cdp-upstream'), 'http://127.0.0.1:9222', 'gateway: Chromium on the shared loopback')
  t.equal(flagValue(gw?.args ?? [], '--host'), '0.0.0.0')
  t.equal(flagValue(gw?.args ?? [], '--policy'), 'hedged')
  const socketDir = posix.dirname(uds)
  for (const n of ['sandbox', 'gateway']) {
    t.ok((services[n]?.volumes as string[]).includes(`kernel-socket:${socketDir}`), `${n}: mounts the shared socket volume at ${socketDir}`)
  }
  t.equal(flagValue(sb?.args ?? [], '--identities'), 'separate', 'hedged sandbox: kernel and Chromium as separate uids')
  t.equal(flagValue(sb?.args ?? [], '--browser-hardening'), 'hedged', 'hedged sandbox: the hardened browser')
  t.ok(sb?.args.includes('--dedicated-container'), 'hedged sandbox: managed policies at the system path of its own container')
  t.ok((services.sandbox?.tmpfs as string[]).some(m => m.startsWith('/etc/chromium/policies/managed:')), 'a writable policies dir under the read-only root')
  t.equal(flagValue(gw?.args ?? [], '--workspace'), '/mnt/okcomputer', 'gateway: the workspace (download rewriting, upload checks)')
  t.ok((services.gateway?.volumes as string[]).includes('workspace-hedged:/mnt/okcomputer:ro'), 'gateway: the same workspace volume at the same path, read-only')
  t.same(base?.args, ['--host', '0.0.0.0'], 'baseline: the documented shape')
  t.notOk((services['sandbox-baseline']?.tmpfs as string[]).some(m => m.includes('/etc/chromium')), 'baseline: no policies dir (it must not get the policies)')
  t.notOk(services['sandbox-baseline']?.volumes.some((v: string) => v.startsWith('kernel-socket:')), 'baseline shares no socket')
})

t.test('compose: the relay script carries bytes to its target', async t => {
  const script = (services.publish?.entrypoint as string[])[2] ?? ''
  t.same((services.publish?.entrypoint as string[]).slice(0, 2), ['node', '-e'])
  t.notMatch(script, /\$/, 'no $ for compose to interpolate')
  const upstream = createServer(sock => { sock.once('data', () => { sock.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok') }) })
  await new Promise<void>(r => upstream.listen(0, '127.0.0.1', r))
  t.teardown(() => { upstream.close() })
  const probe = createServer()
  await new Promise<void>(r => probe.listen(0, '127.0.0.1', r))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>(r => probe.close(() => { r() }))
  const child = spawn(process.execPath, ['-e', script], { env: { RELAY: `${port}=127.0.0.1:${(upstream.address() as AddressInfo).port}` }, stdio: 'ignore' })
  t.teardown(() => { child.kill() })
  const deadline = Date.now() + 10_000
  while (!await new Promise<boolean>(r => { const s = connect(port, '127.0.0.1', () => { s.destroy(); r(true) }); s.on('error', () => r(false)) })) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('relay did not listen')
    await new Promise(r => setImmediate(r))
  }
  const body = await new Promise<string>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/health' }, res => {
      let b = ''
      res.on('data', (c: Buffer) => { b += c.toString() }).on('end', () => { resolve(b) })
    }).on('error', reject).end()
  })
  t.equal(body, 'ok')
})

t.test('compose: no v2-only syntax (Debian 12 packages compose v1, 1.29)', async t => {
  for (const [n, s] of Object.entries(services)) {
    const deps = s.depends_on
    if (deps !== undefined && !Array.isArray(deps)) for (const [d, o] of Object.entries(deps as Obj)) t.equal((o as Obj).restart, undefined, `${n}.depends_on.${d}: no restart: (v2 only)`)
  }
  t.notOk('include' in compose || 'name' in compose, 'no top-level include:/name: (v2 only)')
})

// compose config is client-side: it runs without an engine
const composeClis = [['docker', 'compose'], ['docker-compose']].filter(c => spawnSync(c[0] as string, [...c.slice(1), 'version'], { timeout: 20_000 }).status === 0)
t.test('compose: `docker compose config` / `docker-compose config` accept the file', {
  skip: composeClis.length > 0 ? false : 'neither docker compose nor docker-compose is installed',
}, async t => {
  for (const c of composeClis) {
    const r = spawnSync(c[0] as string, [...c.slice(1), '-f', join(ROOT, 'docker-compose.yml'), '--profile', 'baseline', 'config', '-q'], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, HEDGE_JWT_SECRET: 'x'.repeat(48) },
    })
    t.equal(r.status, 0, `${c.join(' ')}: ${r.stderr}`)
    const missing = spawnSync(c[0] as string, [...c.slice(1), '-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, HEDGE_JWT_SECRET: '' },
    })
    t.not(missing.status, 0, `${c.join(' ')}: refused without HEDGE_JWT_SECRET`)
  }
})

// ---------- Kubernetes -------------------------------------------------------------------

const K8S = 'deploy/kubernetes/sandbox-with-hedge.yaml'
const k8sDocs = parseAllDocuments(read(K8S))
const k8s = (Array.isArray(k8sDocs) ? k8sDocs : [k8sDocs]).map(d => d.toJS() as Obj | null).filter((d): d is Obj => d !== null)
const byKind = (kind: string): Obj => k8s.find(d => d.kind === kind) ?? {}
const deploy = byKind('Deployment')
const pod = (deploy.spec?.template?.spec ?? {}) as Obj
const container = (name: string): Obj => (pod.containers as Obj[] | undefined)?.find(c => c.name === name) ?? {}
const namedPort = (c: Obj, p: number | string): number | undefined => typeof p === 'number' ? p : (c.ports as Obj[] | undefined)?.find(x => x.name === p)?.containerPort as number | undefined

const CONTAINER_KEYS = new Set(['name', 'image', 'command', 'args', 'workingDir', 'ports', 'envFrom', 'env', 'resources', 'resizePolicy',
  'restartPolicy', 'volumeMounts', 'volumeDevices', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle',
  'terminationMessagePath', 'terminationMessagePolicy', 'imagePullPolicy', 'securityContext', 'stdin', 'stdinOnce', 'tty'])
const SECURITY_CONTEXT_KEYS = new Set(['capabilities', 'privileged', 'seLinuxOptions', 'windowsOptions', 'runAsUser', 'runAsGroup',
  'runAsNonRoot', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation', 'procMount', 'seccompProfile', 'appArmorProfile'])

t.test('k8s: multi-document YAML parses; the kinds are there', async t => {
  for (const d of Array.isArray(k8sDocs) ? k8sDocs : [k8sDocs]) t.same(d.errors, [], 'no YAML errors')
  t.same(k8s.map(d => d.kind).sort(), ['ConfigMap', 'Deployment', 'NetworkPolicy', 'Service'])
  for (const d of k8s) {
    t.ok(typeof d.apiVersion === 'string' && typeof d.metadata?.name === 'string', `${String(d.kind)}: apiVersion and name`)
  }
  t.equal(deploy.spec?.replicas, 1, 'one sandbox per Deployment')
  t.same(deploy.spec?.selector?.matchLabels, deploy.spec?.template?.metadata?.labels, 'selector matches the pod labels')
  t.same((pod.containers as Obj[]).map(c => c.name).sort(), ['gateway', 'sandbox'])
  for (const c of pod.containers as Obj[]) {
    for (const k of Object.keys(c)) t.ok(CONTAINER_KEYS.has(k), `${String(c.name)}.${k} is a Container field`)
    for (const k of Object.keys(c.securityContext ?? {})) t.ok(SECURITY_CONTEXT_KEYS.has(k), `${String(c.name)}.securityContext.${k} is a field`)
  }
})

t.test('k8s: pod-level isolation', async t => {
  t.equal(pod.automountServiceAccountToken, false, 'no API token in the pod')
  t.not(pod.shareProcessNamespace, true, 'separate PID namespaces (the gateway shares the agent uid)')
  t.not(pod.hostNetwork, true)
  t.not(pod.hostPID, true)
  t.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault')
})

t.test('k8s: gateway securityContext and probes on the admin port', async t => {
  const gw = container('gateway')
  const sc = gw.securityContext as Obj
  t.equal(sc.runAsNonRoot, true)
  t.equal(sc.runAsUser, agentUid, 'runs as the kernel socket owner')
  t.equal(sc.allowPrivilegeEscalation, false)
  t.equal(sc.readOnlyRootFilesystem, true)
  t.same(sc.capabilities, { drop: ['ALL'] }, 'drops all, adds none')
  t.equal(gw.readinessProbe?.httpGet?.path, '/readyz')
  t.equal(gw.livenessProbe?.httpGet?.path, '/healthz')
  for (const probe of [gw.readinessProbe, gw.livenessProbe]) t.equal(namedPort(gw, probe?.httpGet?.port as string), HEDGED.listen.adminPort, 'probe on the admin port')
  t.same((gw.ports as Obj[]).map(p => p.containerPort).sort(), [...GATEWAY_PORTS].sort(), 'declares the three fronts, not the egress guard')
})

t.test('k8s: sandbox securityContext', async t => {
  const sb = container('sandbox')
  const sc = sb.securityContext as Obj
  t.equal(sc.allowPrivilegeEscalation, false)
  t.equal(sc.readOnlyRootFilesystem, true)
  t.not(sc.privileged, true)
  t.same(sc.capabilities?.drop, ['ALL'])
  t.same([...(sc.capabilities?.add ?? [])].sort(), [...(services.sandbox?.cap_add as string[])].sort(), 'same capabilities as in compose')
  const mounts = (sb.volumeMounts as Obj[]).map(m => m.mountPath)
  for (const p of ['/mnt/okcomputer', '/run/hedge', '/tmp', '/dev/shm', '/etc/chromium/policies/managed']) t.ok(mounts.includes(p), `writable ${p} despite the read-only root`)
  t.ok(sb.livenessProbe !== undefined, 'liveness on the kernel /health')
  t.doesNotThrow(() => new Script((sb.livenessProbe?.exec?.command as string[])[2] ?? ''), 'probe script compiles')
})

t.test('k8s: the shared socket, the secret, the policy', async t => {
  const sb = hedgeInvocation(['hedge', ...(container('sandbox').args as string[])])
  const gw = hedgeInvocation(['hedge', 'gateway', ...(container('gateway').args as string[])])
  const uds = flagValue(sb?.args ?? [], '--kernel-uds') ?? ''
  t.equal(flagValue(gw?.args ?? [], '--kernel-upstream'), `unix:${uds}`)
  t.ok(sb?.args.includes('--no-forwarder'))
  t.equal(flagValue(sb?.args ?? [], '--egress-proxy'), `http://127.0.0.1:${HEDGED.listen.egressPort}`)
  t.equal(flagValue(sb?.args ?? [], '--identities'), 'separate')
  t.equal(flagValue(sb?.args ?? [], '--browser-hardening'), 'hedged')
  t.ok(sb?.args.includes('--dedicated-container'))
  t.equal(flagValue(gw?.args ?? [], '--workspace'), '/mnt/okcomputer', 'gateway: the workspace')
  const wsMount = (c: string): Obj | undefined => (container(c).volumeMounts as Obj[]).find(m => m.mountPath === '/mnt/okcomputer')
  t.ok(wsMount('gateway')?.readOnly === true && wsMount('gateway')?.name === wsMount('sandbox')?.name, 'the same workspace volume, read-only in the gateway')
  const vol = (c: string): string | undefined => (container(c).volumeMounts as Obj[]).find(m => m.mountPath === posix.dirname(uds))?.name as string | undefined
  t.ok(vol('sandbox') !== undefined && vol('sandbox') === vol('gateway'), 'both mount the same volume at the socket directory')
  t.ok((pod.volumes as Obj[]).find(v => v.name === vol('sandbox'))?.emptyDir !== undefined, 'an emptyDir')

  const env = (container('gateway').env ?? []) as Obj[]
  const secret = env.find(e => e.name === 'HEDGE_JWT_SECRET')
  t.ok(secret?.valueFrom?.secretKeyRef?.name, 'HEDGE_JWT_SECRET from a Secret')
  t.equal(secret?.value, undefined, 'no inline value')
  for (const c of pod.containers as Obj[]) for (const e of (c.env ?? []) as Obj[]) {
    if (/SECRET|TOKEN|PASSWORD|KEY/i.test(String(e.name))) t.equal(e.value, undefined, `${String(c.name)}.${String(e.name)}: not inline`)
  }
  t.equal(k8s.filter(d => d.kind === 'Secret').length, 0, 'no Secret object (and so no value) in the manifest')

  // The ConfigMap's policy is a real policy: load it the way the gateway will.
  const policyPath = flagValue(gw?.args ?? [], '--policy') ?? ''
  const mount = (container('gateway').volumeMounts as Obj[]).find(m => policyPath.startsWith(`${String(m.mountPath)}/`))
  t.ok(mount?.readOnly, 'policy mounted read-only')
  const cmVolume = (pod.volumes as Obj[]).find(v => v.name === mount?.name)?.configMap?.name
  const cm = k8s.find(d => d.kind === 'ConfigMap' && d.metadata?.name === cmVolume)
  const text = cm?.data?.[posix.basename(policyPath)] as string | undefined
  t.ok(text, 'the policy file the gateway is given is in the ConfigMap')
  const dir = mkdtempSync(join(tmpdir(), 'hedge-k8s-policy-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  writeFileSync(join(dir, 'policy.yaml'), text ?? '')
  const policy = loadPolicy(join(dir, 'policy.yaml'), {})
  for (const layer of LAYERS) t.equal(policy.layers[layer], 'enforce', `${layer} enforces`)
  const svcName = byKind('Service').metadata?.name as string
  for (const h of [svcName, `${svcName}.default.svc`, `${svcName}.default.svc.cluster.local`]) t.ok(policy.hosts.allow.includes(h), `the Service name ${h} is an allowed Host`)
  t.same(policy.kernel.routes, HEDGED.kernel.routes, 'route table is hedged\'s')
})

t.test('k8s: the Service exposes gateway ports only', async t => {
  const svc = byKind('Service')
  t.same(svc.spec?.selector, deploy.spec?.template?.metadata?.labels)
  const gw = container('gateway')
  for (const p of svc.spec?.ports as Obj[]) {
    const target = namedPort(gw, (p.targetPort ?? p.port) as number | string)
    t.ok(target !== undefined && GATEWAY_PORTS.includes(target), `${String(p.name)} → gateway port ${String(target)}`)
    t.notOk(NEVER_PUBLISHED.includes(p.port as number), `${String(p.port)} is not an upstream or the egress guard`)
  }
})

t.test('k8s: NetworkPolicy — gateway ports in, DNS out', async t => {
  const np = byKind('NetworkPolicy')
  t.same(np.spec?.podSelector?.matchLabels, deploy.spec?.template?.metadata?.labels, 'selects the sandbox pod')
  t.same([...(np.spec?.policyTypes ?? [])].sort(), ['Egress', 'Ingress'])
  const ingressPorts = (np.spec?.ingress as Obj[]).flatMap(r => (r.ports ?? []) as Obj[]).map(p => p.port as number)
  t.ok(ingressPorts.length > 0 && ingressPorts.every(p => GATEWAY_PORTS.includes(p)), `ingress only to gateway ports (${ingressPorts.join(', ')})`)
  const egress = np.spec?.egress as Obj[]
  t.ok(egress.length > 0 && egress.every(r => Array.isArray(r.ports) && (r.ports as Obj[]).every(p => p.port === 53)), 'egress: DNS only')
  t.ok(egress.every(r => Array.isArray(r.to) && r.to.length > 0), 'DNS to named peers, not anywhere')
})

// ---------- CLI flags --------------------------------------------------------------------

/** Flags of a command: the keys of its FLAGS (or SANDBOX_FLAGS, …) table whose value is a
 *  spec object (`'name': { type: 'string', … }`), with their type when it is written first. */
function flagSpecs (cmd: string): Map<string, string | undefined> | null {
  const file = join(ROOT, 'src/cli', `${cmd}.ts`)
  if (!existsSync(file)) return null
  const text = readFileSync(file, 'utf8')
  const start = /const [A-Z_]*FLAGS\b[^=]*=\s*\{/.exec(text)
  let table = text
  if (start !== null) {
    let depth = 0
    let quote: string | null = null
    for (let i = start.index + start[0].length - 1; i < text.length; i++) {
      const ch = text[i] as string
      if (quote !== null) { if (ch === '\\') i++; else if (ch === quote) quote = null; continue }
      if (ch === '\'' || ch === '"' || ch === '`') quote = ch
      else if (ch === '{') depth++
      else if (ch === '}' && --depth === 0) { table = text.slice(start.index, i + 1); break }
    }
  }
  const specs = new Map<string, string | undefined>()
  for (const m of table.matchAll(/(?:^|[\s{,])(?:'([a-z][a-z0-9-]*)'|"([a-z][a-z0-9-]*)"|([a-z][a-zA-Z0-9]*))\s*:\s*\{\s*(?:type:\s*'(\w+)')?/g)) {
    specs.set((m[1] ?? m[2] ?? m[3]) as string, m[4])
  }
  return specs
}

t.test('every CLI flag used in the deployment files exists in its command', async t => {
  const invocations: Array<{ where: string, argv: string[] }> = [
    { where: 'sandbox/Dockerfile', argv: [...execForm(last(DF.sandbox, 'ENTRYPOINT')?.args ?? ''), ...execForm(last(DF.sandbox, 'CMD')?.args ?? '')] },
    { where: 'gateway/Dockerfile', argv: [...execForm(last(DF.gateway, 'ENTRYPOINT')?.args ?? ''), ...execForm(last(DF.gateway, 'CMD')?.args ?? '')] },
    ...Object.entries(services).map(([n, s]) => ({ where: `docker-compose.yml ${n}`, argv: serviceArgv(s) })),
    ...(pod.containers as Obj[]).map(c => {
      const df = dockerfile(DOCKERFILES[c.name as keyof typeof DOCKERFILES])
      return { where: `${K8S} ${String(c.name)}`, argv: [...((c.command as string[] | undefined) ?? execForm(last(df, 'ENTRYPOINT')?.args ?? '[]')), ...((c.args as string[] | undefined) ?? [])] }
    }),
  ]
  const hedge = invocations.map(i => ({ ...i, inv: hedgeInvocation(i.argv) })).filter(i => i.inv !== null)
  t.same([...new Set(hedge.map(i => i.inv?.command))].sort(), ['gateway', 'sandbox'], 'the files run `hedge sandbox` and `hedge gateway`')
  t.ok(hedge.length >= 7, `found the hedge invocations (${hedge.length})`)
  const gw = flagSpecs('gateway')
  t.ok(gw?.get('kernel-upstream') === 'string' && !gw.has('type'), 'the flag reader finds the table and nothing else')
  for (const { where, inv } of hedge) {
    if (inv === null) continue
    const specs = flagSpecs(inv.command)
    const flags = inv.args.filter(a => a.startsWith('--')).map(a => a.slice(2).split('=')[0] as string)
    if (specs === null) { t.pass(`${where}: hedge ${inv.command} ${flags.join(' ')}`, { skip: `src/cli/${inv.command}.ts does not exist yet` }); continue }
    inv.args.forEach((a, i) => {
      if (!a.startsWith('--')) {
        t.ok(inv.args[i - 1]?.startsWith('--') === true && specs.get(inv.args[i - 1]?.slice(2) ?? '') !== 'boolean', `${where}: "${a}" is the value of a string flag, not a stray positional`)
        return
      }
      const name = a.slice(2).split('=')[0] as string
      t.ok(specs.has(name), `${where}: hedge ${inv.command} --${name} is defined in src/cli/${inv.command}.ts`)
      if (specs.get(name) === 'string' && !a.includes('=')) t.ok(inv.args[i + 1] !== undefined && !(inv.args[i + 1] as string).startsWith('--'), `${where}: --${name} has a value`)
    })
  }
})
