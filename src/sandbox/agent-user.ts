// The documented isolation boundary: the agent's processes (kernel, Chromium) run as a
// non-root user with no capabilities. When the launcher is root we drop to `hedge-agent`
// with setpriv (no new privileges, empty inheritable and bounding capability sets);
// otherwise the processes simply run as the invoking (already unprivileged) user.
import { execFileSync } from 'node:child_process'

export const AGENT_USER = 'hedge-agent'

export interface AgentIdentity { readonly user: string, readonly uid: number, readonly gid: number }

let cached: AgentIdentity | null | undefined

/** The identity the agent's processes run as, or null when no drop is needed/possible (not root). */
export function agentIdentity (): AgentIdentity | null {
  if (cached !== undefined) return cached
  if (process.getuid?.() !== 0) return (cached = null)
  try {
    const uid = Number(execFileSync('id', ['-u', AGENT_USER], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', AGENT_USER], { encoding: 'utf8' }).trim())
    if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid === 0) throw new Error('bad uid')
    return (cached = { user: AGENT_USER, uid, gid })
  } catch {
    throw new Error(`running as root but user "${AGENT_USER}" does not exist: run "npm run setup" (or: useradd --system --no-create-home ${AGENT_USER})`)
  }
}

/** Wrap a command so that it runs as the agent (no-op when `who` is null). */
export function asAgent (who: AgentIdentity | null, command: string, args: readonly string[]): { command: string, args: string[] } {
  if (who === null) return { command, args: [...args] }
  return {
    command: 'setpriv',
    args: [`--reuid=${who.uid}`, `--regid=${who.gid}`, '--clear-groups', '--inh-caps=-all',
      '--bounding-set=-all', '--no-new-privs', '--', command, ...args],
  }
}

/**
 * The process dies with its launcher (PR_SET_PDEATHSIG via setpriv), so a crashed or
 * SIGKILLed launcher cannot leave an orphan holding a port. Set by the setpriv that
 * changes the uid, because a credential change clears the parent-death signal.
 */
export function diesWithParent (signal: 'SIGKILL' | 'SIGTERM', cmd: { command: string, args: string[] }): { command: string, args: string[] } {
  if (cmd.command === 'setpriv') return { command: 'setpriv', args: [`--pdeathsig=${signal}`, ...cmd.args] }
  return { command: 'setpriv', args: [`--pdeathsig=${signal}`, '--', cmd.command, ...cmd.args] }
}
