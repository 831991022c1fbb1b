// Readiness by health check, never by sleeping a fixed time.
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
