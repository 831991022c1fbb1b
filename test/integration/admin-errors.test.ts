// The admin listener answers what it does not serve in the registry shape
// ({statusCode, code, error, message}, src/errors/codes.ts), like every other front.
import t from 'tap'
import type { AddressInfo } from 'node:net'
import { createAdminServer } from '../../src/admin.ts'
import { silentLogger } from '../../src/logger.ts'
import { rawRequest } from '../helpers/http.ts'

t.test('404 and 405 in the registry shape; near misses are served', async t => {
  const server = createAdminServer([], silentLogger)
  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => new Promise<void>(resolve => { server.close(() => { resolve() }) }))
  const port = (server.address() as AddressInfo).port

  const unknown = await rawRequest(port, { path: '/healthz/' })
  t.equal(unknown.status, 404)
  t.same(unknown.json, { statusCode: 404, code: 'HEDGE_ROUTE_UNKNOWN', error: 'Not Found', message: 'no such route' })
  t.equal(unknown.headers['cache-control'], 'no-store')
  t.equal((await rawRequest(port, { path: '/healthz' })).status, 200, 'near miss: /healthz')

  const post = await rawRequest(port, { method: 'POST', path: '/healthz', body: '' })
  t.equal(post.status, 405)
  t.same(post.json, { statusCode: 405, code: 'HEDGE_METHOD_NOT_ALLOWED', error: 'Method Not Allowed', message: 'method not allowed on this route' })
  t.equal(post.headers.allow, 'GET')
  const metrics = await rawRequest(port, { path: '/metrics' })
  t.equal(metrics.status, 200, 'near miss: GET /metrics')
})
