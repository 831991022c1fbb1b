// Bounded work and fair shares: attacks on the gateway's own resources (CPU per frame,
// descriptors per connection, connection slots and tickets per principal) and on what its
// public answers tell. Several are about machinery only the gateway has (a strict parser,
// tickets, per-principal caps): against the documented baseline they find nothing to break
// and report so (harm false, with the reason) — the comparison shows them as gateway-only.
import { spawn } from 'node:child_process'
import { connect as netConnect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import type { Attack, AttackContext, AttackOutcome } from '../types.ts'
import { authHeaders, browserWsUrl, cdpConnect, closePage, describeAnswer, httpCall, navigate, openPage, reason, type CdpConnection, type PageHandle } from '../cdp-client.ts'
import { rogueToken } from './cdp.ts'

/** `/health` on the kernel front, timed (ms; Infinity when it failed). */
async function healthMs (ctx: AttackContext): Promise<number> {
  const t0 = performance.now()
  const ok = await httpCall(`${ctx.d.endpoints.kernel}/health`, { timeoutMs: 10_000 }).then(a => a.status < 500, () => false)
  return ok ? performance.now() - t0 : Infinity
}

/** A CDP command frame of about `bytes` whose params hold runs of 299-digit numbers. */
export function digitFrame (bytes: number, id = 1): string {
  const n = '9'.repeat(299)
  const count = Math.floor((bytes - 80) / (n.length + 1))
  return `{"id":${id},"method":"Runtime.evaluate","params":{"expression":"1","x":[${Array.from({ length: count }, () => n).join(',')}]}}`
}

/** The process listening on a loopback TCP port (as root: `ss -p`), or undefined. */
function listenerPid (url: string): number | undefined {
  const port = new URL(url).port
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' })
    const pid = /pid=(\d+)/.exec(out)?.[1]
    return pid === undefined ? undefined : Number(pid)
  } catch { return undefined }
}

function nofile (pid: number): { soft: string, hard: string } {
  const out = execFileSync('prlimit', ['--pid', String(pid), '--nofile', '--raw', '--noheadings', '--output', 'SOFT,HARD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split(/\s+/)
  return { soft: out[0] ?? 'unlimited', hard: out[1] ?? 'unlimited' }
}

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length

// The flood runs in a child process (its own descriptor table): silent sockets from
// 127.0.0.2, then a well-behaved client from 127.0.0.1 with valid tokens, then it closes
// everything and prints one JSON line.
const FLOOD_CHILD = `
import net from 'node:net';
const o = JSON.parse(process.env.HEDGE_FLOOD);
const live = o.targets.map(() => new Set());
let opened = 0, failed = 0, dropped = 0, stop = false;
const open = (t, i) => new Promise(resolve => {
  const s = net.connect({ host: t.host, port: t.port, localAddress: '127.0.0.2' });
  opened++;
  s.once('connect', () => { live[i].add(s); resolve() });
  s.once('error', () => { failed++; resolve() });
  s.once('close', () => { if (live[i].delete(s)) dropped++ });
  setTimeout(resolve, 3000);
});
await Promise.all(o.targets.flatMap((t, i) => Array.from({ length: o.perTarget }, () => open(t, i))));
// the attacker keeps its count: whatever the server drops is reopened (bounded)
const refill = (async () => { while (!stop && opened < o.maxOpened) { ` +
`await Promise.all(o.targets.map((t, i) => Promise.all(Array.from({ length: Math.min(200, o.perTarget - live[i].size) }, () => open(t, i))))); ` +
`await new Promise(r => setTimeout(r, 100)) } })();
await new Promise(r => setTimeout(r, 1000));
const probe = async p => { try { const r = await fetch(p.url, { headers: p.headers, signal: AbortSignal.timeout(4000) }); ` +
`await r.arrayBuffer(); return r.status } catch (e) { return String(e.cause?.code ?? e.name) } };
const results = {};
for (const p of o.probes) {
  const tries = [];
  for (let i = 0; i < 3; i++) { const r = await probe(p); tries.push(r); if (typeof r === 'number' && r < 500) break; await new Promise(r => setTimeout(r, 500)) }
  results[p.name] = tries.join(' / ');
}
stop = true;
await refill;
const held = live.reduce((n, l) => n + l.size, 0);
for (const l of live) for (const s of l) s.destroy();
console.log(JSON.stringify({ opened, failed, dropped, held, results }));
process.exit(0);
`

async function runFlood (
  input: object, timeoutMs: number,
): Promise<{ opened: number, held: number, failed: number, dropped: number, results: Record<string, string> }> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', FLOOD_CHILD], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HEDGE_FLOOD: JSON.stringify(input) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr.on('data', (c: Buffer) => { err += c.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
    child.once('exit', () => {
      clearTimeout(timer)
      try { resolve(JSON.parse(out.trim().split('\n').pop() ?? '')) } catch { reject(new Error(`flood child: ${err.slice(0, 200) || 'no answer'}`)) }
    })
  })
}

/** One masked client text frame (RFC 6455 §5.2), for a socket we write to by hand. */
export function clientFrame (text: string): Buffer {
  const payload = Buffer.from(text)
  const mask = randomBytes(4)
  const len = payload.length
  const head = len < 126
    ? Buffer.from([0x81, 0x80 | len])
    : len < 65536
      ? Buffer.from([0x81, 0x80 | 126, len >> 8, len & 255])
      : Buffer.concat([Buffer.from([0x81, 0x80 | 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b })()])
  for (let i = 0; i < len; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number)
  return Buffer.concat([head, mask, payload])
}

/**
 * A WebSocket client that sends and then never reads: the upgrade by hand on a plain socket,
 * then `frames`, then the socket is paused (TCP flow control is all the server sees).
 */
async function deafClient (wsUrl: string, headers: Record<string, string>, frames: readonly string[]): Promise<Socket> {
  const u = new URL(wsUrl)
  const sock = netConnect({ host: u.hostname, port: Number(u.port) })
  await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  sock.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`)
  const head = await new Promise<string>((resolve, reject) => {
    sock.once('data', (c: Buffer) => { resolve(c.toString('latin1')) })
    sock.once('error', reject)
    setTimeout(() => { reject(new Error('no upgrade answer')) }, 10_000)
  })
  if (!head.startsWith('HTTP/1.1 101')) { sock.destroy(); throw new Error(`upgrade refused: ${head.split('\r\n')[0] ?? ''}`) }
  sock.pause()
  for (const f of frames) sock.write(clientFrame(f))
  return sock
}

/** A page of incompressible pixels: each screenshot of it is megabytes. */
const NOISE_PAGE = `<!doctype html><title>noise</title><body style="margin:0"><canvas id=c width=1400 height=1400></canvas><script>
const c = document.getElementById('c').getContext('2d'); const img = c.createImageData(1400, 1400);
crypto.getRandomValues(img.data.subarray(0, 65536)); for (let i = 0; i < img.data.length; i += 65536) crypto.getRandomValues(img.data.subarray(i, Math.min(i + 65536, img.data.length)));
for (let i = 3; i < img.data.length; i += 4) img.data[i] = 255; c.putImageData(img, 0, 0); document.title = 'ready'</script></body>`

export const EXHAUSTION_ATTACKS: Attack[] = [
  {
    id: 'frame-freezes-gateway',
    gatewayOnly: true,
    category: 'exhaustion',
    description: 'A client with a CDP token sends one 4 MiB frame of 299-digit number runs; meanwhile a separate client times /health on the kernel front (harm: an answer takes over 1 s, or fails).',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const token = await rogueToken(ctx)
      let c: CdpConnection
      try { c = await cdpConnect(await browserWsUrl(ctx.d.endpoints.cdp, token), { headers: authHeaders(token) }) } catch (err) { return { harm: false, evidence: `connect refused: ${reason(err)}` } }
      try {
        const idle = await healthMs(ctx)
        const frame = digitFrame(4 * 1024 * 1024 - 1024)
        let worst = 0
        let probes = 0
        let running = true
        const prober = (async () => {
          while (running) { worst = Math.max(worst, await healthMs(ctx)); probes++; await new Promise(resolve => setTimeout(resolve, 50)) }
        })()
        await new Promise(resolve => setTimeout(resolve, 150)) // the prober is under way
        const t0 = performance.now()
        const reply = await c.sendRaw(frame, 1, 30_000).then(r => (r.error !== undefined ? `error ${r.error.message.slice(0, 80)}` : 'answered'), (err: unknown) => reason(err))
        const took = Math.round(performance.now() - t0)
        await new Promise(resolve => setTimeout(resolve, 300))
        running = false
        await prober
        const harm = worst > 1000
        return {
          harm,
          evidence: `frame (${(frame.length / 1048576).toFixed(1)} MiB) → ${reply} after ${took} ms; /health idle ${Math.round(idle)} ms, ` +
            `worst during the frame ${Number.isFinite(worst) ? `${Math.round(worst)} ms` : 'failed'} over ${probes} probes; ` +
            `oracle: the gateway ${harm ? 'stalled for every client' : 'kept answering'}`,
        }
      } finally { c.close() }
    },
  },
  {
    id: 'relay-no-backpressure',
    gatewayOnly: true,
    category: 'exhaustion',
    description: 'A client with a CDP token asks for 40 full-size screenshots of an incompressible page on a page socket and never reads the answers; ' +
      'the front must not buffer them (harm: the process serving the front grows by 64 MiB or more).',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const token = await rogueToken(ctx)
      let c: CdpConnection
      try { c = await cdpConnect(await browserWsUrl(ctx.d.endpoints.cdp, token), { headers: authHeaders(token) }) } catch (err) { return { harm: false, evidence: `connect refused: ${reason(err)}` } }
      let page: PageHandle | undefined
      let sock: Socket | undefined
      try {
        page = await openPage(c)
        await navigate(c, page.sessionId, ctx.fixtures.sitePage(NOISE_PAGE))
        const list = await httpCall(`${ctx.d.endpoints.cdp}/json/list`, { headers: authHeaders(token) })
        const entry = Array.isArray(list.json)
          ? (list.json as Array<{ id?: string, webSocketDebuggerUrl?: string }>).find(e => e.id === page?.targetId)
          : undefined
        if (entry?.webSocketDebuggerUrl === undefined) return { harm: false, evidence: `no page socket for the page: ${describeAnswer(list)}` }
        const shot = (id: number): string => JSON.stringify({
          id,
          method: 'Page.captureScreenshot',
          params: { format: 'png', captureBeyondViewport: true, clip: { x: 0, y: 0, width: 1400, height: 1400, scale: 1 } },
        })
        const pid = listenerPid(ctx.d.endpoints.cdp)
        const rssOf = (): number => (pid === process.pid || pid === undefined ? process.memoryUsage().rss : Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024)
        const base = rssOf()
        sock = await deafClient(entry.webSocketDebuggerUrl, authHeaders(token), Array.from({ length: 40 }, (_, i) => shot(i + 1)))
        let peak = base
        const t0 = Date.now()
        while (Date.now() - t0 < 15_000 && peak - base < 64 * 1048576) {
          await new Promise(resolve => setTimeout(resolve, 250))
          peak = Math.max(peak, rssOf())
        }
        const grew = Math.round((peak - base) / 1048576)
        const harm = grew >= 64
        return {
          harm,
          evidence: `40 screenshots asked on a page socket, never read; the front's process grew ${grew} MiB in ${Date.now() - t0} ms; ` +
            `oracle: ${harm ? 'the gateway buffers for a client that does not read' : 'bounded'}`,
        }
      } finally {
        sock?.destroy()
        await closePage(c, page)
        c.close()
      }
    },
  },
  {
    id: 'silent-sockets-lockout',
    category: 'exhaustion',
    description: 'No token: 1500 TCP connections to each front from one address (127.0.0.2) that never send a byte (reopened when dropped), ' +
      'against a process with 1024 descriptors to spare (the usual default soft limit; set behind the curtain for the test); ' +
      'a well-behaved client with valid tokens (from 127.0.0.1, three tries) must still be answered.',
    stoppedBy: ['auth'],
    attacker: 'network',
    async run (ctx) {
      const fronts = [ctx.d.endpoints.kernel, ctx.d.endpoints.cdp]
      const pids = [...new Set(fronts.map(listenerPid).filter((p): p is number => p !== undefined))]
      if (pids.length === 0) throw new Error('no listener process found for the fronts')
      // only processes we may re-limit (our own uid's; others keep their limits and are noted)
      const saved = pids.flatMap(pid => { try { return [{ pid, ...nofile(pid) }] } catch { return [] } })
      const fds = new Map<number, number>()
      try {
        for (const s of saved) { fds.set(s.pid, openFds(s.pid)); execFileSync('prlimit', ['--pid', String(s.pid), `--nofile=${(fds.get(s.pid) ?? 0) + 1024}:${s.hard}`]) }
        const [kTok, cTok] = await Promise.all([ctx.d.token('kernel', ['kernel:read']), ctx.d.token('cdp', [ctx.d.policy.cdp.connectScope])])
        const targets = fronts.map(f => { const u = new URL(f); return { host: u.hostname, port: Number(u.port) } })
        const r = await runFlood({
          targets, perTarget: 1500, maxOpened: 9000,
          probes: [
            { name: 'kernel /kernel/status', url: `${ctx.d.endpoints.kernel}/kernel/status`, headers: authHeaders(kTok) },
            { name: 'cdp /json/version', url: `${ctx.d.endpoints.cdp}/json/version`, headers: authHeaders(cTok) },
          ],
        }, 60_000)
        // a well-behaved client tries three times; locked out = no 2xx-4xx answer in any of them
        const refused = Object.entries(r.results).filter(([, v]) => !/(^|\/ )[1-4]\d\d$/.test(v))
        const after = saved.map(s => `${s.pid === process.pid ? 'this process' : `pid ${s.pid}`}: ${fds.get(s.pid) ?? '?'} fds + 1024 spare`).join(', ')
        return {
          harm: refused.length > 0,
          evidence: `limits: ${after || 'none changed'} (${pids.length - saved.length} process(es) left as they were); ` +
            `${r.opened} silent sockets opened (${r.failed} failed, ${r.dropped} dropped by the server and reopened, ${r.held} held at the end); ` +
            `well-behaved client: ${Object.entries(r.results).map(([k, v]) => `${k} → ${v}`).join(', ')}; ` +
            `oracle: ${refused.length > 0 ? 'locked out' : 'served'}`,
        }
      } finally {
        for (const s of saved) execFileSync('prlimit', ['--pid', String(s.pid), `--nofile=${s.soft}:${s.hard}`])
      }
    },
  },
  {
    id: 'ticket-eviction',
    gatewayOnly: true,
    category: 'exhaustion',
    description: 'A cdp:read token mints tickets in a loop (GET /json/list) until another client\'s fresh, unused ticket is evicted; ' +
      'the other client then connects with its ticketed URL (as Puppeteer\'s browserURL does: no header).',
    stoppedBy: ['auth'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const victimToken = await ctx.d.token('cdp', [ctx.d.policy.cdp.connectScope])
      const readToken = await ctx.d.token('cdp', ['cdp:read'])
      const victimUrl = await browserWsUrl(ctx.d.endpoints.cdp, victimToken)
      if (!victimUrl.includes('ticket=')) return { harm: false, evidence: 'discovery hands out no tickets: nothing to evict' }
      const ttlMs = ctx.d.policy.auth.ticketTtlSeconds * 1000
      const t0 = Date.now()
      let minted = 0
      let status = 200
      const budget = Math.min(ttlMs / 2, 20_000)
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (minted < 11_000 && status === 200 && Date.now() - t0 < budget) {
          const a = await httpCall(`${ctx.d.endpoints.cdp}/json/list`, { headers: authHeaders(readToken), timeoutMs: 5000 }).catch(() => ({ status: 0, text: '', json: undefined }))
          status = a.status
          if (Array.isArray(a.json)) minted += (a.json as Array<{ webSocketDebuggerUrl?: string }>).filter(t => String(t.webSocketDebuggerUrl ?? '').includes('ticket=')).length
        }
      }))
      const elapsed = Date.now() - t0
      if (elapsed >= ttlMs) throw new Error(`minting took ${elapsed} ms, past the ticket TTL: inconclusive`)
      const use = async (url: string): Promise<string> => await cdpConnect(url, { timeoutMs: 5000 }).then(c => { c.close(); return 'connected' }, (err: unknown) => reason(err))
      const victim = await use(victimUrl)
      const control = await use(await browserWsUrl(ctx.d.endpoints.cdp, victimToken))
      const harm = victim !== 'connected' && control === 'connected'
      return {
        harm,
        evidence: `${minted} tickets minted in ${elapsed} ms (last answer ${status}); the other client's earlier ticket: ${victim}; ` +
          `a fresh one: ${control}; oracle: ${harm ? 'the other client was refused' : 'the other client connected'}`,
      }
    },
  },
  {
    id: 'subject-lockout',
    gatewayOnly: true,
    category: 'exhaustion',
    description: 'One CDP token opens connections up to the per-principal cap and holds them; another token of the same orchestrator (minted separately) is refused.',
    stoppedBy: ['auth'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const mine = await rogueToken(ctx)
      const theirs = await ctx.d.token('cdp', ['cdp:control'])
      const cap = ctx.d.policy.cdp.maxConnectionsPerPrincipal
      const held: CdpConnection[] = []
      let last = ''
      try {
        for (let i = 0; i < Math.min(cap + 2, 64); i++) {
          try {
            held.push(await cdpConnect(await browserWsUrl(ctx.d.endpoints.cdp, mine), { headers: authHeaders(mine), timeoutMs: 5000 }))
          } catch (err) { last = reason(err); break }
        }
        const other = await cdpConnect(await browserWsUrl(ctx.d.endpoints.cdp, theirs), { headers: authHeaders(theirs), timeoutMs: 5000 })
          .then(c => { c.close(); return 'connected' }, (err: unknown) => reason(err))
        const harm = other !== 'connected'
        return {
          harm,
          evidence: `attacker holds ${held.length} connections${last !== '' ? ` (then: ${last})` : ''}; another token: ${other}; ` +
            `oracle: ${harm ? 'the other client was locked out' : 'the other client connected'}`,
        }
      } finally { for (const c of held) c.close() }
    },
  },
  {
    id: 'health-leaks-connection-file',
    category: 'exhaustion',
    description: 'No token: GET /health (and /kernel/status with a kernel:read token) answers with the kernel\'s connection-file path (where the HMAC key lives).',
    stoppedBy: ['routes'],
    attacker: 'network',
    async run (ctx) {
      const real = (await ctx.oracle.kernel('GET', '/kernel/status')).json?.connection_file
      if (typeof real !== 'string' || real === '') throw new Error('oracle: no connection file path')
      const base = real.slice(real.lastIndexOf('/') + 1)
      const readTok = await ctx.d.token('kernel', ['kernel:read'])
      const asks: Array<[string, Record<string, string>]> = [['/health', {}], ['/kernel/status', authHeaders(readTok)]]
      const notes: string[] = []
      let leaked = false
      for (const [path, headers] of asks) {
        const a = await httpCall(`${ctx.d.endpoints.kernel}${path}`, { headers, timeoutMs: 10_000 }).catch((err: unknown) => ({ status: 0, text: reason(err), json: undefined }))
        const hit = a.text.includes(real) || a.text.includes(base)
        leaked ||= hit
        notes.push(`${path} → ${a.status === 200 ? '200' : describeAnswer(a)}${hit ? ' names the connection file' : ''}`)
      }
      return { harm: leaked, evidence: `${notes.join('; ')}; oracle: the path ${leaked ? 'leaked' : 'not disclosed'}` } satisfies AttackOutcome
    },
  },
]
