// Browser workflows that the side-effect fixes must keep working: keyboard input as
// Playwright and Puppeteer send it (ordinary keys, Control+A, typing), uploads from upload/,
// and Puppeteer's downloads, PDF and new contexts. Same rules as browser.ts: the orchestrator's
// token, bounded steps, every page closed, every client disconnected, loopback fixtures only.
import { readdir } from 'node:fs/promises'
import type { Browser as PpBrowser, Page as PpPage } from 'puppeteer-core'
import type { Page as PwPage } from 'playwright-core'
import type { Workflow, WorkflowContext } from '../types.ts'
import { authHeaders, bounded, browserWsUrl } from '../cdp-client.ts'
import { automationAllowed, checkPng, downloadLands, puppeteerTransport, RUN_MS, STEP_MS, tidy, withPage, withPlaywright } from './browser.ts'

/** A text field, a file input and a button; the page reports what it saw in #out. */
const INPUT_PAGE = `<!doctype html><title>input</title><body>
<input id=i><input id=f type=file><button id=b onclick="document.getElementById('out').textContent = 'clicked:' + document.getElementById('i').value">go</button>
<pre id=out></pre>
<script>document.getElementById('f').addEventListener('change', e => { const r = new FileReader(); ` +
`r.onload = () => { document.getElementById('out').textContent = 'file:' + r.result }; r.readAsText(e.target.files[0]) })</script>
</body>`

function expectEqual (what: string, got: unknown, want: unknown): void {
  if (got !== want) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`)
}

/** Puppeteer connect() with the token on the upgrade; always disconnects and closes its socket. */
async function withPuppeteer (ctx: WorkflowContext, fn: (b: PpBrowser) => Promise<void>): Promise<void> {
  const puppeteer = (await import('puppeteer-core')).default
  const token = await ctx.d.token('cdp', ['cdp:control'], 600)
  await tidy(ctx, async () => {
    const transport = await puppeteerTransport(await browserWsUrl(ctx.d.endpoints.cdp, token), authHeaders(token))
    try {
      const browser: PpBrowser = await bounded('puppeteer.connect', puppeteer.connect({ transport, protocolTimeout: STEP_MS, defaultViewport: null }), STEP_MS + 5000)
      try { await bounded('workflow', fn(browser), RUN_MS) } finally { await bounded('disconnect', browser.disconnect(), 10_000).catch(() => {}) }
    } finally { transport.close() }
  })
}

async function withPpPage (b: PpBrowser, fn: (p: PpPage) => Promise<void>): Promise<void> {
  const page = await bounded('newPage', b.newPage(), STEP_MS)
  page.setDefaultTimeout(STEP_MS)
  try { await fn(page) } finally { await bounded('page.close', page.close(), 10_000).catch(() => {}) }
}

/** Stage a file in upload/ as the orchestrator would; its path and content. */
async function staged (ctx: WorkflowContext): Promise<{ path: string, body: string }> {
  if (ctx.d.internals.stageUpload === undefined) throw new Error('this deployment cannot stage uploads')
  const body = `upload-${Date.now()}`
  return { path: await ctx.d.internals.stageUpload(`wf-${Date.now()}.txt`, body), body }
}


async function pwKeyboard (ctx: WorkflowContext, page: PwPage): Promise<void> {
  await page.goto(ctx.fixtures.sitePage(INPUT_PAGE))
  await page.click('#i')
  await page.keyboard.type('hello world')
  await page.keyboard.press('Control+A')
  await page.keyboard.type('replaced')
  await page.keyboard.press('Backspace')
  await page.keyboard.press('ArrowLeft')
  await page.keyboard.press('Home')
  await page.keyboard.press('End')
  await page.keyboard.press('Shift+ArrowLeft')
  await page.keyboard.press('Delete')
  await page.keyboard.press('Escape')
  expectEqual('#i after typing and editing keys', await page.inputValue('#i'), 'replac')
  await page.keyboard.press('Tab') // focus moves to the button (past the file input)
  await page.keyboard.press('Tab')
  await page.keyboard.press('Enter')
  expectEqual('#out after Tab, Enter', await page.textContent('#out'), 'clicked:replac')
}

export const INPUT_WORKFLOWS: Workflow[] = [
  {
    id: 'playwright-keyboard',
    description: 'Playwright keyboard: type, press Control+A, Backspace, arrows, Home/End, Shift+ArrowLeft, Delete, Escape, Tab and Enter.',
    client: 'playwright',
    allowedBy: automationAllowed,
    async run (ctx) { await withPlaywright(ctx, async b => { await withPage(b, async page => { await pwKeyboard(ctx, page) }) }) },
  },
  {
    id: 'playwright-upload',
    description: 'Playwright setInputFiles with a file from upload/; the page reads it back with FileReader.',
    client: 'playwright',
    allowedBy: automationAllowed,
    async run (ctx) {
      const { path, body } = await staged(ctx)
      await withPlaywright(ctx, async b => {
        await withPage(b, async page => {
          await page.goto(ctx.fixtures.sitePage(INPUT_PAGE))
          await page.setInputFiles('#f', path)
          await page.waitForFunction(() => (document.getElementById('out')?.textContent ?? '').startsWith('file:'))
          expectEqual('the page read', await page.textContent('#out'), `file:${body}`)
        })
      })
    },
  },
  {
    id: 'puppeteer-keyboard',
    description: 'Puppeteer keyboard: type, press Control+A (down/press/up), Backspace, arrows, Tab and Enter.',
    client: 'puppeteer',
    allowedBy: automationAllowed,
    async run (ctx) {
      await withPuppeteer(ctx, async b => {
        await withPpPage(b, async page => {
          await page.goto(ctx.fixtures.sitePage(INPUT_PAGE))
          await page.click('#i')
          await page.keyboard.type('hello world')
          await page.keyboard.down('Control')
          await page.keyboard.press('KeyA')
          await page.keyboard.up('Control')
          await page.keyboard.type('replaced')
          await page.keyboard.press('Backspace')
          await page.keyboard.press('ArrowLeft')
          await page.keyboard.press('End')
          expectEqual('#i', await page.$eval('#i', el => (el as HTMLInputElement).value), 'replace')
          await page.keyboard.press('Tab')
          await page.keyboard.press('Tab')
          await page.keyboard.press('Enter')
          expectEqual('#out', await page.$eval('#out', el => el.textContent), 'clicked:replace')
        })
      })
    },
  },
  {
    id: 'puppeteer-upload',
    description: 'Puppeteer ElementHandle.uploadFile with a file from upload/; the page reads it back.',
    client: 'puppeteer',
    allowedBy: automationAllowed,
    async run (ctx) {
      const { path, body } = await staged(ctx)
      await withPuppeteer(ctx, async b => {
        await withPpPage(b, async page => {
          await page.goto(ctx.fixtures.sitePage(INPUT_PAGE))
          const input = await page.$('#f')
          if (input === null) throw new Error('no file input')
          await (input as unknown as { uploadFile: (...p: string[]) => Promise<void> }).uploadFile(path)
          await page.waitForFunction(() => (document.getElementById('out')?.textContent ?? '').startsWith('file:'))
          expectEqual('the page read', await page.$eval('#out', el => el.textContent), `file:${body}`)
        })
      })
    },
  },
  {
    id: 'puppeteer-download',
    description: 'Puppeteer: Browser.setDownloadBehavior into output/ on a CDP session, click a download link; the file lands in output/.',
    client: 'puppeteer',
    allowedBy: automationAllowed,
    async run (ctx) {
      const output = ctx.d.internals.workspace.output
      const before = new Set(await readdir(output))
      await withPuppeteer(ctx, async b => {
        const cdp = await b.target().createCDPSession()
        try {
          await cdp.send('Browser.setDownloadBehavior', { behavior: 'allowAndName', downloadPath: output, eventsEnabled: true })
          await withPpPage(b, async page => {
            await page.goto(`${ctx.fixtures.site}/`)
            await page.click('#dl')
            await downloadLands(ctx, before)
          })
        } finally { await cdp.detach().catch(() => {}) }
      })
    },
  },
  {
    id: 'puppeteer-pdf-screenshot',
    description: 'Puppeteer page.pdf() and page.screenshot({ fullPage }).',
    client: 'puppeteer',
    allowedBy: automationAllowed,
    async run (ctx) {
      await withPuppeteer(ctx, async b => {
        await withPpPage(b, async page => {
          await page.goto(`${ctx.fixtures.site}/`)
          const pdf = Buffer.from(await page.pdf())
          if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-') throw new Error(`page.pdf(): not a PDF (${pdf.length} bytes)`)
          checkPng('screenshot', await page.screenshot({ fullPage: true }))
        })
      })
    },
  },
  {
    id: 'puppeteer-new-context',
    description: 'Puppeteer browser.createBrowserContext(): a page in it browses and types; the context is closed.',
    client: 'puppeteer',
    allowedBy: automationAllowed,
    async run (ctx) {
      await withPuppeteer(ctx, async b => {
        const context = await bounded('createBrowserContext', b.createBrowserContext(), STEP_MS)
        try {
          const page = await bounded('newPage', context.newPage(), STEP_MS)
          page.setDefaultTimeout(STEP_MS)
          await page.goto(`${ctx.fixtures.site}/`)
          await page.type('#i', 'ctx')
          await page.click('#b')
          expectEqual('#h', await page.$eval('#h', el => el.textContent), 'clicked:ctx')
        } finally { await bounded('context.close', context.close(), 15_000).catch(() => {}) }
      })
    },
  },
]
