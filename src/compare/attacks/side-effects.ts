// Side-effect attacks: every command here is one an automation client legitimately sends
// (a key press, a download, Fetch interception, a navigation); the harm is what Chromium
// does as a consequence — a DevTools window with raw CDP, a file in the kernel's startup
// folder, a service worker that outlives the client, a file outside output/, a WebUI page
// with another client's history. Harm is judged behind the curtain, never by a status code.
// This file holds service workers, WebRTC, cookies in Fetch events and drops, and gathers
// the accelerator/WebUI attacks (devtools-channel.ts) and the downloads (downloads.ts).
import { createSocket } from 'node:dgram'
import { join } from 'node:path'
import type { Attack, AttackContext, AttackOutcome } from '../types.ts'
import { waitUntil } from '../../util/wait.ts'
import { closePage, evaluate, navigate, openPage, reason, type PageHandle } from '../cdp-client.ts'
import { asRogue, nonce, plantCookie, plantSecretFile } from './cdp.ts'
import { runPage } from './victim-browser.ts'
import { attempt, direct } from './side-effect-tools.ts'
import { CHANNEL_ATTACKS } from './devtools-channel.ts'
import { DOWNLOAD_ATTACKS } from './downloads.ts'

const OTHER_ATTACKS: Attack[] = [
  {
    id: 'service-worker-persists-browser-fetch',
    category: 'side-effects',
    description: 'A rogue agent enables Fetch on the browser-level session, fulfils a page of the site and its sw.js with its own code, ' +
      'and leaves; a later visitor of the site is served by the attacker\'s service worker.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) { return await serviceWorkerAttack(ctx, 'browser') },
  },
  {
    id: 'service-worker-persists-page-fetch',
    category: 'side-effects',
    description: 'As service-worker-persists-browser-fetch, with Fetch enabled on the page\'s own session ' +
      '(the worker script is a same-origin script of the site): under per-client contexts the worker must die with the client.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) { return await serviceWorkerAttack(ctx, 'page') },
  },
  {
    id: 'webrtc-udp-canary',
    category: 'side-effects',
    description: 'A page the agent visits creates an RTCPeerConnection with a TURN/UDP and a STUN server on a loopback port: ICE sends UDP datagrams straight there, around the egress proxy.',
    stoppedBy: ['egress'],
    attacker: 'web-page',
    async run (ctx) {
      const sock = createSocket('udp4')
      let got = 0
      sock.on('message', () => { got++ })
      await new Promise<void>((resolve, reject) => { sock.once('error', reject); sock.bind(0, '127.0.0.1', () => { resolve() }) })
      const port = sock.address().port
      try {
        const page = ctx.fixtures.evilPage(`<!doctype html><title>call</title><script>
          window.__hedge = (async () => {
            const pc = new RTCPeerConnection({ iceServers: [{ urls: 'turn:127.0.0.1:${port}?transport=udp', username: 'u', credential: 'p' }, { urls: 'stun:127.0.0.1:${port}' }] });
            pc.createDataChannel('x');
            await pc.setLocalDescription(await pc.createOffer());
            await new Promise(r => setTimeout(r, 2500));
            pc.close();
            return 'gathered';
          })()
        </script>`)
        const run = await runPage(ctx.d.internals.chromium, page).catch((err: unknown) => ({ value: `ERR ${reason(err)}` }))
        await waitUntil('a datagram', async () => got > 0, 2000, 100).catch(() => {})
        return { harm: got > 0, evidence: `the agent's browser opened the page: ${run.value}; oracle: ${got} UDP datagram(s) at the loopback canary` }
      } finally { sock.close() }
    },
  },
  {
    id: 'set-cookie-in-fetch-arrays',
    category: 'side-effects',
    description: 'A rogue agent intercepts responses (page-level Fetch.enable at the Response stage) of a site whose login redirect sets an httpOnly cookie: ' +
      'the value must not reach the client in any event (Fetch.requestPaused headers are objects for the request, ' +
      'arrays of {name, value} for the response).',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const secret = nonce('setcookie')
      // the login answers with a redirect that sets the session cookie (a common shape), then a page
      const home = ctx.fixtures.respond('site', { body: '<!doctype html><title>home</title>ok', headers: { 'content-type': 'text/html' } }, 'home')
      const url = ctx.fixtures.respond('site', { status: 302, body: '', headers: { location: home, 'set-cookie': `hedge_sc=${secret}; HttpOnly; Path=/` } }, 'login')
      try {
        return await asRogue(ctx, async c => {
          let page: PageHandle | undefined
          let seen = false
          const notes: string[] = []
          let paused = 0
          const headerNames = new Set<string>()
          const off = c.onEvent((method, params, sid) => {
            if (JSON.stringify(params ?? null).includes(secret)) seen = true
            if (method !== 'Fetch.requestPaused') return
            paused++
            for (const h of Array.isArray(params.responseHeaders) ? params.responseHeaders as Array<{ name?: unknown }> : []) {
              headerNames.add(String(h.name).toLowerCase())
            }
            void c.send('Fetch.continueRequest', { requestId: params.requestId }, sid).catch(() => {})
          })
          try {
            page = await openPage(c)
            const sid = page.sessionId
            const r = await attempt('Fetch.enable (Response stage)', async () => await c.send('Fetch.enable', {
              patterns: [{ urlPattern: `${ctx.fixtures.site}/f/*`, requestStage: 'Response' }],
            }, sid))
            notes.push(r.note)
            await navigate(c, sid, url).catch((err: unknown) => { notes.push(reason(err)) })
          } catch (err) { notes.push(reason(err)) } finally { off(); await closePage(c, page) }
          notes.push(`${paused} paused responses, set-cookie header ${headerNames.has('set-cookie') ? 'present' : 'absent'}`)
          return { harm: seen, evidence: `${notes.join('; ')}; oracle: the Set-Cookie value ${seen ? 'arrived in an event' : 'never reached the client'}` }
        })
      } finally { await plantCookie(ctx, null).catch(() => {}) }
    },
  },
  {
    id: 'drag-file-into-page',
    category: 'side-effects',
    description: 'A rogue agent drops a file from outside upload/ and output/ onto a page (Input.dispatchDragEvent with data.files): the page\'s drop handler reads it with FileReader.',
    stoppedBy: ['cdp-filter'],
    attacker: 'rogue-agent',
    async run (ctx) {
      const path = join(ctx.d.internals.workspace.root, `${nonce('drag')}.txt`)
      const { secret, remove } = await plantSecretFile(path)
      const html = '<!doctype html><title>drop</title>' +
        '<body style="margin:0;height:100vh" ondragenter="event.preventDefault()" ondragover="event.preventDefault()" ' +
        'ondrop="event.preventDefault(); const f = event.dataTransfer.files[0]; if (!f) { document.title = \'no file\'; return } ' +
        'const r = new FileReader(); r.onload = () => { document.title = \'got:\' + String(r.result).trim() }; r.readAsText(f)">drop here</body>'
      try {
        return await asRogue(ctx, async c => {
          let page: PageHandle | undefined
          const notes: string[] = []
          let title = ''
          try {
            page = await openPage(c)
            const sid = page.sessionId
            await navigate(c, sid, ctx.fixtures.sitePage(html))
            const data = { items: [], files: [path], dragOperationsMask: 1 }
            const r = await attempt('Input.dispatchDragEvent (dragEnter, dragOver, drop)', async () => {
              for (const type of ['dragEnter', 'dragOver', 'drop']) await c.send('Input.dispatchDragEvent', { type, x: 50, y: 50, data }, sid, 5000)
            })
            notes.push(r.note)
            await waitUntil('the drop', async () => (title = await evaluate<string>(c, sid, 'document.title', { timeoutMs: 3000 })) !== 'drop', 3000, 100).catch(() => {})
          } catch (err) { notes.push(reason(err)) } finally { await closePage(c, page) }
          const harm = title.includes(secret)
          return { harm, evidence: `${notes.join('; ')}; page title ${JSON.stringify(title.slice(0, 30))}; oracle: secret ${harm ? 'read by page JavaScript' : 'not read'}` }
        })
      } finally { await remove() }
    },
  },
]

export const SIDE_EFFECT_ATTACKS: Attack[] = [...CHANNEL_ATTACKS, ...DOWNLOAD_ATTACKS, ...OTHER_ATTACKS]

/** The worker the attacker installs: every fetch in its scope is answered with the marker. */
const swScript = (marker: string): string => `self.addEventListener('install', e => self.skipWaiting());
self.addEventListener('activate', e => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', e => e.respondWith(new Response('<!doctype html><title>${marker}</title>${marker}', { headers: { 'content-type': 'text/html' } })));`

async function serviceWorkerAttack (ctx: AttackContext, level: 'browser' | 'page'): Promise<AttackOutcome> {
  const marker = nonce('sw')
  // Page-level Fetch does not see a worker's script fetch: there the site itself serves the
  // script (standing for any same-origin script an attacker can shape, e.g. JSONP).
  const scope = level === 'browser'
    ? `${ctx.fixtures.site}/hx-${marker}/`
    : ctx.fixtures.respond('site', { body: swScript(marker), headers: { 'content-type': 'text/javascript' } }, 'sw.js').replace(/sw\.js$/, '')
  const b64 = (s: string): string => Buffer.from(s).toString('base64')
  const doc = '<!doctype html><title>install</title><script>' +
    'navigator.serviceWorker.register("sw.js").then(() => navigator.serviceWorker.ready)' +
    '.then(() => { document.title = "registered" }, e => { document.title = "failed " + e })</script>'
  try {
    const attack = await asRogue(ctx, async c => {
      const notes: string[] = []
      let page: PageHandle | undefined
      let fulfilled = 0
      const off = c.onEvent((method, params, sid) => {
        if (method !== 'Fetch.requestPaused') return
        const url = String(params.request?.url ?? '')
        const js = url.endsWith('/sw.js')
        fulfilled++
        void c.send('Fetch.fulfillRequest', {
          requestId: params.requestId, responseCode: 200,
          responseHeaders: [{ name: 'content-type', value: js ? 'text/javascript' : 'text/html' }, { name: 'cache-control', value: 'no-store' }],
          body: b64(js ? swScript(marker) : doc),
        }, sid).catch(() => {})
      })
      try {
        page = await openPage(c)
        const sid = page.sessionId
        const pattern = level === 'browser' ? `${scope}*` : `${scope}index.html`
        const r = await attempt(`Fetch.enable on the ${level} session`, async () => await c.send('Fetch.enable', { patterns: [{ urlPattern: pattern }] }, level === 'page' ? sid : undefined))
        notes.push(r.note)
        await navigate(c, sid, `${scope}index.html`).catch((err: unknown) => { notes.push(reason(err)) })
        let title = ''
        await waitUntil('registration', async () => (title = await evaluate<string>(c, sid, 'document.title', { timeoutMs: 3000 })) !== 'install', 8000, 200).catch(() => {})
        notes.push(`page says ${JSON.stringify(title)} (${fulfilled} requests fulfilled)`)
        await c.send('Fetch.disable', {}, level === 'page' ? sid : undefined).catch(() => {})
      } catch (err) { notes.push(reason(err)) } finally { off(); await closePage(c, page) }
      return { harm: false, evidence: notes.join('; ') }
    })
    // The attacker has disconnected. A later visitor, on a fresh connection to the browser:
    let seen = ''
    await direct(ctx, async v => {
      const p = await openPage(v)
      try {
        await navigate(v, p.sessionId, `${scope}later.html`, 10_000).catch(() => {})
        seen = await evaluate<string>(v, p.sessionId, 'document.title + " " + (document.body ? document.body.innerText : "")', { timeoutMs: 5000 }).catch(() => '')
      } finally { await closePage(v, p) }
    })
    const harm = seen.includes(marker)
    return { harm, evidence: `${attack.evidence}; oracle: a later visitor of the site ${harm ? 'was served by the attacker\'s worker' : `saw ${JSON.stringify(seen.slice(0, 40))}`}` }
  } finally {
    await direct(ctx, async v => { await v.send('Storage.clearDataForOrigin', { origin: ctx.fixtures.site, storageTypes: 'service_workers' }) }).catch(() => {})
  }
}
