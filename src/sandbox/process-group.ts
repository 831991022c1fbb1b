// Finding and ending a process tree that does not stay in one process group.
// Chromium spawns its zygotes, renderers and utility processes in the browser's group,
// but its crashpad handlers double-fork into their own sessions: killing the group alone
// can leave them behind. We therefore kill the group, then sweep /proc for any process
// whose command line names the supervisor's private temp directory (crashpad's
// `--database=<HOME>/...` does) and kill those by pid.
import { readFileSync, readdirSync } from 'node:fs'
import { setTimeout as delay } from 'node:timers/promises'

interface ProcInfo { pid: number, pgid: number, state: string }

function readStat (pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // "pid (comm) state ppid pgrp ..." — comm may contain spaces and parentheses
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { pid, state: rest[0] ?? '?', pgid: Number(rest[2]) }
  } catch { return null }
}

function allPids (): number[] {
  return readdirSync('/proc').filter(n => /^\d+$/.test(n)).map(Number)
}

/** Live (non-zombie) members of a process group. */
export function groupMembers (pgid: number): number[] {
  return allPids().map(readStat).filter((p): p is ProcInfo => p !== null && p.pgid === pgid && p.state !== 'Z').map(p => p.pid)
}

/** Live processes whose command line contains `needle` (never this process). */
export function pidsWithArg (needle: string): number[] {
  const found: number[] = []
  for (const pid of allPids()) {
    if (pid === process.pid) continue
    let cmdline: string
    try { cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8') } catch { continue }
    if (!cmdline.includes(needle)) continue
    const info = readStat(pid)
    if (info !== null && info.state !== 'Z') found.push(pid)
  }
  return found
}

/** Signal a whole process group; ignores a group that is already gone. */
export function signalGroup (pgid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pgid, signal) } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

function signalPid (pid: number, signal: NodeJS.Signals): void {
  try { process.kill(pid, signal) } catch { /* already gone */ }
}

/**
 * End a process tree: SIGTERM the group, then SIGKILL whatever of the group (or of the
 * processes naming `marker`) is still alive after `graceMs`; resolve when none is left.
 */
export async function killTree (pgid: number, marker: string, graceMs = 3000): Promise<void> {
  const survivors = (): number[] => [...new Set([...groupMembers(pgid), ...pidsWithArg(marker)])]
  signalGroup(pgid, 'SIGTERM')
  for (const pid of pidsWithArg(marker)) signalPid(pid, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (survivors().length > 0 && Date.now() < deadline) await delay(50)
  for (let round = 0; round < 100; round++) {
    const left = survivors()
    if (left.length === 0) return
    signalGroup(pgid, 'SIGKILL')
    for (const pid of left) signalPid(pid, 'SIGKILL')
    await delay(50)
  }
  throw new Error(`processes still alive after SIGKILL: ${survivors().join(', ')}`)
}
