// Regression (adversarial review of the CDP model, F8): in the hedged sandbox, a download made
// through the gateway (the client's own browser context, downloads pinned to output/) came out
// hedge-browser:hedge-browser 0660 — Chromium writes it elsewhere and renames it into output/,
// so neither the setgid bit nor the default ACL applied, and the kernel could not read it.
// Chromium's primary group is now hedge-work: the kernel reads (and may delete) the file.
import t from 'tap'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { separateIdentities } from '../../src/sandbox/agent-user.ts'
import { isRoot, NOT_ROOT, startTestSandbox } from '../helpers/hedged.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { startFixtureServer } from '../helpers/fixture-server.ts'
import { cdpConnect } from '../helpers/chromium.ts'
import { kernelRequest } from '../helpers/kernel.ts'
import { waitUntil } from '../../src/util/wait.ts'

t.test('a download through the gateway is readable by the kernel', { skip: !isRoot && NOT_ROOT }, async t => {
  const ids = separateIdentities()
  const sb = await startTestSandbox(t, { identities: 'separate', browserHardening: 'hedged' })
  const site = await startFixtureServer(t)
  const gw = await startTestGateway(t, testPolicy('hedged', { cdp: { urls: { allowHosts: [`127.0.0.1:${site.port}`] } } }),
    { kernel: `unix:${sb.kernel.socketPath as string}`, cdp: sb.chromium.url }, { workspace: { output: sb.workspace.output, upload: sb.workspace.upload } })
  const v = await (await fetch(`${sb.chromium.url}/json/version`)).json() as { webSocketDebuggerUrl: string }
  const c = await cdpConnect(`${(gw.urls.cdp as string).replace('http', 'ws')}${new URL(v.webSocketDebuggerUrl).pathname}`,
    { headers: { authorization: `Bearer ${await gw.token(['cdp:control'], { audience: 'cdp' })}` } })
  t.teardown(() => { c.close() })
  const { targetId } = await c.send('Target.createTarget', { url: 'about:blank' })
  const { sessionId } = await c.send('Target.attachToTarget', { targetId, flatten: true })
  await c.send('Page.navigate', { url: `${site.url}/download` }, sessionId).catch(() => {})
  const file = join(sb.workspace.output, 'report.txt')
  await waitUntil('report.txt in output/', async () => await stat(file).then(() => true, () => false), 30_000)
  const st = await stat(file)
  t.equal(st.uid, ids.browser.uid, 'written by hedge-browser')
  t.equal(st.gid, ids.workGid, 'group hedge-work')
  const r = (await kernelRequest(sb.kernel, 'POST', '/kernel/execute', {
    json: { code: `import os; p = ${JSON.stringify(file)}; s = open(p).read(); os.unlink(p); print(s)` }, timeoutMs: 90_000,
  })).body as { output: string, error: string | null }
  t.equal(r.error, null, 'no permission error')
  t.equal(r.output.trim(), 'downloaded-bytes', 'the kernel reads (and deletes) the download')
})
