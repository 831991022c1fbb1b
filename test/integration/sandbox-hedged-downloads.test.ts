// Hedged shape: the profile's default download folder is output/ (Default/Preferences written
// into each fresh profile), so a page that auto-clicks an attachment with no client having set
// a path, and Browser.setDownloadBehavior {behavior: "default"}, both land files in output/ and
// nowhere under the browser's HOME. The documented Chromium is shown landing them elsewhere.
import t from 'tap'
import { mkdtemp, readdir, rm, stat, chown } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { agentIdentity, separateIdentities } from '../../src/sandbox/agent-user.ts'
import { startTestChromium } from '../helpers/chromium.ts'
import { startFixtureServer, type Routes } from '../helpers/fixture-server.ts'
import { browserCdp, firstPage, isRoot, NOT_ROOT, startTestSandbox } from '../helpers/hedged.ts'
import { waitUntil } from '../../src/util/wait.ts'
import { kernelRequest } from '../helpers/kernel.ts'

const AUTO = '<!doctype html><a id=a href="/download">report</a><script>document.getElementById("a").click()</script>'
const routes: Routes = {
  '/auto': (_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end(AUTO) },
  '/second': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="second.txt"' })
    res.end('second-bytes')
  },
}

/** Every path under `dir` whose name is `name` (root can read the browser's 0700 tree). */
async function findAll (dir: string, name: string): Promise<string[]> {
  const found: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (e.name === name || e.name.startsWith(`${name}.`) || e.name.startsWith('Unconfirmed')) found.push(join(e.parentPath, e.name))
  }
  return found
}

const landed = (dir: string, name: string): Promise<void> =>
  waitUntil(`${name} in ${dir}`, async () => (await readdir(dir).catch(() => [] as string[])).includes(name), 30_000)

async function agentOwnedDir (t: { teardown (fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hedge-test-downloads-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const agent = agentIdentity()
  if (agent !== null) await chown(dir, agent.uid, agent.gid)
  return dir
}

t.test('a page\'s auto-download with no client path lands in the download folder, not in HOME', async t => {
  const out = await agentOwnedDir(t)
  const fx = await startFixtureServer(t, routes)
  const chromium = await startTestChromium(t, { downloadDir: out, freshProfile: true })
  const cdp = await browserCdp(chromium.url)
  t.teardown(() => { cdp.close() })
  const { sessionId } = await firstPage(cdp)
  await cdp.send('Page.navigate', { url: `${fx.url}/auto` }, sessionId)
  await landed(out, 'report.txt')
  t.pass('report.txt is in the download folder')
  t.same(await findAll(chromium.root, 'report.txt'), [], 'no copy (or partial) anywhere under the browser\'s HOME/profile/TMPDIR')

  await cdp.send('Browser.setDownloadBehavior', { behavior: 'default' })
  await cdp.send('Page.navigate', { url: `${fx.url}/second` }, sessionId)
  await landed(out, 'second.txt')
  t.pass('Browser.setDownloadBehavior {behavior: "default"} downloads into the same folder')
  t.same(await findAll(chromium.root, 'second.txt'), [], 'and not under HOME')
})

t.test('documented Chromium (no download folder set): the same page drops the file outside output/', async t => {
  const fx = await startFixtureServer(t, routes)
  const chromium = await startTestChromium(t)
  const cdp = await browserCdp(chromium.url)
  t.teardown(() => { cdp.close() })
  const { sessionId } = await firstPage(cdp)
  await cdp.send('Page.navigate', { url: `${fx.url}/auto` }, sessionId)
  let where: string[] = []
  await waitUntil('report.txt somewhere under the browser\'s tree', async () => (where = (await findAll(chromium.root, 'report.txt')).filter(p => p.endsWith('/report.txt'))).length > 0, 30_000)
  t.match(where[0], join(chromium.root, 'home'), `harm shown: it lands in the browser's HOME (${where[0]})`)
})

t.test('full hedged sandbox: downloads land in the workspace output/, usable by the kernel', { skip: !isRoot && NOT_ROOT }, async t => {
  const ids = separateIdentities()
  const sb = await startTestSandbox(t, { identities: 'separate', browserHardening: 'hedged' })
  const fx = await startFixtureServer(t, routes)
  const cdp = await browserCdp(sb.chromium.url)
  t.teardown(() => { cdp.close() })
  const { sessionId } = await firstPage(cdp)
  await cdp.send('Page.navigate', { url: `${fx.url}/auto` }, sessionId)
  await landed(sb.workspace.output, 'report.txt')
  const st = await stat(join(sb.workspace.output, 'report.txt'))
  t.equal(st.uid, ids.browser.uid, 'written by hedge-browser')
  t.equal(st.gid, ids.workGid, 'group hedge-work (setgid output/)')
  t.equal(st.mode & 0o060, 0o060, `group read-write (mode ${(st.mode & 0o777).toString(8)})`)
  const r = (await kernelRequest(sb.kernel, 'POST', '/kernel/execute', {
    json: { code: `import os; p = ${JSON.stringify(join(sb.workspace.output, 'report.txt'))}; s = open(p).read(); os.unlink(p); print(s)` }, timeoutMs: 90_000,
  })).body as { output: string, error: string | null }
  t.equal(r.error, null)
  t.equal(r.output.trim(), 'downloaded-bytes', 'the kernel reads (and deletes) the browser\'s download')
  t.same(await findAll(sb.chromium.root, 'report.txt'), [], 'nothing under the browser\'s own tree')
})
