import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ERRORS, HedgeError, errorBody } from '../../src/errors/codes.ts'

t.test('every code is prefixed and maps to an HTTP status', async t => {
  for (const [code, def] of Object.entries(ERRORS)) {
    t.match(code, /^HEDGE_[A-Z_]+$/)
    t.ok(def.status >= 400 && def.status < 600, code)
  }
})

t.test('HedgeError carries a stable body shape and keeps the rule out of it', async t => {
  const e = new HedgeError('HEDGE_ORIGIN_DENIED', undefined, 'origin.allow')
  t.same(e.toBody(), { statusCode: 403, code: 'HEDGE_ORIGIN_DENIED', error: 'Forbidden', message: 'origin not allowed' })
  t.equal(e.rule, 'origin.allow')
  t.same(Object.keys(errorBody('HEDGE_INTERNAL')), ['statusCode', 'code', 'error', 'message'])
})

t.test('every registered code is sent somewhere (or it is deleted)', async t => {
  const root = fileURLToPath(new URL('../../src/', import.meta.url))
  const sources = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter(f => f.endsWith('.ts') && f !== join('errors', 'codes.ts'))
    .map(f => readFileSync(join(root, f), 'utf8'))
  for (const code of Object.keys(ERRORS)) {
    t.ok(sources.some(s => s.includes(`'${code}'`)), `${code} is used outside the registry`)
  }
})
