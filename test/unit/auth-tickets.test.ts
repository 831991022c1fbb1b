// Single-use CDP tickets: random, bound to one target, short-lived, never outliving the token.
import t from 'tap'
import { TicketStore } from '../../src/auth/tickets.ts'
import type { Principal } from '../../src/auth/jwt.ts'

const T0 = 1_700_000_000
const principal = (expiresAt = T0 + 3600, subject = 'agent'): Principal => Object.freeze({
  subject, scopes: new Set(['cdp:read', 'cdp:control'] as const), audience: 'cdp', expiresAt, tokenId: 'abcdef012345',
})
function clock (): { now: () => number, at: (s: number) => void } {
  let ms = T0 * 1000
  return { now: () => ms, at: (s: number) => { ms = s * 1000 } }
}
const PAGE = '/devtools/page/ABC'

t.test('shape: 32 random bytes base64url, unique', async t => {
  const s = new TicketStore({ ttlSeconds: 30, maxPerPrincipal: 1000, now: clock().now })
  const seen = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const k = s.issue(principal(), PAGE)
    t.match(k, /^[A-Za-z0-9_-]{43}$/)
    t.equal(Buffer.from(k, 'base64url').length, 32)
    seen.add(k)
  }
  t.equal(seen.size, 200)
  t.equal(s.size, 200)
})

t.test('single use', async t => {
  const c = clock()
  const s = new TicketStore({ ttlSeconds: 30, now: c.now })
  const p = principal()
  const k = s.issue(p, PAGE)
  t.equal(s.redeem(k, PAGE), p, 'first redeem returns the principal')
  t.equal(s.redeem(k, PAGE), null, 'second redeem fails')
  t.equal(s.size, 0)
})

t.test('bound to its target; a wrong-target attempt burns it', async t => {
  const c = clock()
  const s = new TicketStore({ ttlSeconds: 30, now: c.now })
  const rows: Array<[string, string]> = [
    ['other page', '/devtools/page/XYZ'],
    ['browser target', '/devtools/browser/ABC'],
    ['prefix', '/devtools/page/AB'],
    ['suffix', `${PAGE}/`],
    ['case', PAGE.toLowerCase()],
    ['encoded', '/devtools/page/%41BC'],
    ['empty', ''],
  ]
  for (const [name, target] of rows) {
    const k = s.issue(principal(), PAGE)
    t.equal(s.redeem(k, target), null, `${name}: refused`)
    t.equal(s.redeem(k, PAGE), null, `${name}: and gone for the right target too`)
  }
  const k = s.issue(principal(), PAGE)
  t.ok(s.redeem(k, PAGE), 'near miss: exact target')
})

t.test('the default clock is Date.now (milliseconds)', async t => {
  const s = new TicketStore({ ttlSeconds: 30 })
  const k = s.issue(principal(Math.floor(Date.now() / 1000) + 60), PAGE)
  t.ok(s.redeem(k, PAGE))
})

t.test('expiry', async t => {
  const c = clock()
  const s = new TicketStore({ ttlSeconds: 30, now: c.now })
  const k1 = s.issue(principal(), PAGE)
  c.at(T0 + 29.999)
  t.ok(s.redeem(k1, PAGE), 'near miss: just inside the TTL')
  c.at(T0)
  const k2 = s.issue(principal(), PAGE)
  c.at(T0 + 30)
  t.equal(s.redeem(k2, PAGE), null, 'at the TTL: refused')
})

t.test('a ticket never outlives its token', async t => {
  const c = clock()
  const s = new TicketStore({ ttlSeconds: 30, now: c.now })
  const k = s.issue(principal(T0 + 10), PAGE)
  c.at(T0 + 10)
  t.equal(s.redeem(k, PAGE), null, 'token expired at T0+10, within the ticket TTL')
  c.at(T0)
  const k2 = s.issue(principal(T0 + 10), PAGE)
  c.at(T0 + 9)
  t.ok(s.redeem(k2, PAGE), 'near miss: token still valid')
  c.at(T0)
  const k3 = s.issue(principal(T0 - 1), PAGE)
  t.equal(s.redeem(k3, PAGE), null, 'already-expired token: the ticket is born dead')
})

t.test('bounded: a full store refuses new tickets instead of evicting another principal\'s', async t => {
  const c = clock()
  const s = new TicketStore({ ttlSeconds: 30, maxEntries: 3, now: c.now })
  const p = (i: number): Principal => Object.freeze({ ...principal(T0 + 3600, `p${i}`), tokenId: `token${i}` })
  const ks = [1, 2, 3].map(i => s.issue(p(i), PAGE))
  t.equal(s.size, 3)
  t.throws(() => s.issue(p(4), PAGE), { code: 'HEDGE_TICKETS_EXHAUSTED', statusCode: 503, rule: 'auth.tickets.capacity' })
  t.equal(s.size, 3, 'nothing evicted')
  t.equal(s.redeem(ks[0] ?? '', PAGE)?.subject, 'p1', 'the oldest is still there')
  t.ok(s.issue(p(4), PAGE), 'room again once one is redeemed')
  c.at(T0 + 31)
  t.ok(s.issue(p(5), PAGE), 'expired tickets make room')
  t.equal(s.size, 1)
})

t.test('expired tickets are swept when issuing', async t => {
  const c = clock()
  const s = new TicketStore({ ttlSeconds: 30, now: c.now })
  for (let i = 0; i < 5; i++) s.issue(principal(), PAGE)
  c.at(T0 + 31)
  s.issue(principal(), PAGE)
  t.equal(s.size, 1, 'only the fresh one left')
})

t.test('malformed or unknown tickets', async t => {
  const s = new TicketStore({ ttlSeconds: 30, now: clock().now })
  const k = s.issue(principal(), PAGE)
  for (const bad of ['', 'x', k.slice(0, -1), `${k}A`, `${k.slice(0, -1)}=`, k.replace(/^./, '+')]) {
    t.equal(s.redeem(bad, PAGE), null, JSON.stringify(bad))
  }
  // @ts-expect-error non-string input
  t.equal(s.redeem(undefined, PAGE), null)
  t.equal(s.size, 1, 'malformed attempts did not touch the real ticket')
  t.ok(s.redeem(k, PAGE))
})

t.test('constructor and issue validate their input', async t => {
  t.throws(() => new TicketStore({ ttlSeconds: 0 }), /ttlSeconds/)
  t.throws(() => new TicketStore({ ttlSeconds: 30, maxEntries: 0 }), /maxEntries/)
  t.throws(() => new TicketStore({ ttlSeconds: 30, maxPerPrincipal: 0 }), /maxPerPrincipal/)
  const s = new TicketStore({ ttlSeconds: 30, now: clock().now })
  t.throws(() => s.issue(principal(), ''), /target/)
  s.issue(principal(), PAGE)
  s.clear()
  t.equal(s.size, 0)
})
