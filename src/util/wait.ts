// Readiness by health check, never by sleeping a fixed time.
import { request } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'

export async function waitUntil (what: string, probe: () => Promise<boolean>, timeoutMs = 20_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try { if (await probe()) return } catch (err) { lastError = err }
    await delay(intervalMs)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` + (lastError instanceof Error ? `: ${lastError.message}` : ''))
}

/** True when GET url answers 2xx within 2 s. */
export async function httpOk (url: string, init: RequestInit = {}): Promise<boolean> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) })
  await res.arrayBuffer()
  return res.ok
}

/**
 * GET `target` — `http://…` or `unix:/path/to.sock:/http/path` — and resolve true on 2xx.
 * Never rejects: a refused connection, an error or a timeout is false.
 */
export function getOk (target: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise(resolve => {
    let req
    const done = (res: import('node:http').IncomingMessage): void => { res.resume(); const s = res.statusCode ?? 0; resolve(s >= 200 && s < 300) }
    try {
      if (target.startsWith('unix:')) {
        const rest = target.slice(5)
        const i = rest.indexOf(':/')
        req = request({ socketPath: i === -1 ? rest : rest.slice(0, i), path: i === -1 ? '/' : rest.slice(i + 1), timeout: timeoutMs }, done)
      } else {
        req = request(target, { timeout: timeoutMs }, done)
      }
    } catch { resolve(false); return }
    req.on('timeout', () => { req.destroy(); resolve(false) })
    req.on('error', () => { resolve(false) })
    req.end()
  })
}
