// The oracle: the harness's privileged view of a deployment, used only to judge harm
// (state reset, code run, key or file read, browser crashed) — never to attack.
import { randomBytes } from 'node:crypto'
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { parseUpstream, upstreamRequest } from '../net/upstream.ts'
import type { Deployment, Oracle } from './types.ts'

export function kernelCall (base: string, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<{ status: number, json: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const headers: Record<string, string> = payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }
    const req = upstreamRequest(parseUpstream(base), path, { method, headers, timeout: timeoutMs }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { let json: any; try { json = JSON.parse(Buffer.concat(chunks).toString()) } catch { json = undefined } resolve({ status: res.statusCode ?? 0, json }) })
    })
    req.on('timeout', () => { req.destroy(new Error('oracle request timed out')) })
    req.on('error', reject)
    req.end(payload)
  })
}

export function createOracle (d: Deployment): Oracle {
  const k = d.internals.kernel
  return {
    kernel: async (method, path, body) => await kernelCall(k, method, path, body),
    async kernelKey () {
      const r = await kernelCall(k, 'GET', '/kernel/connection')
      const key = r.json?.connection_info?.key
      if (typeof key !== 'string' || key === '') throw new Error('oracle: no kernel key')
      return key
    },
    async plantMarker () {
      const name = `hedge_marker_${randomBytes(6).toString('hex')}`
      const r = await kernelCall(k, 'POST', '/kernel/execute', { code: `${name} = 1` })
      if (r.json?.success !== true) throw new Error('oracle: could not plant marker')
      return name
    },
    async markerAlive (name) {
      const r = await kernelCall(k, 'POST', '/kernel/execute', { code: `print('alive' if '${name}' in globals() else 'gone')` })
      return String(r.json?.output ?? '').includes('alive')
    },
    canary (where) {
      const file = `canary-${randomBytes(6).toString('hex')}`
      if (where === 'output') return join(d.internals.workspace.output, file)
      if (where === 'workspace') return join(d.internals.workspace.root, file)
      return join(d.internals.outside ?? join(d.internals.workspace.root, '..', 'outside'), file) // outside the workspace, writable by the agent
    },
    exists: async path => await access(path).then(() => true, () => false),
    async browserId () {
      try {
        const res = await fetch(`${d.internals.chromium}/json/version`, { signal: AbortSignal.timeout(5000) })
        const v = await res.json() as { webSocketDebuggerUrl?: string }
        return v.webSocketDebuggerUrl?.split('/').pop() ?? null
      } catch { return null }
    },
  }
}
