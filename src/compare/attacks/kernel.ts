// Kernel attacks from the network: drive the kernel API without a token, read the HMAC key
// (from /kernel/connection, /kernel/debug, or through path tricks) and turn a leaked key into
// code execution over ZMQ. Oracles judge harm behind the gateway: marker gone, canary
// written, the real key seen in a response body.
import { request } from 'node:http'
import { execFile } from 'node:child_process'
import type { Attack, AttackContext, AttackOutcome } from '../types.ts'
import { assertLoopback } from './victim-browser.ts'

export const NET_TIMEOUT_MS = 20_000

export interface RawResponse {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly text: string
}

/**
 * One HTTP request with the request-target written exactly as given (fetch and URL would
 * normalise `%2f`, `/./`, `//`), arbitrary headers (Host included), bounded by a timeout.
 * Network errors resolve as status 0 with the message as text.
 */
export function rawRequest (
  base: string, o: { method?: string, path: string, headers?: Record<string, string>, body?: string, timeoutMs?: number },
): Promise<RawResponse> {
  assertLoopback(base)
  const u = new URL(base)
  return new Promise(resolve => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) }
    if (o.body !== undefined) headers['content-length'] = String(Buffer.byteLength(o.body))
    const req = request({ host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port, method: o.method ?? 'GET', path: o.path, headers, timeout: o.timeoutMs ?? NET_TIMEOUT_MS }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }) })
      res.on('error', e => { resolve({ status: 0, headers: {}, text: `response error: ${e.message}` }) })
      res.on('aborted', () => { resolve({ status: 0, headers: {}, text: 'response aborted (timed out)' }) })
    })
    // a hard deadline for the whole exchange (the socket timeout alone is an idle timeout)
    const deadline = setTimeout(() => { req.destroy(new Error('timed out')) }, o.timeoutMs ?? NET_TIMEOUT_MS)
    req.on('close', () => { clearTimeout(deadline) })
    req.on('timeout', () => { req.destroy(new Error('timed out')) })
    req.on('error', e => { resolve({ status: 0, headers: {}, text: `request error: ${e.message}` }) })
    req.end(o.body)
  })
}

/** `401 HEDGE_AUTH_MISSING` — the status and, when the body is a hedge error, its code. */
export function statusLine (r: RawResponse): string {
  if (r.status === 0) return r.text
  let code = ''
  try { const j = JSON.parse(r.text); if (typeof j?.code === 'string') code = ` ${j.code}` } catch { /* not JSON */ }
  return `${r.status}${code}`
}

export const bearer = (token: string | null): Record<string, string> => (token === null ? {} : { authorization: `Bearer ${token}` })

/** Python that writes a canary file (the oracle checks it exists). */
export const canaryCode = (path: string): string => `open(${JSON.stringify(path)}, 'w').write('hedge-canary')`

export function postJson (base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(base, { method: 'POST', path, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
}

/** Run `code` through /kernel/execute and judge by the canary it would write. */
export async function executeCanary (ctx: AttackContext, headers: Record<string, string>, what: string): Promise<AttackOutcome> {
  const canary = ctx.oracle.canary('output')
  const r = await postJson(ctx.d.endpoints.kernel, '/kernel/execute', { code: canaryCode(canary) }, headers)
  const harm = await ctx.oracle.exists(canary)
  return { harm, evidence: `${what}: POST /kernel/execute → ${statusLine(r)}; oracle: canary ${harm ? 'written' : 'absent'}` }
}

/** Did `text` carry the kernel's current key? */
async function leaksKey (ctx: AttackContext, text: string): Promise<boolean> {
  const key = await ctx.oracle.kernelKey()
  return text.includes(key)
}

async function readKey (ctx: AttackContext, path: string, token: string | null): Promise<AttackOutcome> {
  const r = await rawRequest(ctx.d.endpoints.kernel, { path, headers: bearer(token) })
  const harm = await leaksKey(ctx, r.text)
  return { harm, evidence: `GET ${path} → ${statusLine(r)}; oracle: body ${harm ? 'carries' : 'does not carry'} the kernel key` }
}

const ALL_KERNEL_SCOPES = ['kernel:read', 'kernel:control', 'kernel:execute', 'kernel:admin'] as const

/** Execute `code` over ZMQ with a leaked connection info (jupyter_client, Debian's python). */
function zmqExecute (info: Record<string, unknown>, code: string): Promise<string> {
  const py = [
    'import json, sys',
    'from jupyter_client import BlockingKernelClient',
    'kc = BlockingKernelClient()',
    'kc.load_connection_info(json.loads(sys.argv[1]))',
    'kc.start_channels()',
    'try:',
    '    mid = kc.execute(sys.argv[2])',
    '    while True:',
    '        m = kc.get_shell_msg(timeout=15)',
    '        if m["parent_header"].get("msg_id") == mid:',
    '            print(m["content"]["status"]); break',
    'finally:',
    '    kc.stop_channels()',
  ].join('\n')
  if (info.ip !== '127.0.0.1' && info.ip !== 'localhost') return Promise.resolve(`refused: kernel ip ${String(info.ip)} is not loopback`)
  return new Promise(resolve => {
    execFile('/usr/bin/python3', ['-c', py, JSON.stringify(info), code], { timeout: NET_TIMEOUT_MS, env: { PATH: '/usr/bin:/bin', HOME: '/tmp' } }, (err, stdout, stderr) => {
      if (err !== null) resolve(`python failed: ${(stderr.trim().split('\n').pop() ?? err.message).slice(0, 160)}`)
      else resolve(`shell reply ${stdout.trim()}`)
    })
  })
}

export const KERNEL_ATTACKS: Attack[] = [
  {
    id: 'kernel-reset-unauthenticated',
    category: 'kernel-control',
    description: 'Anyone on the network resets the kernel (POST /kernel/reset, no token): the agent loses its state.',
    stoppedBy: ['auth'],
    attacker: 'network',
    async run (ctx) {
      const marker = await ctx.oracle.plantMarker()
      const r = await rawRequest(ctx.d.endpoints.kernel, { method: 'POST', path: '/kernel/reset' })
      const harm = !await ctx.oracle.markerAlive(marker)
      return { harm, evidence: `POST /kernel/reset → ${statusLine(r)}; oracle: marker ${harm ? 'gone (kernel state wiped)' : 'alive'}` }
    },
  },
  {
    id: 'kernel-execute-unauthenticated',
    category: 'kernel-control',
    description: 'Anyone on the network runs code in the kernel (POST /kernel/execute, no token) and writes a file.',
    stoppedBy: ['auth'],
    attacker: 'network',
    run: async ctx => await executeCanary(ctx, {}, 'no token'),
  },
  {
    id: 'kernel-key-read',
    category: 'kernel-key',
    description: 'Anyone on the network reads the kernel\'s HMAC key from GET /kernel/connection (an execute credential).',
    stoppedBy: ['auth', 'routes'],
    attacker: 'network',
    run: async ctx => await readKey(ctx, '/kernel/connection', null),
  },
  {
    id: 'kernel-key-via-debug',
    category: 'kernel-key',
    description: 'A rogue agent holding every kernel scope (admin included) reads the HMAC key from GET /kernel/debug.',
    stoppedBy: ['routes'],
    attacker: 'rogue-agent',
    run: async ctx => await readKey(ctx, '/kernel/debug', await ctx.d.token('kernel', [...ALL_KERNEL_SCOPES])),
  },
  {
    id: 'zmq-exec-with-stolen-key',
    category: 'kernel-key',
    description: 'Read the HMAC key through the API (/kernel/connection, else /kernel/debug), then run code over the kernel\'s ZMQ ports on loopback with it.',
    stoppedBy: ['auth', 'routes'],
    attacker: 'network',
    async run (ctx) {
      let info: Record<string, unknown> | undefined
      const tried: string[] = []
      for (const path of ['/kernel/connection', '/kernel/debug']) {
        const r = await rawRequest(ctx.d.endpoints.kernel, { path })
        tried.push(`${path} ${statusLine(r)}`)
        try {
          const ci = JSON.parse(r.text)?.connection_info
          if (typeof ci?.key === 'string' && ci.key !== '' && ci.key !== '[redacted by hedge]') { info = ci; break }
        } catch { /* not JSON */ }
      }
      if (info === undefined) return { harm: false, evidence: `no key obtained (${tried.join(', ')}); nothing to send over ZMQ` }
      const canary = ctx.oracle.canary('output')
      const out = await zmqExecute(info, `${canaryCode(canary)}`)
      const harm = await ctx.oracle.exists(canary)
      return { harm, evidence: `key from ${tried.at(-1) ?? '?'}; ZMQ execute: ${out}; oracle: canary ${harm ? 'written' : 'absent'}` }
    },
  },
  {
    id: 'kernel-key-via-path-tricks',
    category: 'path-tricks',
    description: 'A rogue agent (every kernel scope, but /kernel/connection denied) asks for the key by another spelling: ' +
      '%2f, %6b, dot and empty segments, trailing slash; the plain path last as the reference.',
    stoppedBy: ['routes'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const token = await ctx.d.token('kernel', [...ALL_KERNEL_SCOPES])
      const key = await ctx.oracle.kernelKey()
      const tricks = [
        '/kernel%2fconnection', '/kernel%2Fconnection', '/%6bernel/connection', '/kernel/%63onnection', '/kernel/connectio%6e',
        '/kernel/./connection', '/kernel/x/../connection', '/kernel/%2e/connection', '//kernel/connection', '/kernel//connection',
        '/kernel/connection/', '/kernel/connection;x', '/kernel/connection%3f', '/kernel\\connection', '/KERNEL/connection',
        '/kernel/connection?x=1', '/kernel/connection#x',
        '/kernel/connection', // reference: the plain path
      ]
      const worked: string[] = []
      const answers = new Map<string, number>()
      for (const path of tricks) {
        const r = await rawRequest(ctx.d.endpoints.kernel, { path, headers: bearer(token) })
        if (r.text.includes(key)) worked.push(path)
        else { const s = statusLine(r); answers.set(s, (answers.get(s) ?? 0) + 1) }
      }
      const harm = worked.length > 0
      const rest = [...answers].map(([s, n]) => `${n}× ${s}`).join(', ')
      return { harm, evidence: `${harm ? `key served for: ${worked.join(' ')}` : `no spelling served the key (${tricks.length} tried)`}; others: ${rest === '' ? 'none' : rest}` }
    },
  },
]
