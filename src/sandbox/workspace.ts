// The sandbox's workspace zones, as documented: `upload/` read-only to the agent, `output/`
// read-write, `.store/` append-only. Enforcement depends on what this machine lets us do, and
// the returned object says which mechanism actually holds each property:
//
//  as root   upload/  root-owned 0755 (the agent cannot write) + a read-only bind mount
//            output/  owned by the agent
//            .store/  owned by the agent, `chattr +a` on the directory (entries can be created,
//                     never unlinked or renamed) and on the files pre-created in it (append works,
//                     truncate/rewrite/unlink fail). +a is NOT inherited on ext4: a file the agent
//                     creates later is undeletable but rewritable until sealStore() marks it.
//  not root  plain modes only (upload/ 0555); the agent is the owner and could chmod it back.
//
// With `sharedGroup` (the hedged shape's separate identities, docs/separate-identities.md):
//            output/  agent:hedge-work 2770 plus a default ACL (group rwx, others none), so what
//                     the browser downloads the kernel can read, rewrite and delete, and back
//            .store/  0700: the browser's uid cannot even read it
//
// dispose() undoes mounts and flags so the tree can be removed (tests must never leave mounts behind).
import { execFile } from 'node:child_process'
import { constants } from 'node:fs'
import { chmod, chown, lstat, mkdir, open, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { promisify } from 'node:util'
import { agentIdentity, type AgentIdentity } from './agent-user.ts'
import { silentLogger, type Logger } from '../logger.ts'

const run = promisify(execFile)

export const DEFAULT_WORKSPACE_ROOT = '/mnt/okcomputer'
export const ZONES = { upload: 'upload', output: 'output', store: '.store' } as const

export interface WorkspaceEnforcement {
  readonly uploadReadOnly: 'bind-mount' | 'permissions'
  readonly storeAppendOnly: 'chattr' | 'none'
}

/** How output/ is shared with `sharedGroup` ('none' when no group was asked for). */
export type OutputSharing = 'default-acl' | 'setgid' | 'none'

export interface WorkspaceOptions {
  /** Workspace root (default /mnt/okcomputer). Made root-owned 0755 when root, so the agent can only write inside its zones. */
  root?: string
  /** Who the agent runs as (default agentIdentity(): hedge-agent when root, else null = the current user). */
  agent?: AgentIdentity | null
  /** Files pre-created in .store/ and made append-only (default ['log']). */
  storeFiles?: readonly string[]
  /** Try a read-only bind mount on upload/ when root (default true). */
  bindMount?: boolean
  /** Hedged shape (root only): output/ shared with this group (hedge-work), .store/ closed to others. */
  sharedGroup?: number
  logger?: Logger
}

export interface Workspace {
  readonly root: string
  readonly upload: string
  readonly output: string
  readonly store: string
  readonly agent: AgentIdentity | null
  readonly enforced: WorkspaceEnforcement
  readonly outputShared: OutputSharing
  /** Honest caveats about what the enforcement does not cover on this machine. */
  readonly notes: readonly string[]
  /** Put a file into upload/ (the launcher's way in; briefly remounts read-write when bind-mounted). */
  writeUpload (relPath: string, data: string | Uint8Array): Promise<string>
  /** Make every file and directory now in .store/ append-only; returns the paths marked. */
  sealStore (): Promise<string[]>
  /** Undo mounts and append-only flags; with remove, delete the whole tree. Idempotent. */
  dispose (opts?: { remove?: boolean }): Promise<void>
}

async function mountPoints (): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8')
  return new Set(text.split('\n').filter(Boolean).map(l => (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))))
}

/** Refuse a path that is a symlink or not a directory (root must not chown through one). */
async function realDir (p: string): Promise<void> {
  const st = await lstat(p)
  if (st.isSymbolicLink() || !st.isDirectory()) throw new Error(`workspace: ${p} is not a plain directory`)
}

/** chmod every directory of a tree (files keep their modes). */
async function chmodTree (dir: string, mode: number): Promise<void> {
  await chmod(dir, mode)
  for (const e of await readdir(dir, { withFileTypes: true })) if (e.isDirectory()) await chmodTree(join(dir, e.name), mode)
}

async function tryRun (log: Logger, cmd: string, args: string[]): Promise<boolean> {
  try { await run(cmd, args); return true } catch (err) {
    log.debug({ cmd, args, err: (err as { stderr?: string }).stderr ?? String(err) }, 'workspace command failed')
    return false
  }
}

export async function createWorkspace (opts: WorkspaceOptions = {}): Promise<Workspace> {
  const log = opts.logger ?? silentLogger
  const agent = opts.agent === undefined ? agentIdentity() : opts.agent
  const isRoot = process.getuid?.() === 0
  await mkdir(opts.root ?? DEFAULT_WORKSPACE_ROOT, { recursive: true })
  const root = await realpath(opts.root ?? DEFAULT_WORKSPACE_ROOT)
  const upload = join(root, ZONES.upload)
  const output = join(root, ZONES.output)
  const store = join(root, ZONES.store)
  const owner = async (p: string): Promise<void> => { if (isRoot && agent !== null) await chown(p, agent.uid, agent.gid) }
  const notes: string[] = []

  if (isRoot) { // adopt what a crashed run left behind: one live Workspace per root
    if ((await mountPoints()).has(upload) && !await tryRun(log, 'umount', [upload])) await tryRun(log, 'umount', ['-l', upload])
    await tryRun(log, 'chattr', ['-R', '-a', store])
  }
  for (const d of [upload, output, store]) { await mkdir(d, { recursive: true }); await realDir(d) }
  if (isRoot) { await chown(root, 0, 0); await chown(upload, 0, 0) }
  await chmod(root, 0o755)
  let outputShared: OutputSharing = 'none'
  if (opts.sharedGroup !== undefined) {
    if (!isRoot || agent === null) throw new Error('workspace: sharedGroup needs root and an agent identity')
    await chown(output, agent.uid, opts.sharedGroup); await chmod(output, 0o2770)
    // the default ACL stands in for both processes' umask inside output/ (files come out group-writable)
    outputShared = await tryRun(log, 'setfacl', ['-d', '-m', 'u::rwx,g::rwx,o::---', output]) ? 'default-acl' : 'setgid'
    if (outputShared === 'setgid') notes.push('setfacl unavailable: output/ is setgid hedge-work but files keep their creator\'s umask (the other side can delete, not rewrite)')
  } else {
    await owner(output); await chmod(output, 0o755)
    if (isRoot) await tryRun(log, 'setfacl', ['-k', output]) // a hedged run's default ACL does not outlive it
  }
  await owner(store); await chmod(store, opts.sharedGroup !== undefined ? 0o700 : 0o755)
  for (const name of opts.storeFiles ?? ['log']) {
    const f = resolve(store, name)
    if (!f.startsWith(store + sep)) throw new Error(`store file escapes .store/: ${name}`)
    let d = store // .store/ is the agent's: walk down refusing planted symlinks
    for (const part of relative(store, dirname(f)).split(sep).filter(Boolean)) {
      d = join(d, part)
      await mkdir(d).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err })
      await realDir(d)
    }
    const fh = await open(f, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644)
    try {
      if (isRoot && agent !== null) await fh.chown(agent.uid, agent.gid)
      await fh.chmod(0o644)
    } finally { await fh.close() }
  }

  // upload/: a read-only bind mount when we can, plain permissions otherwise
  let mounted = false
  if (isRoot) await chmod(upload, 0o755); else await chmodTree(upload, 0o555)
  if (isRoot && opts.bindMount !== false) {
    if (await tryRun(log, 'mount', ['--bind', upload, upload])) {
      mounted = await tryRun(log, 'mount', ['-o', 'remount,bind,ro', upload])
      if (!mounted) await tryRun(log, 'umount', [upload])
    }
  }
  if (!isRoot) notes.push('not root: upload/ is 0555 but owned by the user the agent runs as, who can chmod it back')
  else if (!mounted) notes.push('read-only bind mount unavailable: upload/ is protected by root ownership and mode 0755 only')
  if (isRoot && agent === null) notes.push('the agent runs as root: permissions do not bind it, and it could undo mounts and flags')

  // .store/: append-only via the ext4 attribute (needs CAP_LINUX_IMMUTABLE to set and to clear)
  // A directory is sealed BEFORE we look inside it: its entries can then no longer be renamed or
  // replaced (by a symlink, say), so root never follows a path the agent swapped under it.
  const seal = async (): Promise<string[]> => {
    if (!isRoot) return []
    const marked: string[] = []
    const walk = async (dir: string): Promise<void> => {
      if (!await tryRun(log, 'chattr', ['+a', dir])) return
      marked.push(dir)
      for (const name of await readdir(dir)) {
        const p = join(dir, name)
        const st = await lstat(p)
        if (st.isDirectory()) await walk(p)
        else if (st.isFile() && await tryRun(log, 'chattr', ['+a', p])) marked.push(p)
      }
    }
    await walk(store)
    return marked
  }
  const appendOnly = (await seal()).includes(store)
  if (appendOnly) notes.push('.store/: chattr +a is not inherited; files the agent creates are undeletable but rewritable until sealStore()')
  else notes.push(isRoot ? '.store/: this filesystem refused chattr +a; nothing is append-only' : '.store/: not root, no append-only enforcement')

  let lock: Promise<unknown> = Promise.resolve()
  let disposed = false
  const writeUpload = async (relPath: string, data: string | Uint8Array): Promise<string> => {
    const target = resolve(upload, relPath)
    const rel = relative(upload, target)
    if (rel === '' || rel.startsWith('..') || rel.startsWith(sep)) throw new Error(`upload path escapes upload/: ${relPath}`)
    const job = lock.then(async () => {
      if (mounted) await run('mount', ['-o', 'remount,bind,rw', upload])
      else if (!isRoot) await chmodTree(upload, 0o755)
      try {
        await mkdir(dirname(target), { recursive: true, mode: 0o755 })
        await writeFile(target, data, { mode: isRoot ? 0o644 : 0o444 })
      } finally {
        if (mounted) await run('mount', ['-o', 'remount,bind,ro', upload])
        else if (!isRoot) await chmodTree(upload, 0o555)
      }
      return target
    })
    lock = job.catch(() => undefined)
    return await job
  }

  const dispose = async (o: { remove?: boolean } = {}): Promise<void> => {
    await lock
    if (!disposed) {
      disposed = true
      if (mounted && !await tryRun(log, 'umount', [upload])) await tryRun(log, 'umount', ['-l', upload])
      if (isRoot && appendOnly) await tryRun(log, 'chattr', ['-R', '-a', store])
      if (!isRoot) await chmodTree(upload, 0o755).catch(() => undefined)
    }
    if (o.remove === true) await rm(root, { recursive: true, force: true })
  }

  const enforced: WorkspaceEnforcement = { uploadReadOnly: mounted ? 'bind-mount' : 'permissions', storeAppendOnly: appendOnly ? 'chattr' : 'none' }
  log.debug({ root, enforced }, 'workspace ready')
  return Object.freeze({
    root, upload, output, store, agent, enforced, outputShared, notes: Object.freeze(notes), writeUpload, sealStore: seal, dispose,
  })
}
