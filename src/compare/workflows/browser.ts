// Browser workflows: what automation clients really do over CDP, against `endpoints.cdp`
// with the orchestrator's token — Playwright's connectOverCDP, Puppeteer's connect, and a
// raw-CDP observer taking a screenshot. Every step is bounded; every page opened is closed
// and every client disconnects (a connectOverCDP browser's close() only disconnects), so
// nothing piles up in the shared browser. Only the loopback fixture site is browsed.
import { readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Deployment, Workflow, WorkflowContext } from '../types.ts'
import { waitUntil } from '../../util/wait.ts'
import { authHeaders, bounded, browserWsUrl, cdpConnect, httpCall } from '../cdp-client.ts'
import type { Browser as PwBrowser, Page as PwPage } from 'playwright-core'
import type { Browser as PpBrowser, ConnectionTransport } from 'puppeteer-core'
import WebSocket from 'ws'

export const STEP_MS = 30_000 // one client call (the machine is shared and slow)
export const RUN_MS = 120_000 // a whole workflow

/** Automation (code execution in pages, navigation, input) is what the policy means to allow. */
export function automationAllowed (d: Deployment): boolean {
  return d.layers['cdp-filter'] !== 'enforce' || d.policy.cdp.connectScope === 'cdp:control'
}

const PNG = [0x89, 0x50, 0x4e, 0x47]
export function checkPng (what: string, buf: Uint8Array): void {
  if (buf.length < 100 || PNG.some((b, i) => buf[i] !== b)) throw new Error(`${what}: not a PNG (${buf.length} bytes)`)
}

/** Page target ids as Chromium itself lists them (harness view). */
async function pageIds (ctx: WorkflowContext): Promise<Set<string>> {
  const a = await httpCall(`${ctx.d.internals.chromium}/json/list`, { timeoutMs: 5000 })
  return new Set(Array.isArray(a.json) ? (a.json as Array<{ id: string, type: string }>).filter(t => t.type === 'page').map(t => t.id) : [])
}

/**
 * Harness hygiene: whatever the client did (a page created before a refused command is
 * never handed back to it), pages the workflow opened are closed through Chromium's own
 * endpoint afterwards, so nothing piles up in the shared browser.
 */
export async function tidy (ctx: WorkflowContext, fn: () => Promise<void>): Promise<void> {
  const before = await pageIds(ctx).catch(() => undefined)
  try { await fn() } finally {
    if (before !== undefined) {
      const after = await pageIds(ctx).catch(() => new Set<string>())
      for (const id of after) if (!before.has(id) && /^[A-Za-z0-9-]+$/.test(id)) await httpCall(`${ctx.d.internals.chromium}/json/close/${id}`, { timeoutMs: 5000 }).catch(() => {})
    }
  }
}

/** Playwright over CDP with the orchestrator's token; always disconnects. */
export async function withPlaywright (ctx: WorkflowContext, fn: (b: PwBrowser) => Promise<void>): Promise<void> {
  const { chromium } = await import('playwright-core')
  const token = await ctx.d.token('cdp', ['cdp:control'], 600)
  await tidy(ctx, async () => {
    const browser = await bounded('connectOverCDP', chromium.connectOverCDP(ctx.d.endpoints.cdp, { headers: authHeaders(token), timeout: STEP_MS }), STEP_MS + 5000)
    try { await bounded('workflow', fn(browser), RUN_MS) } finally { await bounded('disconnect', browser.close(), 10_000).catch(() => {}) }
  })
}

/** A new page in the default context, closed afterwards. */
export async function withPage (b: PwBrowser, fn: (p: PwPage) => Promise<void>): Promise<void> {
  const context = b.contexts()[0]
  if (context === undefined) throw new Error('connectOverCDP: no default context')
  const page = await bounded('newPage', context.newPage(), STEP_MS)
  page.setDefaultTimeout(STEP_MS)
  page.setDefaultNavigationTimeout(STEP_MS)
  try { await fn(page) } finally { await bounded('page.close', page.close(), 10_000).catch(() => {}) }
}

/** goto the fixture site, fill, click, read, evaluate. */
async function browse (ctx: WorkflowContext, page: PwPage, text: string): Promise<void> {
  await page.goto(`${ctx.fixtures.site}/`)
  await page.fill('#i', text)
  await page.click('#b')
  const h = await page.textContent('#h')
  if (h !== `clicked:${text}`) throw new Error(`click: #h says ${JSON.stringify(h)}`)
  const v = await page.evaluate(() => 6 * 7)
  if (v !== 42) throw new Error(`evaluate: ${String(v)}`)
}

/**
 * What puppeteer.connect({ browserWSEndpoint, headers }) opens (its NodeWebSocketTransport:
 * the headers on the upgrade, no Origin, no compression), but owned here: when connect()
 * fails half-way (a refused command) Puppeteer leaves its socket open, and we must not.
 */
export async function puppeteerTransport (
  url: string, headers: Record<string, string>,
): Promise<ConnectionTransport & { close: () => void }> {
  const ws = new WebSocket(url, [], { followRedirects: true, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024, handshakeTimeout: STEP_MS, headers: { 'User-Agent': 'Puppeteer', ...headers } })
  await bounded('puppeteer upgrade', new Promise<void>((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
    ws.once('unexpected-response', (req, res) => { req.destroy(); reject(new Error(`upgrade refused: ${res.statusCode ?? 0}`)) })
  }), STEP_MS + 1000).catch((err: unknown) => { ws.terminate(); throw err })
  const t: ConnectionTransport & { close: () => void } = {
    send: (message: string) => { if (ws.readyState === WebSocket.OPEN) ws.send(message) },
    close: () => { ws.terminate() },
  }
  ws.on('message', data => { t.onmessage?.(data.toString()) })
  ws.on('close', () => { t.onclose?.() })
  ws.on('error', () => { /* surfaced as the close */ })
  return t
}

async function puppeteerBrowse (ctx: WorkflowContext, browser: PpBrowser): Promise<void> {
  const page = await browser.newPage()
  try {
    page.setDefaultTimeout(STEP_MS)
    await page.goto(`${ctx.fixtures.site}/`)
    await page.type('#i', 'pptr')
    await page.click('#b')
    const h = await page.$eval('#h', el => el.textContent)
    if (h !== 'clicked:pptr') throw new Error(`click: #h says ${JSON.stringify(h)}`)
    const v = await page.evaluate(() => 6 * 7)
    if (v !== 42) throw new Error(`evaluate: ${String(v)}`)
    checkPng('screenshot', await page.screenshot())
  } finally { await bounded('page.close', page.close(), 10_000).catch(() => {}) }
}

export const BROWSER_WORKFLOWS: Workflow[] = [
  {
    id: 'playwright-browse',
    description: 'Playwright connectOverCDP: new page in the default context, goto the site, fill, click, read, evaluate, screenshot.',
    client: 'playwright',
    allowedBy: automationAllowed,
    async run (ctx) {
      await withPlaywright(ctx, async b => {
        await withPage(b, async page => {
          await browse(ctx, page, 'hedge')
          checkPng('screenshot', await page.screenshot())
        })
      })
    },
  },
  {
    id: 'playwright-pdf',
    description: 'Playwright page.pdf() (Page.printToPDF as a stream + IO.read).',
    client: 'playwright',
    allowedBy: automationAllowed,
    async run (ctx) {
      await withPlaywright(ctx, async b => {
        await withPage(b, async page => {
          await page.goto(`${ctx.fixtures.site}/`)
          const pdf = await page.pdf()
          if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-') throw new Error(`page.pdf(): not a PDF (${pdf.length} bytes)`)
        })
      })
    },
  },
  {
    id: 'playwright-download',
    description: 'Playwright clicks a download link; the file lands in the workspace output/ (configured there by the agent, or rewritten there by the gateway).',
    client: 'playwright',
    allowedBy: automationAllowed,
    async run (ctx) {
      const output = ctx.d.internals.workspace.output
      const before = new Set(await readdir(output))
      await withPlaywright(ctx, async b => {
        // The agent asks for its downloads in output/ (Playwright's own temp folder is not
        // writable by the sandbox's browser user); the gateway keeps any other path in output/ too.
        const cdp = await bounded('newBrowserCDPSession', b.newBrowserCDPSession(), STEP_MS)
        try {
          await bounded('Browser.setDownloadBehavior', cdp.send('Browser.setDownloadBehavior', { behavior: 'allowAndName', downloadPath: output, eventsEnabled: true }), STEP_MS)
          await withPage(b, async page => {
            await page.goto(`${ctx.fixtures.site}/`)
            await page.click('#dl')
            await downloadLands(ctx, before)
          })
        } finally { await cdp.detach().catch(() => {}) }
      })
    },
  },
  {
    id: 'playwright-new-context',
    description: 'Playwright browser.newContext(): a page in a fresh context browses the site; the context is disposed.',
    client: 'playwright',
    allowedBy: automationAllowed,
    async run (ctx) {
      await withPlaywright(ctx, async b => {
        const context = await bounded('newContext', b.newContext(), STEP_MS)
        try {
          const page = await bounded('newPage', context.newPage(), STEP_MS)
          page.setDefaultTimeout(STEP_MS)
          await browse(ctx, page, 'context')
          checkPng('screenshot', await page.screenshot())
        } finally { await bounded('context.close', context.close(), 15_000).catch(() => {}) }
      })
    },
  },
  {
    id: 'puppeteer-browse',
    description: 'Puppeteer connect() over the browser WebSocket with the token on the upgrade (what {browserWSEndpoint, headers} opens): new page, goto, type, click, evaluate, screenshot.',
    client: 'puppeteer',
    allowedBy: automationAllowed,
    async run (ctx) {
      const puppeteer = (await import('puppeteer-core')).default
      const token = await ctx.d.token('cdp', ['cdp:control'], 600)
      await tidy(ctx, async () => {
        const transport = await puppeteerTransport(await browserWsUrl(ctx.d.endpoints.cdp, token), authHeaders(token))
        try {
          const browser: PpBrowser = await bounded('puppeteer.connect', puppeteer.connect({ transport, protocolTimeout: STEP_MS, defaultViewport: null }), STEP_MS + 5000)
          try {
            await bounded('workflow', puppeteerBrowse(ctx, browser), RUN_MS)
          } finally { await bounded('disconnect', browser.disconnect(), 10_000).catch(() => {}) }
        } finally { transport.close() }
      })
    },
  },
  {
    id: 'cdp-observer-screenshot',
    description: 'A raw-CDP observer with the least token the policy accepts (cdp:read under strict) attaches to an existing page and takes a screenshot.',
    client: 'cdp',
    allowedBy: () => true,
    async run (ctx) {
      const token = await ctx.d.token('cdp', [ctx.d.policy.cdp.connectScope], 600)
      const c = await cdpConnect(await browserWsUrl(ctx.d.endpoints.cdp, token), { headers: authHeaders(token) })
      try {
        const { targetInfos } = await c.send<{ targetInfos: Array<{ targetId: string, type: string, attached: boolean }> }>('Target.getTargets')
        const page = targetInfos.find(t => t.type === 'page')
        if (page === undefined) throw new Error('Target.getTargets: no page to observe')
        const { sessionId } = await c.send<{ sessionId: string }>('Target.attachToTarget', { targetId: page.targetId, flatten: true })
        try {
          const { data } = await c.send<{ data: string }>('Page.captureScreenshot', { format: 'png' }, sessionId, STEP_MS)
          checkPng('Page.captureScreenshot', Buffer.from(data, 'base64'))
        } finally { await c.send('Target.detachFromTarget', { sessionId }, undefined, 5000).catch(() => {}) }
      } finally { c.close() }
    },
  },
]

/** Wait for the site's download in output/ (put there by the agent's own setDownloadBehavior or the gateway), then remove it. */
export async function downloadLands (ctx: WorkflowContext, before: ReadonlySet<string>): Promise<void> {
  const output = ctx.d.internals.workspace.output
  let landed: string | undefined
  await waitUntil('the download in output/', async () => {
    for (const name of await readdir(output)) {
      if (before.has(name) || name.endsWith('.crdownload')) continue
      if ((await readFile(join(output, name), 'utf8')) === ctx.fixtures.downloadBody) { landed = name; return true }
    }
    return false
  }, STEP_MS, 100)
  if (landed !== undefined) await rm(join(output, landed), { force: true })
}
