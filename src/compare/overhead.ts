// What a deployment's front costs, measured against talking to the upstream directly on
// the same machine in the same minute (NOTES.md "Costs measured here": ratios travel,
// absolute numbers do not). Two targets:
//   kernel-http    GET /health (public in every policy): direct = the kernel server itself
//                  (TCP or unix socket), via = endpoints.kernel. Keep-alive connections,
//                  `concurrency` of them each with one request in flight.
//   cdp-roundtrip  Browser.getVersion over a DevTools WebSocket: direct = Chromium's own
//                  /json/version URL, via = endpoints.cdp (token on discovery and upgrade).
//                  `concurrency` messages in flight on one socket (1 = sequential round trips).
// The machine is shared and noisy, so each row is `rounds` short runs, direct and via back
// to back (order alternating), and every number is a median over rounds; ratios are medians
// of the per-round paired ratios. A fresh WebSocket per run keeps every run's burst inside
// the relay's per-connection rate limit the same way on both sides; each run starts timing
// once the socket has answered a first message, because what a connection costs to set up
// (hedged's own browser context and blank page per connection) is paid once per connection,
// not per message: it is reported apart, as the median time to that first answer. Measurement only:
// nothing here asserts; failed requests are counted, never hidden in the latencies.
import { Agent } from 'node:http'
import WebSocket from 'ws'
import { parseUpstream, upstreamRequest } from '../net/upstream.ts'
import type { Deployment } from './types.ts'
import type { LatencyStats, OverheadRow, OverheadTarget } from './report/model.ts'

export interface OverheadOptions {
  /** Measuring time per row (target × concurrency), split over rounds, half direct and half via. */
  durationMs: number
  concurrency: number[]
  targets?: readonly OverheadTarget[]
  /** Interleaved rounds per row (default: one per ~400 ms of duration, 3 to 10). */
  rounds?: number
  progress?: (line: string) => void
}

/** One run's raw result. */
interface Run { latMs: number[], errors: number, seconds: number, firstError?: string, readyMs?: number }

const REQUEST_TIMEOUT_MS = 10_000
const DRAIN_TIMEOUT_MS = 10_000

export async function measureOverhead (d: Deployment, opts: OverheadOptions): Promise<OverheadRow[]> {
  if (!(opts.durationMs > 0)) throw new Error('measureOverhead: durationMs must be positive')
  const rounds = opts.rounds ?? Math.min(10, Math.max(3, Math.round(opts.durationMs / 400)))
  const phaseMs = Math.max(20, opts.durationMs / (2 * rounds))
  for (const c of opts.concurrency) if (!Number.isInteger(c) || c < 1) throw new Error(`measureOverhead: concurrency must be a positive integer, got ${c}`)
  const rows: OverheadRow[] = []
  for (const target of opts.targets ?? ['kernel-http', 'cdp-roundtrip'] as const) {
    let sides: Sides | undefined
    try {
      sides = target === 'kernel-http' ? await httpSides(d) : await cdpSides(d)
      for (const c of opts.concurrency) {
        opts.progress?.(`${d.name}: ${target} ×${c} (${rounds} rounds)`)
        try {
          // Warm both paths (connections, JIT, caches) before anything counts.
          await sides.direct(c, Math.min(200, phaseMs))
          await sides.via(c, Math.min(200, phaseMs))
          const direct: Run[] = []
          const via: Run[] = []
          for (let r = 0; r < rounds; r++) {
            if (r % 2 === 0) { direct.push(await sides.direct(c, phaseMs)); via.push(await sides.via(c, phaseMs)) } else { via.push(await sides.via(c, phaseMs)); direct.push(await sides.direct(c, phaseMs)) }
          }
          rows.push(row(d.name, target, c, direct, via))
        } catch (err) {
          rows.push(notMeasured(d.name, target, c, err))
        }
      }
    } catch (err) { // the path could not even be set up (e.g. discovery refused): one visible row per concurrency
      for (const c of opts.concurrency) rows.push(notMeasured(d.name, target, c, err))
    } finally { sides?.close() }
  }
  return rows
}

// ---------------------------------------------------------------------------
// Statistics

export function percentile (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))
  return sorted[i] as number
}

export function median (xs: readonly number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  if (s.length === 0) return 0
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2
}

interface RunStats { p50: number, p99: number, perSecond: number }
function runStats (r: Run): RunStats {
  const s = [...r.latMs].sort((a, b) => a - b)
  return { p50: percentile(s, 0.5), p99: percentile(s, 0.99), perSecond: r.seconds > 0 ? r.latMs.length / r.seconds : 0 }
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000
const safeRatio = (a: number, b: number): number => (a > 0 && b > 0 ? a / b : 0)

function stats (runs: readonly Run[]): LatencyStats {
  const per = runs.map(runStats)
  return {
    p50Ms: round3(median(per.map(x => x.p50))),
    p99Ms: round3(median(per.map(x => x.p99))),
    perSecond: Math.round(median(per.map(x => x.perSecond)) * 10) / 10,
    n: runs.reduce((n, r) => n + r.latMs.length, 0),
    errors: runs.reduce((n, r) => n + r.errors, 0),
  }
}

export function row (deployment: string, target: OverheadTarget, concurrency: number, direct: readonly Run[], via: readonly Run[]): OverheadRow {
  const pairs = direct.map((dr, i) => [runStats(dr), runStats(via[i] as Run)] as const)
  const out: OverheadRow = {
    deployment, target, concurrency, rounds: direct.length,
    direct: stats(direct), via: stats(via),
    ratio: {
      p50: round3(median(pairs.map(([a, b]) => safeRatio(a.p50, b.p50)))),
      p99: round3(median(pairs.map(([a, b]) => safeRatio(a.p99, b.p99)))),
      throughput: round3(median(pairs.map(([a, b]) => safeRatio(b.perSecond, a.perSecond)))),
    },
  }
  const notes = [['direct', direct], ['via', via]].flatMap(([side, runs]) => {
    const rs = runs as readonly Run[]
    const errs = rs.reduce((n, r) => n + r.errors, 0)
    const first = rs.find(r => r.firstError !== undefined)?.firstError
    return errs > 0 ? [`${String(side)}: ${errs} failed request(s)${first !== undefined ? `, first: ${first.slice(0, 160)}` : ''}`] : []
  })
  const ready = (rs: readonly Run[]): number | undefined => { const v = rs.flatMap(r => r.readyMs === undefined ? [] : [r.readyMs]); return v.length === 0 ? undefined : median(v) }
  const rd = ready(direct)
  const rv = ready(via)
  if (rd !== undefined && rv !== undefined) notes.push(`connection ready (first answer): direct ${rd.toFixed(1)} ms, via ${rv.toFixed(1)} ms (median; not in the latencies)`)
  if (notes.length > 0) out.note = notes.join('; ')
  return out
}

/** A row that says why there are no numbers (zeros everywhere, the reason in `note`). */
function notMeasured (deployment: string, target: OverheadTarget, concurrency: number, err: unknown): OverheadRow {
  const zero: LatencyStats = { p50Ms: 0, p99Ms: 0, perSecond: 0, n: 0, errors: 0 }
  return { deployment, target, concurrency, rounds: 1, direct: zero, via: { ...zero }, ratio: { p50: 0, p99: 0, throughput: 0 }, note: `not measured: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300) }
}

// ---------------------------------------------------------------------------
// Drivers: each side is `(concurrency, ms) => Run`.

interface Sides { direct: (c: number, ms: number) => Promise<Run>, via: (c: number, ms: number) => Promise<Run>, close: () => void }

const now = (): bigint => process.hrtime.bigint()
const msSince = (t0: bigint): number => Number(now() - t0) / 1e6

/** Run `workers` loops of `once` until `ms` have passed; each once() resolves to an error text or undefined. */
async function closedLoop (workers: number, ms: number, once: () => Promise<string | undefined>): Promise<Run> {
  const lat: number[] = []
  let errors = 0
  let firstError: string | undefined
  const t0 = now()
  const deadline = t0 + BigInt(Math.round(ms * 1e6))
  await Promise.all(Array.from({ length: workers }, async () => {
    while (now() < deadline) {
      const s = now()
      const err = await once().catch((e: unknown) => (e instanceof Error ? e.message : String(e)))
      if (err === undefined) lat.push(msSince(s)); else { errors++; firstError ??= err }
    }
  }))
  return { latMs: lat, errors, seconds: msSince(t0) / 1000, ...(firstError !== undefined ? { firstError } : {}) }
}

function httpGetter (base: string, path: string): { get: () => Promise<string | undefined>, agent: Agent } {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 })
  const upstream = parseUpstream(base)
  const get = (): Promise<string | undefined> => new Promise(resolve => {
    const req = upstreamRequest(upstream, path, { method: 'GET', agent, timeout: REQUEST_TIMEOUT_MS }, res => {
      res.on('data', () => {})
      res.on('end', () => { resolve(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode ?? 0}`) })
      res.on('error', e => { resolve(e.message) })
    })
    req.on('timeout', () => { req.destroy(new Error('timed out')) })
    req.on('error', e => { resolve(e.message) })
    req.end()
  })
  return { get, agent }
}

async function httpSides (d: Deployment): Promise<Sides> {
  const direct = httpGetter(d.internals.kernel, '/health')
  const via = httpGetter(d.endpoints.kernel, '/health')
  return {
    direct: async (c, ms) => await closedLoop(c, ms, direct.get),
    via: async (c, ms) => await closedLoop(c, ms, via.get),
    close: () => { direct.agent.destroy(); via.agent.destroy() },
  }
}

interface CdpEndpoint { base: string, headers: Record<string, string> }

async function cdpSides (d: Deployment): Promise<Sides> {
  const token = await d.token('cdp', ['cdp:control'])
  const direct: CdpEndpoint = { base: d.internals.chromium, headers: {} }
  const via: CdpEndpoint = { base: d.endpoints.cdp, headers: token === null ? {} : { authorization: `Bearer ${token}` } }
  return { direct: async (c, ms) => await cdpRun(direct, c, ms), via: async (c, ms) => await cdpRun(via, c, ms), close: () => {} }
}

async function browserWsUrl (e: CdpEndpoint): Promise<string> {
  const res = await fetch(`${e.base.replace(/\/$/, '')}/json/version`, { headers: e.headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  const body = await res.text()
  if (!res.ok) throw new Error(`CDP discovery at ${e.base}: HTTP ${res.status} ${body.slice(0, 200)}`)
  const url = (JSON.parse(body) as { webSocketDebuggerUrl?: unknown }).webSocketDebuggerUrl
  if (typeof url !== 'string') throw new Error(`CDP discovery at ${e.base}: no webSocketDebuggerUrl`)
  return url
}

async function openWs (e: CdpEndpoint): Promise<WebSocket> {
  const ws = new WebSocket(await browserWsUrl(e), { perMessageDeflate: false, headers: e.headers, handshakeTimeout: REQUEST_TIMEOUT_MS })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
    ws.once('unexpected-response', (req, res) => { req.destroy(); reject(new Error(`CDP upgrade at ${e.base} refused: HTTP ${res.statusCode ?? 0}`)) })
  })
  return ws
}

/** `inFlight` Browser.getVersion messages outstanding on one fresh socket until `ms` have passed, then drain. */
async function cdpRun (e: CdpEndpoint, inFlight: number, ms: number): Promise<Run> {
  const opened = now()
  const ws = await openWs(e)
  try {
    // The first answer marks a connection ready (a gateway may prepare it first): timed apart.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('no first answer')) }, REQUEST_TIMEOUT_MS)
      ws.once('message', () => { clearTimeout(timer); resolve() })
      ws.send('{"id":0,"method":"Browser.getVersion"}')
    })
    const readyMs = msSince(opened)
    const lat: number[] = []
    const sent = new Map<number, bigint>()
    let errors = 0
    let firstError: string | undefined
    let nextId = 1
    const t0 = now()
    const deadline = t0 + BigInt(Math.round(ms * 1e6))
    let finish: () => void = () => {}
    const done = new Promise<void>(resolve => { finish = resolve })
    const send = (): void => {
      const id = nextId++
      sent.set(id, now())
      ws.send(`{"id":${id},"method":"Browser.getVersion"}`)
    }
    ws.on('message', (data: Buffer) => {
      const text = data.toString()
      const m = /^\{"id":(\d+)/.exec(text)
      const id = m === null ? NaN : Number(m[1])
      const s = sent.get(id)
      if (s === undefined) return // an event, or something we did not send
      sent.delete(id)
      const t = now()
      if (text.includes('"error":')) { errors++; firstError ??= text.slice(0, 200) } else lat.push(Number(t - s) / 1e6)
      if (t < deadline) send()
      else if (sent.size === 0) finish()
    })
    ws.on('close', () => { finish() })
    for (let i = 0; i < inFlight; i++) send()
    const timer = setTimeout(() => { finish() }, ms + DRAIN_TIMEOUT_MS)
    await done
    clearTimeout(timer)
    if (sent.size > 0) { errors += sent.size; firstError ??= `${sent.size} message(s) unanswered (socket ${ws.readyState === WebSocket.OPEN ? 'open' : 'closed'})` }
    return { latMs: lat, errors, seconds: msSince(t0) / 1000, readyMs, ...(firstError !== undefined ? { firstError } : {}) }
  } finally {
    ws.terminate()
  }
}
