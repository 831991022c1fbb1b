// Secrets never reach a log line: proved on the parsed output of the real logger config.
import t from 'tap'
import { Writable } from 'node:stream'
import { createLogger, redactUrl } from '../../src/logger.ts'

function capture (): { lines: string[], dest: Writable } {
  const lines: string[] = []
  return { lines, dest: new Writable({ write (c: Buffer, _e, cb) { lines.push(c.toString()); cb() } }) }
}

t.test('authorization, cookies, tokens, tickets and keys are censored', async t => {
  const { lines, dest } = capture()
  const log = createLogger({ level: 'info' }, dest)
  log.info({ req: { headers: { authorization: 'Bearer SECRET-A', cookie: 'sid=SECRET-B' } } }, 'x')
  log.info({ headers: { authorization: 'Bearer SECRET-C', 'proxy-authorization': 'Basic SECRET-D' } }, 'x')
  log.info({ token: 'SECRET-E', ticket: 'SECRET-F', key: 'SECRET-G', secret: 'SECRET-H' }, 'x')
  log.info({ connection: { key: 'SECRET-I' }, principal: { token: 'SECRET-J' } }, 'x')
  const all = lines.join('')
  t.notMatch(all, /SECRET-/, 'no secret survives')
  t.equal(JSON.parse(lines[0] as string).req.headers.authorization, '[redacted]')
  t.equal(JSON.parse(lines[3] as string).connection.key, '[redacted]')
})

t.test('query strings are dropped from logged URLs', async t => {
  t.equal(redactUrl('/devtools/page/ABC?ticket=SECRET'), '/devtools/page/ABC?[redacted]')
  t.equal(redactUrl('/kernel/status'), '/kernel/status')
  t.equal(redactUrl(undefined), '')
})
