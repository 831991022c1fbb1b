// The documented CORS setup: CORSMiddleware(allow_origins=["*"], allow_credentials=True,
// allow_methods=["*"], allow_headers=["*"]) on Starlette 0.26. Any Origin -- `null` included --
// is reflected with credentials on preflights and on Cookie-bearing requests; `*` otherwise.
// CORS never stops the request from running: it only hides the response from the page.
import t from 'tap'
import { startTestKernel } from '../helpers/kernel.ts'

const ORIGINS = ['https://evil.example', 'null', 'http://localhost:3000', 'http://127.0.0.1.nip.io']

t.test('CORS as documented', async t => {
  const k = await startTestKernel(t)

  t.test('preflight reflects any origin with credentials and echoes requested headers', async t => {
    for (const origin of ORIGINS) {
      for (const path of ['/kernel/execute', '/kernel/reset', '/kernel/connection']) {
        const r = await k.request('OPTIONS', path, {
          headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-anything' },
        })
        t.equal(r.status, 200, `${origin} ${path}: status`)
        t.equal(r.headers['access-control-allow-origin'], origin, `${origin} ${path}: origin reflected`)
        t.equal(r.headers['access-control-allow-credentials'], 'true', `${origin} ${path}: credentials`)
        t.equal(r.headers['access-control-allow-headers'], 'content-type, x-anything', `${origin} ${path}: headers echoed`)
        t.match(r.headers['access-control-allow-methods'], /POST/, `${origin} ${path}: methods`)
        t.match(r.headers.vary, /Origin/, `${origin} ${path}: vary`)
      }
    }
  })

  t.test('a simple request without cookies gets * (plus credentials: true)', async t => {
    for (const origin of ORIGINS) {
      const r = await k.request('GET', '/kernel/status', { headers: { origin } })
      t.equal(r.status, 200)
      t.equal(r.headers['access-control-allow-origin'], '*', `${origin}: *`)
      t.equal(r.headers['access-control-allow-credentials'], 'true', `${origin}: credentials`)
    }
  })

  t.test('a request carrying a Cookie gets its origin reflected', async t => {
    for (const origin of ORIGINS) {
      const r = await k.request('GET', '/kernel/connection', { headers: { origin, cookie: 'session=x' } })
      t.equal(r.status, 200)
      t.equal(r.headers['access-control-allow-origin'], origin, `${origin}: reflected`)
      t.equal(r.headers['access-control-allow-credentials'], 'true')
      t.match(r.headers.vary, /Origin/)
      t.type(r.body.connection_info?.key, 'string', `${origin}: the HMAC key is readable by that page`)
    }
  })

  t.test('cross-origin execution runs, whatever CORS says', async t => {
    const r = await k.request('POST', '/kernel/execute', {
      headers: { origin: 'https://evil.example', cookie: 'session=x' },
      json: { code: 'print(6 * 7)' },
    })
    t.equal(r.status, 200)
    t.equal(r.headers['access-control-allow-origin'], 'https://evil.example')
    t.same(r.body, { success: true, output: '42\n', error: null, images: [] })
  })

  t.test('no Origin, no CORS headers', async t => {
    const r = await k.request('GET', '/kernel/status')
    t.equal(r.status, 200)
    t.equal(r.headers['access-control-allow-origin'], undefined)
  })
})
