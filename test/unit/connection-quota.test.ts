// Issue 9, item 9: CDP connection slots per token with a larger cap per subject, so a limited
// token minted for the same subject as others cannot take everybody's slots.
import t from 'tap'
import { ConnectionQuota } from '../../src/net/connection-quota.ts'

const tok = (tokenId: string, subject = 'hedge-dev'): { tokenId: string, subject: string } => ({ tokenId, subject })

t.test('a token is held to its own cap; its subject\'s other tokens still connect', async t => {
  const q = new ConnectionQuota({ perToken: 2, perSubject: 5 })
  const a = [q.acquire(tok('A'), '127.0.0.1'), q.acquire(tok('A'), '127.0.0.1')]
  t.ok(a.every(x => x.ok))
  t.same(q.acquire(tok('A'), '127.0.0.1'), { ok: false, rule: 'cdp.maxConnectionsPerToken' }, 'token A is full')
  t.ok(q.acquire(tok('B'), '127.0.0.1').ok, 'token B of the same subject still gets in')
  t.ok(q.acquire(tok('B'), '127.0.0.1').ok)
  t.ok(q.acquire(tok('C'), '127.0.0.1').ok)
  t.same(q.acquire(tok('D'), '127.0.0.1'), { ok: false, rule: 'cdp.maxConnectionsPerSubject' }, 'the subject as a whole is bounded')
  t.ok(q.acquire(tok('E', 'other'), '127.0.0.1').ok, 'another subject is untouched')
  const first = a[0]
  if (first?.ok === true) { first.release(); first.release() }
  t.equal(q.used('tok:A'), 1, 'release is idempotent')
  t.equal(q.used('sub:hedge-dev'), 4)
  t.ok(q.acquire(tok('D'), '127.0.0.1').ok, 'a released slot is reusable')
})

t.test('without a principal, slots are per source address', async t => {
  const q = new ConnectionQuota({ perToken: 1, perSubject: 4 })
  t.ok(q.acquire(undefined, '127.0.0.2').ok)
  t.same(q.acquire(undefined, '127.0.0.2'), { ok: false, rule: 'cdp.maxConnectionsPerSource' })
  t.ok(q.acquire(undefined, '127.0.0.3').ok)
})

t.test('bad limits are refused', async t => {
  t.throws(() => new ConnectionQuota({ perToken: 0, perSubject: 1 }), TypeError)
  t.throws(() => new ConnectionQuota({ perToken: 1, perSubject: NaN }), TypeError)
})
