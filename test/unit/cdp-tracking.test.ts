// Answers the gateway reads travel under gateway ids, so no client id can steer which answer
// is filtered (review F1), a full table refuses instead of forwarding unread (F5); released
// browser contexts stay claimed while Chromium disposes of them (F7).
import t from 'tap'
import { ConnectionState } from '../../src/cdp/sessions.ts'
import { ContextRegistry } from '../../src/cdp/target-view.ts'
import { compileTargetRules } from '../../src/cdp/targets.ts'

const rules = compileTargetRules({ types: ['page', 'tab'], schemes: ['http', 'https', 'about'] })
const OWN = 'AAAA'
const OTHER = 'BBBB'
function state (): ConnectionState {
  const st = new ConnectionState('browser', { view: { rules, tenancy: 'isolated', registry: new ContextRegistry() } })
  st.view.claim(OWN, true)
  return st
}
const answer = (id: number, targets: Array<[string, string]>): string =>
  JSON.stringify({ id, result: { targetInfos: targets.map(([targetId, ctx]) => ({ targetId, type: 'page', url: `https://x.test/${targetId}`, browserContextId: ctx })) } })

t.test('the same client id twice: two gateway ids, both answers filtered, the client id restored', async t => {
  const st = state()
  const a = st.track({ id: 77, method: 'Target.getTargets', params: {}, sessionId: undefined })
  const b = st.track({ id: 77, method: 'Target.getTargets', params: {}, sessionId: undefined })
  t.ok(a !== undefined && b !== undefined)
  t.ok((a?.id ?? 0) < 0 && (b?.id ?? 0) < 0 && a?.id !== b?.id, 'distinct negative gateway ids')
  for (const cmd of [a, b]) {
    const frame = answer(cmd?.id as number, [['mine', OWN], ['theirs', OTHER]])
    t.ok(st.needsParse(Buffer.from(frame)), 'selected')
    const o = st.observe(frame)
    const msg = JSON.parse(o.text ?? '{}')
    t.equal(msg.id, 77, 'the client gets its own id back')
    t.same(msg.result.targetInfos.map((x: { targetId: string }) => x.targetId), ['mine'], 'another client\'s page is filtered out')
  }
  t.notOk(st.needsParse(Buffer.from(answer(-999, []))), 'an unknown gateway id is not read')
  t.notOk(st.needsParse(Buffer.from(answer(77, [['theirs', OTHER]]))), 'a client id is never mistaken for a tracked answer')
})

t.test('an error answer (Chromium drops the sessionId) still comes back with the client\'s id', async t => {
  const st = state()
  const cmd = st.track({ id: 5, method: 'Page.getNavigationHistory', params: {}, sessionId: 'S1' })
  const o = st.observe(JSON.stringify({ id: cmd?.id, error: { code: -32001, message: 'Session with given id not found.' } }))
  t.equal(JSON.parse(o.text ?? '{}').id, 5)
  t.equal(st.track({ id: 6, method: 'Runtime.evaluate', params: {}, sessionId: undefined })?.id, 6, 'untracked commands keep their id')
})

t.test('a full table refuses tracked commands rather than forwarding them unread', async t => {
  const st = state()
  let refused = 0
  for (let i = 0; i < 10_001; i++) if (st.track({ id: i, method: 'Target.getTargets', params: {}, sessionId: undefined }) === undefined) refused++
  t.equal(refused, 1, 'the 10,001st outstanding answer is refused')
  t.equal(st.internalId(), undefined, 'and so is a gateway command')
})

t.test('a released context stays claimed until it is retired', async t => {
  const r = new ContextRegistry(50)
  r.claim('C'); r.claim('C')
  r.release('C')
  t.ok(r.isClaimed('C'), 'still held by its other owner')
  r.release('C')
  t.ok(r.isClaimed('C'), 'released, but still claimed while Chromium disposes of it')
  await new Promise(resolve => setTimeout(resolve, 80))
  r.claim('D'); r.release('D')
  t.notOk(r.isClaimed('C'), 'forgotten after the retirement period')
  t.notOk(r.isClaimed(undefined))
})

t.test('pages per connection are capped (review: one client could exhaust the shared browser)', async t => {
  const { compileCdpFilter } = await import('../../src/cdp/filter.ts')
  const { decide } = await import('../../src/cdp/decide.ts')
  const { testPolicy } = await import('../helpers/gateway.ts')
  const f = compileCdpFilter(testPolicy('hedged', { cdp: { maxPagesPerConnection: 2 } }).cdp)
  const st = state()
  const create = { id: 1, method: 'Target.createTarget', params: { url: 'about:blank' }, sessionId: undefined }
  const learn = (id: string, ctx: string): void => { st.observe(JSON.stringify({ method: 'Target.targetCreated', params: { targetInfo: { targetId: id, type: 'page', url: 'about:blank', browserContextId: ctx } } })) }
  learn('p1', OWN); learn('x1', OTHER); learn('x2', OTHER)
  t.equal(decide(f, st, create).action, 'forward', 'one own page: another is fine (other clients\' pages do not count)')
  learn('p2', OWN)
  const d = decide(f, st, create)
  t.equal(d.action === 'deny' ? d.rule : d.action, 'cdp.maxPagesPerConnection', 'two own pages: refused')
  st.observe(JSON.stringify({ method: 'Target.targetDestroyed', params: { targetId: 'p2' } }))
  t.equal(decide(f, st, create).action, 'forward', 'one closed: room again')
})
