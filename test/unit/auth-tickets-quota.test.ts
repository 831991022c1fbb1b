// Issue 9, item 9: one token minting tickets in a loop cannot evict another client's unused
// ticket; it only rotates through its own quota.
import t from 'tap'
import { TicketStore } from '../../src/auth/tickets.ts'
import type { Principal } from '../../src/auth/jwt.ts'

const T0 = 1_700_000_000
const who = (subject: string, tokenId: string): Principal => Object.freeze({
  subject, scopes: new Set(['cdp:read'] as const), audience: 'cdp', expiresAt: T0 + 3600, tokenId,
})
const now = (): number => T0 * 1000
const PAGE = '/devtools/page/ABC'

t.test('a flood from one token leaves other tokens\' tickets alone', async t => {
  const s = new TicketStore({ ttlSeconds: 30, maxEntries: 200, maxPerPrincipal: 8, now })
  const victim = who('victim', 'aaaaaaaaaaaa')
  const attacker = who('attacker', 'bbbbbbbbbbbb')
  const kept = s.issue(victim, PAGE)
  for (let i = 0; i < 10_000; i++) s.issue(attacker, PAGE)
  t.equal(s.held(attacker), 8, 'the attacker holds its quota, no more')
  t.equal(s.size, 9)
  t.equal(s.redeem(kept, PAGE)?.subject, 'victim', 'the victim\'s ticket survived')
})

t.test('per-principal eviction takes that principal\'s oldest', async t => {
  const s = new TicketStore({ ttlSeconds: 30, maxPerPrincipal: 3, now })
  const a = who('a', 'aaaaaaaaaaaa')
  const ks = [1, 2, 3, 4].map(() => s.issue(a, PAGE))
  t.equal(s.held(a), 3)
  t.equal(s.redeem(ks[0] ?? '', PAGE), null, 'its oldest was evicted')
  t.equal(s.redeem(ks[1] ?? '', PAGE)?.subject, 'a')
  t.equal(s.redeem(ks[3] ?? '', PAGE)?.subject, 'a')
  t.equal(s.held(a), 1)
})

t.test('two tokens of one subject have separate quotas', async t => {
  const s = new TicketStore({ ttlSeconds: 30, maxPerPrincipal: 2, now })
  const one = who('hedge-dev', '111111111111')
  const two = who('hedge-dev', '222222222222')
  const k = s.issue(one, PAGE)
  for (let i = 0; i < 10; i++) s.issue(two, PAGE)
  t.equal(s.redeem(k, PAGE)?.subject, 'hedge-dev', 'a limited token of the same subject cannot evict it either')
})

t.test('the store refuses, with a stable code, when full of others\' live tickets', async t => {
  const s = new TicketStore({ ttlSeconds: 30, maxEntries: 4, maxPerPrincipal: 2, now })
  for (const id of ['111111111111', '222222222222']) for (let i = 0; i < 2; i++) s.issue(who(id, id), PAGE)
  t.throws(() => s.issue(who('third', '333333333333'), PAGE), { code: 'HEDGE_TICKETS_EXHAUSTED' })
  t.ok(s.issue(who('111111111111', '111111111111'), PAGE), 'a principal at its own quota can still rotate')
  t.equal(s.size, 4)
})
