import t from 'tap'
import { parseNofile, readNofile, raiseNofile } from '../../src/net/nofile.ts'
import { silentLogger } from '../../src/logger.ts'

t.test('parses /proc/<pid>/limits', async t => {
  const text = 'Limit                     Soft Limit           Hard Limit           Units     \n' +
    'Max open files            20000                20000                files     \n' +
    'Max locked memory         8388608              8388608              bytes     \n'
  t.same(parseNofile(text), { soft: 20000, hard: 20000 })
  t.same(parseNofile('Max open files            1024                 unlimited            files\n'), { soft: 1024, hard: Infinity })
  t.equal(parseNofile('nothing here'), null)
})

t.test('raising never throws and never lowers the limit', async t => {
  const before = readNofile()
  t.ok(before !== null && before.soft > 0, 'this process has a readable limit')
  const after = raiseNofile((before?.hard ?? 1024) + 1, 1, silentLogger)
  t.ok(after !== null && after.soft >= (before?.soft ?? 0), `soft ${String(after?.soft)} >= ${String(before?.soft)}`)
})
