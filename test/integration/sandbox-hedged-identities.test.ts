// Hedged shape, identities "separate": Chromium runs as hedge-browser, the kernel as
// hedge-agent; the browser's uid can neither write the kernel's HOME / IPython dir nor read
// its connection file; both share output/ (read-write both ways) and upload/ (read-only).
// The attack from issue #9 (a CDP download into the kernel's IPython startup folder runs as
// kernel code at the next reset) is replayed against both shapes.
import t, { type Test } from 'tap'
import { readFile, stat, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { separateIdentities } from '../../src/sandbox/agent-user.ts'
import { kernelRequest } from '../helpers/kernel.ts'
import { startFixtureServer } from '../helpers/fixture-server.ts'
import { browserCdp, firstPage, isRoot, NOT_ROOT, pythonAs, sleep, startTestSandbox } from '../helpers/hedged.ts'
import type { Sandbox } from '../../src/sandbox/stack.ts'

const skip = { skip: !isRoot && NOT_ROOT }
const uidOf = async (pid: number): Promise<number> => Number(/^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1])
const execute = async (sb: Sandbox, code: string): Promise<{ output: string, error: string | null }> =>
  (await kernelRequest(sb.kernel, 'POST', '/kernel/execute', { json: { code }, timeoutMs: 90_000 })).body

t.test('two uids; the kernel\'s private files are out of the browser\'s reach', skip, async t => {
  const ids = separateIdentities()
  const sb = await startTestSandbox(t, { identities: 'separate' })
  t.equal(await uidOf(sb.chromium.pid()!), ids.browser.uid, 'Chromium runs as hedge-browser')
  t.equal(await uidOf(sb.kernel.pid), ids.agent.uid, 'the kernel server runs as hedge-agent')
  const me = JSON.parse((await execute(sb, [
    'import os, json, site, sys',
    'print(json.dumps({"uid": os.getuid(), "groups": os.getgroups(), "home": os.environ["HOME"], "ipd": os.environ.get("IPYTHONDIR"),',
    '  "nousersite": os.environ.get("PYTHONNOUSERSITE"), "usersite": site.ENABLE_USER_SITE, "tmp": os.environ.get("TMPDIR")}))',
  ].join('\n'))).output)
  t.equal(me.uid, ids.agent.uid, 'kernel code runs as hedge-agent')
  t.same(me.groups, [ids.workGid], 'its only supplementary group is hedge-work')
  t.equal(me.nousersite, '1'); t.equal(me.usersite, false, 'no user site-packages')
  t.equal(me.ipd, join(sb.kernel.homeDir, '.ipython'), 'IPYTHONDIR inside the private home')
  t.equal(me.tmp, join(sb.kernel.homeDir, 'tmp'), 'TMPDIR inside the private home')

  const status = (await kernelRequest(sb.kernel, 'GET', '/kernel/status')).body as { connection_file: string }
  const cf = await stat(status.connection_file)
  t.equal(cf.mode & 0o777, 0o600, 'connection file mode 0600')
  t.equal(cf.uid, ids.agent.uid, 'owned by hedge-agent')
  t.equal((await stat(sb.kernel.homeDir)).mode & 0o777, 0o700, 'kernel HOME is 0700')

  const probe = (p: string): string => JSON.stringify(p)
  const asBrowser = await pythonAs(ids.browser, [
    'import os, json',
    'def tryit(f):',
    '  try: f(); return "ok"',
    '  except OSError as e: return type(e).__name__',
    'startup = ' + probe(join(me.ipd, 'profile_default', 'startup')),
    'print(json.dumps({',
    '  "readConnection": tryit(lambda: open(' + probe(status.connection_file) + ').read()),',
    '  "listHome": tryit(lambda: os.listdir(' + probe(sb.kernel.homeDir) + ')),',
    '  "plantStartup": tryit(lambda: (os.makedirs(startup, exist_ok=True), open(os.path.join(startup, "x.py"), "w").write("1"))),',
    '  "writeHome": tryit(lambda: open(' + probe(join(sb.kernel.homeDir, 'x')) + ', "w").write("1")),',
    '  "readStore": tryit(lambda: os.listdir(' + probe(sb.workspace.store) + ')),',
    '  "writeUpload": tryit(lambda: open(' + probe(join(sb.workspace.upload, 'x')) + ', "w").write("1")),',
    '  "readUpload": tryit(lambda: os.listdir(' + probe(sb.workspace.upload) + ')),',
    '}))',
  ].join('\n'))
  t.equal(asBrowser.code, 0, asBrowser.err)
  t.same(JSON.parse(asBrowser.out), {
    readConnection: 'PermissionError', listHome: 'PermissionError', plantStartup: 'PermissionError', writeHome: 'PermissionError',
    readStore: 'PermissionError', writeUpload: 'OSError', readUpload: 'ok',
  }, 'hedge-browser: no access to the kernel\'s home or .store/; upload/ read-only')
  // the write to upload/ fails on the read-only mount (EROFS is an OSError, not a PermissionError)

  const kernelView = JSON.parse((await execute(sb, [
    'import os, json',
    'def tryit(f):',
    '  try: f(); return "ok"',
    '  except OSError as e: return type(e).__name__',
    `print(json.dumps({"listBrowserRoot": tryit(lambda: os.listdir(${probe(sb.chromium.root)}))}))`,
  ].join('\n'))).output)
  t.same(kernelView, { listBrowserRoot: 'PermissionError' }, 'hedge-agent cannot read the browser\'s profile tree')
})

t.test('output/ is shared both ways (read, rewrite, delete)', skip, async t => {
  const ids = separateIdentities()
  const sb = await startTestSandbox(t, { identities: 'separate' })
  t.equal(sb.workspace.outputShared, 'default-acl')
  const out = sb.workspace.output
  const st = await stat(out)
  t.equal(st.mode & 0o7777, 0o2770, 'output/ is setgid 2770')
  t.equal(st.gid, ids.workGid, 'group hedge-work')
  const fromBrowser = join(out, 'from-browser.txt')
  const fromKernel = join(out, 'from-kernel.txt')
  const b = await pythonAs(ids.browser, `open(${JSON.stringify(fromBrowser)}, "w").write("b")`)
  t.equal(b.code, 0, b.err)
  const k = await execute(sb, [
    `open(${JSON.stringify(fromKernel)}, "w").write("k")`,
    `s = open(${JSON.stringify(fromBrowser)}).read()`,
    `open(${JSON.stringify(fromBrowser)}, "a").write("+k")`,
    `print(s + "|" + open(${JSON.stringify(fromBrowser)}).read())`,
  ].join('\n'))
  t.equal(k.error, null, String(k.error)); t.equal(k.output.trim(), 'b|b+k', 'the kernel reads and rewrites what the browser wrote')
  const b2 = await pythonAs(ids.browser, [
    'import os',
    `s = open(${JSON.stringify(fromKernel)}).read()`,
    `open(${JSON.stringify(fromKernel)}, "a").write("+b")`,
    `print(s + "|" + open(${JSON.stringify(fromKernel)}).read())`,
    `os.unlink(${JSON.stringify(fromKernel)})`,
  ].join('\n'))
  t.equal(b2.code, 0, b2.err); t.equal(b2.out, 'k|k+b', 'the browser reads, rewrites and deletes what the kernel wrote')
  const k2 = await execute(sb, `import os; os.unlink(${JSON.stringify(fromBrowser)}); print(sorted(os.listdir(${JSON.stringify(out)})))`)
  t.equal(k2.output.trim(), '[]', 'the kernel deletes what the browser wrote')
})

// Issue #9 finding 2: CDP download into the kernel's IPython startup folder, then a reset.
const plantAndReset = async (t: Test, sb: Sandbox, startupDir: string): Promise<string[]> => {
  const canary = join(sb.workspace.output, 'planted-ran')
  const fx = await startFixtureServer(t, {
    '/plant': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="00-plant.py"' })
      res.end(`open(${JSON.stringify(canary)}, "w").write("ran")\n`)
    },
  })
  const cdp = await browserCdp(sb.chromium.url)
  t.teardown(() => { cdp.close() })
  const { sessionId } = await firstPage(cdp)
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: startupDir, eventsEnabled: true })
  const done = cdp.event<{ state: string }>('Browser.downloadProgress', p => p.state !== 'inProgress')
  await cdp.send('Page.navigate', { url: `${fx.url}/plant` }, sessionId)
  const state = (await done).state
  t.comment(`download into the startup folder: ${state}`)
  const reset = await kernelRequest(sb.kernel, 'POST', '/kernel/reset', { timeoutMs: 90_000 })
  t.equal(reset.status, 200)
  await execute(sb, '1') // the startup files have run by the time the kernel answers
  await sleep(200)
  return await readdir(sb.workspace.output)
}

t.test('attack replay, documented single uid: the planted file runs as kernel code', skip, async t => {
  const sb = await startTestSandbox(t, {})
  const startup = join(sb.kernel.homeDir, '.ipython', 'profile_default', 'startup')
  t.ok((await plantAndReset(t, sb, startup)).includes('planted-ran'), 'harm shown: the baseline runs the browser\'s download')
})

t.test('attack replay, separate identities: the download cannot land, nothing runs', skip, async t => {
  const sb = await startTestSandbox(t, { identities: 'separate' })
  const startup = join(sb.kernel.homeDir, '.ipython', 'profile_default', 'startup')
  t.notOk((await plantAndReset(t, sb, startup)).includes('planted-ran'), 'no planted code ran')
})
