// Helpers for the container tests (npm run test:containers): the engine and compose CLIs,
// free loopback ports, polling. Everything here talks to 127.0.0.1 only.
import { execFile, spawnSync } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const SANDBOX_IMAGE = 'hedge-sandbox:local'
export const GATEWAY_IMAGE = 'hedge-gateway:local'

export interface Run { code: number, stdout: string, stderr: string }

export function run (cmd: string, args: readonly string[], o: { env?: NodeJS.ProcessEnv, timeoutMs?: number, input?: string } = {}): Promise<Run> {
  return new Promise(resolve => {
    const child = execFile(cmd, args, { cwd: ROOT, env: { ...process.env, ...o.env }, timeout: o.timeoutMs ?? 300_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      resolve({ code, stdout: String(stdout), stderr: String(stderr) })
    })
    if (o.input !== undefined) child.stdin?.end(o.input)
  })
}

/** Why no engine can run here, or null when `docker info` answers and both images exist. */
export function engineProblem (): string | null {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 20_000 })
  if (info.status !== 0) return 'no container engine answers (docker info failed)'
  for (const img of [SANDBOX_IMAGE, GATEWAY_IMAGE]) {
    if (spawnSync('docker', ['image', 'inspect', img], { timeout: 20_000 }).status !== 0) return `image ${img} missing (run scripts/containers/build-images.sh)`
  }
  return null
}

/** Every compose CLI present: v2 (`docker compose`) and/or v1 (`docker-compose`). */
export function composeClis (): Array<{ name: 'v2' | 'v1', argv: string[] }> {
  const out: Array<{ name: 'v2' | 'v1', argv: string[] }> = []
  if (spawnSync('docker', ['compose', 'version'], { timeout: 20_000 }).status === 0) out.push({ name: 'v2', argv: ['docker', 'compose'] })
  if (spawnSync('docker-compose', ['version'], { timeout: 20_000 }).status === 0) out.push({ name: 'v1', argv: ['docker-compose'] })
  return out
}

export async function freePorts (n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>(resolve => {
    const s = createServer(); s.listen(0, '127.0.0.1', () => { resolve(s) })
  })))
  const ports = servers.map(s => (s.address() as AddressInfo).port)
  await Promise.all(servers.map(s => new Promise(resolve => s.close(resolve))))
  return ports
}

export async function until<T> (what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 1000): Promise<T> {
  const end = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try { const v = await fn(); if (v !== undefined && v !== false) return v } catch (err) { last = err }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last !== undefined ? `: ${String(last)}` : ''}`)
    await new Promise(r => setTimeout(r, everyMs))
  }
}

export async function httpStatus (url: string, headers: Record<string, string> = {}): Promise<number> {
  try { return (await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })).status } catch { return 0 }
}

/** Processes in a container: pid, uid, effective caps, NoNewPrivs, command line (via /proc, as root). */
export async function processes (container: string): Promise<Array<{ pid: number, uid: number, capEff: string, noNewPrivs: string, seccomp: string, cmd: string }>> {
  const script = "const fs=require('fs');const out=[];for(const p of fs.readdirSync('/proc')){if(!/^\\d+$/.test(p))continue;" +
    "try{const s=fs.readFileSync('/proc/'+p+'/status','utf8');const g=k=>(new RegExp('^'+k+':\\\\s+(\\\\S+)','m').exec(s)||[])[1];" +
    "out.push({pid:+p,uid:+g('Uid'),capEff:g('CapEff'),noNewPrivs:g('NoNewPrivs'),seccomp:g('Seccomp')," +
    "cmd:fs.readFileSync('/proc/'+p+'/cmdline','utf8').split('\\0').join(' ').trim()})}catch{}}console.log(JSON.stringify(out))"
  const r = await run('docker', ['exec', '-u', '0', container, 'node', '-e', script])
  if (r.code !== 0) throw new Error(`processes(${container}): ${r.stderr}`)
  return JSON.parse(r.stdout)
}

/** A hedge CLI command on the host (token minting), with the given env. */
export async function hedge (args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await run(process.execPath, [resolve(ROOT, 'bin/hedge.js'), ...args], { env })
  if (r.code !== 0) throw new Error(`hedge ${args.join(' ')}: ${r.stderr}`)
  return r.stdout.trim()
}

/**
 * Clear chattr +a in a volume so it can be removed (a SIGKILLed sandbox leaves .store/
 * append-only): in place when root beside a local engine, else in a throwaway container
 * (which costs a full image copy on the vfs storage driver).
 */
export async function clearAppendOnly (volume: string): Promise<void> {
  const mp = (await run('docker', ['volume', 'inspect', '-f', '{{.Mountpoint}}', volume])).stdout.trim()
  if (process.getuid?.() === 0 && mp !== '' && (await run('chattr', ['-R', '-a', mp])).code === 0) return
  await run('docker', [
    'run', '--rm', '--network', 'none', '--cap-drop', 'ALL',
    '--cap-add', 'LINUX_IMMUTABLE', '--cap-add', 'DAC_OVERRIDE', '--cap-add', 'FOWNER',
    '-v', `${volume}:/w`, '--entrypoint', 'chattr', SANDBOX_IMAGE, '-R', '-a', '/w',
  ])
}
