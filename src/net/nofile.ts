// RLIMIT_NOFILE: every accepted connection and every upstream leg is a descriptor. Node has
// no setrlimit; it already raises its soft limit to the hard limit at start, so only the
// hard limit can still grow, and that needs CAP_SYS_RESOURCE. We ask util-linux `prlimit`
// once at start and log what we end up with. Measured on the development machine: soft =
// hard = 20000, root without CAP_SYS_RESOURCE, so the raise is refused there and the
// per-listener caps (listen.connections) are what keeps the process below its limit.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { Logger } from '../logger.ts'

export interface Nofile { readonly soft: number, readonly hard: number }

/** Parse the "Max open files" line of /proc/<pid>/limits ('unlimited' → Infinity). */
export function parseNofile (limits: string): Nofile | null {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)\s+files\s*$/m.exec(limits)
  if (m === null) return null
  const n = (s: string): number => s === 'unlimited' ? Infinity : Number(s)
  return { soft: n(m[1] as string), hard: n(m[2] as string) }
}

export function readNofile (): Nofile | null {
  try { return parseNofile(readFileSync('/proc/self/limits', 'utf8')) } catch { return null }
}

let attempted: Nofile | null | undefined // once per process

/**
 * Try to have at least `want` descriptors (soft and hard), once per process. Never throws;
 * returns the limits in force afterwards. Warns only when they are below `need` (what the
 * configured connection caps can use); otherwise the outcome is an info line.
 */
export function raiseNofile (want: number, need: number, logger: Logger): Nofile | null {
  if (attempted !== undefined) return attempted
  const before = readNofile()
  if (want <= 0 || before === null || before.soft >= want) { attempted = before; return before }
  const hard = Math.max(before.hard, want)
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${want}:${hard}`], { stdio: 'ignore', timeout: 5_000 })
  } catch {
    // Not allowed to raise the hard limit: at least take the soft limit up to it.
    if (before.soft < before.hard) {
      try { execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${before.hard}:${before.hard}`], { stdio: 'ignore', timeout: 5_000 }) } catch { /* keep what we have */ }
    }
  }
  const after = readNofile()
  attempted = after
  if (after === null) return after
  const entry = { event: 'nofile', want, need, soft: after.soft, hard: after.hard }
  if (after.soft >= want) logger.info(entry, 'RLIMIT_NOFILE raised')
  else if (after.soft < need) logger.warn(entry, `RLIMIT_NOFILE stays at ${after.soft}, below the ${need} descriptors the connection caps allow: lower listen.connections.maxConnections or raise the hard limit (CAP_SYS_RESOURCE, or the container's ulimits)`)
  else logger.info(entry, `RLIMIT_NOFILE stays at ${after.soft} (raising the hard limit needs CAP_SYS_RESOURCE); enough for the connection caps`)
  return after
}
