// Readiness by health check, never by sleeping a fixed time.
import { setTimeout as delay } from 'node:timers/promises'
import { parseProbeTarget, probeHealth } from '../net/upstream.ts'

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
 * GET `target` — an http:// URL, or a probe target from net/upstream.ts probeTarget() (a unix
 * socket and a path) — and resolve true on 2xx. Never rejects: a bad target, a refused
 * connection, an error or a timeout is false.
 */
export async function getOk (target: string, timeoutMs = 2000): Promise<boolean> {
  let t
  try { t = parseProbeTarget(target) } catch { return false }
  return await probeHealth(t.upstream, t.path, timeoutMs)
}
