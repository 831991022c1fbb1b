// The documented isolation boundary: the agent's processes (kernel, Chromium) run as a
// non-root user with no capabilities. When the launcher is root we drop to `hedge-agent`
// with setpriv (no new privileges, empty inheritable and bounding capability sets);
// otherwise the processes simply run as the invoking (already unprivileged) user.
import { execFileSync } from 'node:child_process'

export const AGENT_USER = 'hedge-agent'
/** Hedged shape only: the browser's own user, and the group both share output/ through. */
export const BROWSER_USER = 'hedge-browser'
export const WORK_GROUP = 'hedge-work'

/** `groups`: supplementary groups (none when absent: setpriv --clear-groups). */
export interface AgentIdentity { readonly user: string, readonly uid: number, readonly gid: number, readonly groups?: readonly number[] }

/** The hedged shape's two identities (see docs/separate-identities.md). */
export interface SeparateIdentities { readonly agent: AgentIdentity, readonly browser: AgentIdentity, readonly workGid: number }

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

const SETUP_HINT = 'run "npm run setup" as root (it creates hedge-agent, hedge-browser and the hedge-work group)'

function idOf (flag: '-u' | '-g', name: string): number {
  const n = Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
  if (!Number.isInteger(n) || n <= 0) throw new Error(`bad id for ${name}`)
  return n
}

function groupId (name: string): number {
  const line = execFileSync('getent', ['group', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  const n = Number(line.split(':')[2])
  if (!Number.isInteger(n) || n <= 0) throw new Error(`bad gid for ${name}`)
  return n
}

/**
 * The hedged shape: the kernel as hedge-agent, Chromium as hedge-browser, both with the
 * supplementary group hedge-work (output/ only). Needs root (the launcher switches uids);
 * fails closed otherwise rather than silently running both as one user.
 */
export function separateIdentities (): SeparateIdentities {
  if (process.getuid?.() !== 0) throw new Error('identities "separate" needs a root launcher (it runs the kernel and Chromium as two users)')
  let ids: SeparateIdentities
  try {
    const workGid = groupId(WORK_GROUP)
    const agent = { user: AGENT_USER, uid: idOf('-u', AGENT_USER), gid: idOf('-g', AGENT_USER), groups: [workGid] }
    const browser = { user: BROWSER_USER, uid: idOf('-u', BROWSER_USER), gid: idOf('-g', BROWSER_USER), groups: [workGid] }
    ids = { agent, browser, workGid }
  } catch {
    throw new Error(`identities "separate": users ${AGENT_USER}/${BROWSER_USER} or group ${WORK_GROUP} missing: ${SETUP_HINT}`)
  }
  if (
    ids.agent.uid === ids.browser.uid || ids.agent.gid === ids.browser.gid ||
    ids.agent.gid === ids.workGid || ids.browser.gid === ids.workGid
  ) {
    throw new Error(`identities "separate": ${AGENT_USER} and ${BROWSER_USER} must have distinct uids and primary groups, distinct from ${WORK_GROUP}`)
  }
  return ids
}

/** Wrap a command so that it runs as the agent (no-op when `who` is null). */
export function asAgent (who: AgentIdentity | null, command: string, args: readonly string[]): { command: string, args: string[] } {
  if (who === null) return { command, args: [...args] }
  const groups = who.groups !== undefined && who.groups.length > 0 ? `--groups=${who.groups.join(',')}` : '--clear-groups'
  return {
    command: 'setpriv',
    args: [`--reuid=${who.uid}`, `--regid=${who.gid}`, groups, '--inh-caps=-all',
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
