// Through `strict` with a cdp:read token: an observer can screenshot an existing page and
// read its DOM; navigation, script, input and new targets fail at once with an error naming
// the rule, and the page is left as it was. Every call is bounded by a timeout. The page is
// prepared beforehand on a direct connection to Chromium (the operator's side of the test).
import t from 'tap'
import { chromium as playwright } from 'playwright-core'
import { startTestChromium, cdpConnect, pageTargets, type CdpClient } from '../helpers/chromium.ts'
import { startTestGateway, testPolicy } from '../helpers/gateway.ts'
import { startFixtureServer } from '../helpers/fixture-server.ts'
import { rawRequest } from '../helpers/http.ts'

const STEP_MS = 60_000

function bounded<T> (what: string, p: Promise<T>, ms = STEP_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: no answer in ${ms} ms (hang)`)) }, ms) })
  return Promise.race([p, timeout]).finally(() => { clearTimeout(timer) })
}

const chromium = await startTestChromium(t)
const site = await startFixtureServer(t)

// operator side: put the one tab on the fixture, in front, over a direct connection
const direct = await cdpConnect((await (await fetch(`${chromium.url}/json/version`, { signal: AbortSignal.timeout(STEP_MS) })).json() as { webSocketDebuggerUrl: string }).webSocketDebuggerUrl)
t.teardown(() => { direct.close() })
const [tab] = await pageTargets(chromium.url)
if (tab === undefined) throw new Error('no tab')
const { sessionId: opSession } = await direct.send<{ sessionId: string }>('Target.attachToTarget', { targetId: tab.id, flatten: true })
await direct.send('Page.enable', {}, opSession)
const loaded = direct.event('Page.loadEventFired')
await direct.send('Page.navigate', { url: `${site.url}/` }, opSession)
await loaded
await direct.send('Page.bringToFront', {}, opSession)
const pageState = async (): Promise<unknown> =>
  (await direct.send<{ result: { value: unknown } }>('Runtime.evaluate', {
    expression: 'JSON.stringify([location.href, document.getElementById("h").textContent, document.getElementById("i").value])',
    returnByValue: true,
  }, opSession)).result.value
const before = await pageState()

const gw = await startTestGateway(t, testPolicy('strict'), { kernel: 'http://127.0.0.1:9', cdp: chromium.url })
const cdpPort = Number(new URL(gw.urls.cdp as string).port)
const read = await gw.token(['cdp:read'], { audience: 'cdp' })
const H = { authorization: `Bearer ${read}` }
const browserPath = new URL((await rawRequest(cdpPort, { path: '/json/version', headers: [['Authorization', H.authorization]] })).json.webSocketDebuggerUrl as string).pathname
const wsUrl = `ws://127.0.0.1:${cdpPort}${browserPath}`

async function observer (t: { teardown (fn: () => unknown): void }): Promise<{ cdp: CdpClient, sessionId: string }> {
  const cdp = await cdpConnect(wsUrl, { headers: H })
  t.teardown(() => { cdp.close() })
  const { targetInfos } = await cdp.send<{ targetInfos: Array<{ targetId: string, type: string, url: string }> }>('Target.getTargets')
  const target = targetInfos.find(x => x.type === 'page' && x.url === `${site.url}/`)
  if (target === undefined) throw new Error('the prepared page is not listed')
  const { sessionId } = await cdp.send<{ sessionId: string }>('Target.attachToTarget', { targetId: target.targetId, flatten: true })
  return { cdp, sessionId }
}

t.test('discovery: a cdp:read token reads, cannot create; a kernel token is refused', async t => {
  const v = await rawRequest(cdpPort, { path: '/json/version', headers: [['Authorization', H.authorization]] })
  t.equal(v.status, 200, 'discovery with cdp:read')
  t.equal((await rawRequest(cdpPort, { path: '/json/list', headers: [['Authorization', H.authorization]] })).status, 200, '/json/list is readable')
  const created = await rawRequest(cdpPort, { method: 'PUT', path: '/json/new?about:blank', headers: [['Authorization', H.authorization]] })
  t.equal(created.status, 403, '/json/new refused')
  t.equal((await rawRequest(cdpPort, { path: '/json/version', headers: [['Authorization', `Bearer ${await gw.token(['kernel:read'])}`]] })).status, 401, 'a kernel token is not a cdp token')
})

t.test('an observer screenshots the existing page and reads its DOM', async t => {
  const { cdp, sessionId } = await observer(t)
  const { data } = await cdp.send<{ data: string }>('Page.captureScreenshot', { format: 'png' }, sessionId)
  const png = Buffer.from(data, 'base64')
  t.ok(png.length > 1000, `screenshot (${png.length} bytes)`)
  t.same([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG')
  const { root } = await cdp.send<{ root: { nodeId: number } }>('DOM.getDocument', { depth: 1 }, sessionId)
  const { nodeId } = await cdp.send<{ nodeId: number }>('DOM.querySelector', { nodeId: root.nodeId, selector: '#h' }, sessionId)
  t.ok(nodeId > 0, 'querySelector found the heading')
  const { outerHTML } = await cdp.send<{ outerHTML: string }>('DOM.getOuterHTML', { nodeId }, sessionId)
  t.equal(outerHTML, '<h1 id="h">hello</h1>', 'getOuterHTML reads it')
  const { layoutViewport } = await cdp.send<{ layoutViewport: { clientWidth: number } }>('Page.getLayoutMetrics', {}, sessionId)
  t.ok(layoutViewport.clientWidth > 0, 'layout metrics')
  const ax = await cdp.send<{ nodes: unknown[] }>('Accessibility.getFullAXTree', {}, sessionId)
  t.ok(ax.nodes.length > 0, 'accessibility tree')
  const snap = await cdp.send<{ documents: unknown[] }>('DOMSnapshot.captureSnapshot', { computedStyles: [] }, sessionId)
  t.ok(snap.documents.length > 0, 'DOM snapshot')
})

t.test('navigation, script, input and new targets fail at once, naming the rule', async t => {
  const { cdp, sessionId } = await observer(t)
  const refused: Array<[string, object, string | undefined, RegExp]> = [
    ['Page.navigate', { url: `${site.url}/other` }, sessionId, /\[cdp\.methods\.default:deny\]/],
    ['Page.reload', {}, sessionId, /\[cdp\.methods\.default:deny\]/],
    ['Page.navigateToHistoryEntry', { entryId: 1 }, sessionId, /\[cdp\.methods\.default:deny\]/],
    ['Runtime.evaluate', { expression: 'document.getElementById("h").textContent = "owned"' }, sessionId, /\[cdp\.methods\.default:deny\]/],
    ['Runtime.callFunctionOn', { functionDeclaration: '() => 1', executionContextId: 1 }, sessionId, /\[cdp\.methods\.default:deny\]/],
    ['Input.dispatchMouseEvent', { type: 'mousePressed', x: 10, y: 10, button: 'left', clickCount: 1 }, sessionId, /\[cdp\.methods\.default:deny\]/],
    ['Input.insertText', { text: 'typed' }, sessionId, /\[cdp\.methods\.default:deny\]/],
    ['DOM.setAttributeValue', { nodeId: 1, name: 'x', value: 'y' }, sessionId, /\[cdp\.methods\.default:deny\]/],
    ['DOM.setFileInputFiles', { files: ['/etc/passwd'], nodeId: 1 }, sessionId, /\[cdp\.methods\.default:deny\]/],
    ['Page.addScriptToEvaluateOnNewDocument', { source: 'x', worldName: 'w' }, sessionId, /\[cdp\.methods\.default:deny\]/],
    ['Target.createTarget', { url: 'about:blank' }, undefined, /\[cdp\.methods\.default:deny\]/],
    ['Target.closeTarget', { targetId: tab.id }, undefined, /\[cdp\.methods\.default:deny\]/],
    ['Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: true }, undefined, /\[cdp\.methods\.default:deny\]/],
    ['Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: '/tmp' }, undefined, /\[cdp\.methods\.default:deny\]/],
    ['Browser.close', {}, undefined, /\[cdp\.methods\.default:deny\]/],
    ['Storage.getCookies', {}, undefined, /\[cdp\.methods\.default:deny\]/],
    ['Target.attachToTarget', { targetId: tab.id }, undefined, /\[cdp\.builtin:flatten-required\]/],
  ]
  for (const [method, params, sid, rule] of refused) {
    const started = Date.now()
    await t.rejects(bounded(method, cdp.send(method, params, sid), 15_000), rule, `${method}: refused`)
    t.ok(Date.now() - started < 15_000, `${method}: at once, no hang`)
  }
  t.same(await pageState(), before, 'the page is exactly as it was (URL, heading, input)')
  const { data } = await cdp.send<{ data: string }>('Page.captureScreenshot', {}, sessionId)
  t.ok(data.length > 100, 'the observer connection still works after the refusals')
  t.ok(gw.logs.lines.some(l => l.event === 'deny' && l.method === 'Runtime.evaluate' && l.rule === 'cdp.methods.default:deny'), 'refusals logged with method and rule')
})

t.test('Playwright cannot drive through strict, and says why instead of hanging', async t => {
  // connectOverCDP sends Browser.setDownloadBehavior and Target.setAutoAttach, both outside strict
  await t.rejects(bounded('connectOverCDP', playwright.connectOverCDP(`http://127.0.0.1:${cdpPort}`, { headers: H, timeout: STEP_MS })), /cdp\.methods\.default:deny/, 'connectOverCDP fails with the rule')
  t.same(await pageState(), before, 'the page is untouched')
  t.ok((await pageTargets(chromium.url)).length >= 1, 'Chromium is up')
})
