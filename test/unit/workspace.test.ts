// Workspace zones: what is enforced how (and said so honestly), writeUpload through the
// read-only mount, and dispose() leaving no mount or append-only flag behind.
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { chown, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { agentIdentity } from '../../src/sandbox/agent-user.ts'
import { createWorkspace } from '../../src/sandbox/workspace.ts'

const run = promisify(execFile)
const isRoot = process.getuid?.() === 0
const mounted = async (p: string): Promise<boolean> => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some(l => l.split(' ')[4] === p)
const appendOnly = async (p: string): Promise<boolean> => /^\S*a\S*\s/.test((await run('lsattr', ['-d', p])).stdout)

async function tempRoot (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hedge-test-ws-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('as root: bind mount, ownership, chattr', { skip: !isRoot && 'needs root' }, async t => {
  const root = await tempRoot(t)
  const agent = agentIdentity()
  if (agent === null) throw new Error('root without an agent')
  const ws = await createWorkspace({ root, storeFiles: ['log', 'audit/events.jsonl'] })
  t.teardown(() => ws.dispose())
  t.same(ws.enforced, { uploadReadOnly: 'bind-mount', storeAppendOnly: 'chattr' })
  t.match(ws.notes.join('\n'), /not inherited/, 'the sealing gap is stated')
  t.ok(await mounted(ws.upload), 'upload/ is a mount point')
  t.match((await stat(ws.root)), { uid: 0, mode: 0o40755 })
  t.match((await stat(ws.upload)), { uid: 0, mode: 0o40755 })
  t.match((await stat(ws.output)), { uid: agent.uid, gid: agent.gid })
  t.match((await stat(ws.store)), { uid: agent.uid })
  for (const p of [ws.store, join(ws.store, 'log'), join(ws.store, 'audit'), join(ws.store, 'audit/events.jsonl')]) {
    t.ok(await appendOnly(p), `${p} is +a`)
  }
  await t.rejects(writeFile(join(ws.upload, 'x'), 'even root'), { code: 'EROFS' }, 'read-only even for root')

  const f = await ws.writeUpload('sub/dir/data.csv', 'a,b\n')
  t.equal(await readFile(f, 'utf8'), 'a,b\n', 'writeUpload gets through')
  await t.rejects(writeFile(join(ws.upload, 'y'), 'x'), { code: 'EROFS' }, 'and the mount is read-only again')
  await t.rejects(ws.writeUpload('../escape', 'x'), /escapes/)
  await t.rejects(ws.writeUpload('/etc/passwd', 'x'), /escapes/)

  await ws.dispose()
  t.notOk(await mounted(ws.upload), 'dispose unmounted upload/')
  t.notOk(await appendOnly(ws.store), 'dispose cleared +a')
  t.notOk(await appendOnly(join(ws.store, 'log')))
  await ws.dispose({ remove: true })
  await t.rejects(stat(root), { code: 'ENOENT' }, 'the tree can be removed')
})

t.test('as root without the bind mount: permissions, honestly reported', { skip: !isRoot && 'needs root' }, async t => {
  const ws = await createWorkspace({ root: await tempRoot(t), bindMount: false })
  t.teardown(() => ws.dispose())
  t.equal(ws.enforced.uploadReadOnly, 'permissions')
  t.notOk(await mounted(ws.upload))
  t.match(ws.notes.join('\n'), /bind mount unavailable/)
  await ws.writeUpload('a.txt', 'x')
  t.equal(await readFile(join(ws.upload, 'a.txt'), 'utf8'), 'x')
})

t.test('a root left behind by a crashed run is adopted, not stacked', { skip: !isRoot && 'needs root' }, async t => {
  const root = await tempRoot(t)
  const crashed = await createWorkspace({ root }) // never disposed: its mount and flags stay
  t.ok(await mounted(crashed.upload))
  const ws = await createWorkspace({ root })
  t.teardown(() => ws.dispose())
  t.same(ws.enforced, { uploadReadOnly: 'bind-mount', storeAppendOnly: 'chattr' })
  const count = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter(l => l.split(' ')[4] === ws.upload).length
  t.equal(count, 1, 'one mount on upload/, not two')
  await ws.dispose({ remove: true })
  t.notOk(await mounted(ws.upload), 'nothing left mounted')
  await t.rejects(stat(root), { code: 'ENOENT' })
})

t.test('root never chowns through a symlink the agent planted in .store/', { skip: !isRoot && 'needs root' }, async t => {
  const root = await tempRoot(t)
  const victim = join(await tempRoot(t), 'victim')
  await writeFile(victim, 'root only')
  const first = await createWorkspace({ root, storeFiles: ['log'] })
  await first.dispose() // a previous run; its agent leaves symlinks behind
  await rm(join(root, '.store/log'))
  await symlink(victim, join(root, '.store/log'))
  await t.rejects(createWorkspace({ root, storeFiles: ['log'] }), { code: 'ELOOP' })
  await rm(join(root, '.store/log'))
  await symlink(dirname(victim), join(root, '.store/audit'))
  await t.rejects(createWorkspace({ root, storeFiles: ['audit/victim'] }), /not a plain directory/)
  t.equal((await stat(victim)).uid, 0, 'the target still belongs to root')
  t.equal(await readFile(victim, 'utf8'), 'root only')
  t.notOk(await mounted(join(root, 'upload')), 'a failed create leaves no mount')
})

t.test('not root: plain permissions, no append-only', async t => {
  // run createWorkspace as an unprivileged user: hedge-agent when we are root, ourselves otherwise
  const dir = await tempRoot(t)
  const agent = agentIdentity()
  if (agent !== null) await chown(dir, agent.uid, agent.gid)
  const script = `const { createWorkspace } = await import(${JSON.stringify(fileURLToPath(new URL('../../src/sandbox/workspace.ts', import.meta.url)))})
const ws = await createWorkspace({ root: process.argv[1] })
await ws.writeUpload('in.txt', 'hi')
const fs = await import('node:fs')
const modes = Object.fromEntries(['upload', 'output', '.store', 'upload/in.txt'].map(p => [p, (fs.statSync(ws.root + '/' + p).mode & 0o777).toString(8)]))
console.log(JSON.stringify({ enforced: ws.enforced, agent: ws.agent, notes: ws.notes, modes }))
await ws.dispose({ remove: true })`
  const cmd = agent === null ? { c: process.execPath, a: [] as string[] } : { c: 'setpriv', a: [`--reuid=${agent.uid}`, `--regid=${agent.gid}`, '--clear-groups', '--', process.execPath] }
  const { stdout } = await run(cmd.c, [...cmd.a, '--import', 'tsx', '--input-type=module', '-e', script, join(dir, 'ws')],
    { cwd: fileURLToPath(new URL('../..', import.meta.url)), env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } })
  const out = JSON.parse(stdout)
  t.same(out.enforced, { uploadReadOnly: 'permissions', storeAppendOnly: 'none' })
  t.equal(out.agent, null)
  t.match(out.notes.join('\n'), /can chmod it back/)
  t.same(out.modes, { upload: '555', output: '755', '.store': '755', 'upload/in.txt': '444' })
  await t.rejects(stat(join(dir, 'ws')), { code: 'ENOENT' }, 'dispose({remove}) restored write permission and removed the tree')
})
