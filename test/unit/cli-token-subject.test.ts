// Issue 9, item 9: `hedge token` mints a distinct subject (agent-<random>) unless --sub says
// otherwise, never the development tokens' subject, and every token has its own jti.
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = async (...args: string[]): Promise<string> => {
  const r = await promisify(execFile)(process.execPath, ['bin/hedge.js', ...args], { cwd: new URL('../..', import.meta.url).pathname, env: { ...process.env, HEDGE_JWT_SECRET: 'x'.repeat(40) } })
  return r.stdout.trim()
}
const claims = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>

t.test('default subject is fresh per token; --sub is honoured; jti unique', async t => {
  const [a, b] = await Promise.all([run('token', '--scope', 'cdp:read', '--aud', 'cdp'), run('token', '--scope', 'cdp:read', '--aud', 'cdp')])
  const ca = claims(a)
  const cb = claims(b)
  t.match(ca.sub, /^agent-[0-9a-f]{12}$/)
  t.match(cb.sub, /^agent-[0-9a-f]{12}$/)
  t.not(ca.sub, cb.sub, 'two tokens, two subjects')
  t.not(ca.sub, 'hedge-dev', 'not the development tokens\' subject')
  t.not(ca.jti, cb.jti)
  t.match(ca.jti, /^[A-Za-z0-9_-]{22}$/)
  const named = claims(await run('token', '--scope', 'kernel:read', '--sub', 'ci-runner'))
  t.equal(named.sub, 'ci-runner')
})
