// How FastAPI 0.92 reads the execute body -- the gateway comparison relies on it. A JSON body
// labelled text/plain (what a form or a no-cors fetch sends) is refused with 422, so a browser
// needs a preflighted request to run code -- which this CORS setup approves. A body with NO
// Content-Type at all is parsed as JSON and runs: fetch(url, {method:'POST', body: new Blob([json])})
// sends no Content-Type, is a CORS "simple" request, and needs no preflight.
import t from 'tap'
import { startTestKernel } from '../helpers/kernel.ts'

const BODY = JSON.stringify({ code: 'print("ran")' })

t.test('execute body handling', async t => {
  const k = await startTestKernel(t)
  const cases: Array<[string, Record<string, string>, number]> = [
    ['application/json', { 'content-type': 'application/json' }, 200],
    ['application/json; charset=utf-8', { 'content-type': 'application/json; charset=utf-8' }, 200],
    ['application/vnd.api+json', { 'content-type': 'application/vnd.api+json' }, 200],
    ['text/plain', { 'content-type': 'text/plain' }, 422],
    ['text/plain;charset=UTF-8 (fetch with a string body)', { 'content-type': 'text/plain;charset=UTF-8' }, 422],
    ['application/x-www-form-urlencoded', { 'content-type': 'application/x-www-form-urlencoded' }, 422],
    ['multipart/form-data', { 'content-type': 'multipart/form-data; boundary=x' }, 422],
    ['no Content-Type', {}, 200],
  ]
  for (const [label, headers, status] of cases) {
    const r = await k.request('POST', '/kernel/execute', { headers: { origin: 'https://evil.example', ...headers }, raw: BODY })
    t.equal(r.status, status, `${label} -> ${status}`)
    if (status === 200) t.equal(r.body.output, 'ran\n', `${label}: the code ran`)
    else t.match(r.body, { detail: [{ loc: ['body'] }] }, `${label}: a validation error, nothing ran`)
  }

  t.test('the same through fetch, as a page would send it', async t => {
    if (k.socketPath !== undefined) return
    const viaString = await fetch(`${k.url}/kernel/execute`, { method: 'POST', body: BODY })
    t.equal(viaString.status, 422, 'string body (text/plain) refused')
    await viaString.arrayBuffer()
    const viaBlob = await fetch(`${k.url}/kernel/execute`, { method: 'POST', body: new Blob([BODY]) })
    t.equal(viaBlob.status, 200, 'typeless Blob body runs without a preflight')
    t.equal((await viaBlob.json()).output, 'ran\n')
  })

  t.test('shape validation', async t => {
    t.equal((await k.request('POST', '/kernel/execute', { json: {} })).status, 422, 'code is required')
    t.equal((await k.request('POST', '/kernel/execute', { json: { code: 1 } })).status, 200, 'pydantic 1 coerces a number to str')
    t.equal((await k.request('POST', '/kernel/execute', { json: { code: 'x', timeout: 'soon' } })).status, 422)
    t.equal((await k.request('GET', '/kernel/execute')).status, 405)
  })
})
