// The audit trail's tamper evidence: a written trail verifies; every kind of tampering
// (modify, delete, insert, reorder, truncate, a forged re-chain without the key) is caught
// and the first broken line is named; rotation keeps one chain; secrets never appear.
import t from 'tap'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { openAuditTrail, CURRENT, SEAL_NOTE, trailFiles } from '../../src/audit/log.ts'
import { verifyTrail } from '../../src/audit/verify.ts'
import { link, formatRecord } from '../../src/audit/chain.ts'

const dirs: string[] = []
t.teardown(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })
function trail (n: number, opts: { key?: Buffer, maxBytes?: number, close?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'hedge-audit-'))
  dirs.push(dir)
  const w = openAuditTrail({ dir, ...(opts.key !== undefined ? { key: opts.key } : {}), ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}) })
  for (let i = 0; i < n; i++) w.record('kernel.execute', { subject: `agent-${i % 3}`, jti: `t${i}`, route: '/kernel/execute', codeSha256: 'ab'.repeat(32), codeBytes: i })
  if (opts.close !== false) w.close()
  return dir
}
const lines = (f: string): string[] => readFileSync(f, 'utf8').split('\n').slice(0, -1)
const put = (f: string, ls: string[]): void => { writeFileSync(f, ls.map(l => l + '\n').join('')) }

t.test('an untouched trail verifies, sealed', async t => {
  const dir = trail(10)
  const r = verifyTrail([dir])
  t.ok(r.ok, JSON.stringify(r.broken))
  t.equal(r.lines, 12, 'genesis + 10 + seal')
  t.ok(r.sealed)
})

t.test('tampering is caught and the first broken line named', async t => {
  const cases: Array<[string, (ls: string[]) => string[], number]> = [
    ['modify a field', ls => { ls[4] = (ls[4] as string).replace('"agent-0"', '"agent-9"'); return ls }, 6],
    ['delete a line', ls => { ls.splice(4, 1); return ls }, 5],
    ['insert a line', ls => { ls.splice(4, 0, ls[3] as string); return ls }, 5],
    ['reorder two lines', ls => { const a = ls[4] as string; ls[4] = ls[5] as string; ls[5] = a; return ls }, 5],
    ['truncate the tail (seal note left)', ls => ls.slice(0, 7), 7],
    ['drop only the seal line', ls => ls.slice(0, -1), 11],
    ['not JSON', ls => { ls[2] = '{"seq":2,'; return ls }, 3],
    ['a second genesis', ls => { ls[3] = ls[0] as string; return ls }, 4],
  ]
  for (const [name, edit, line] of cases) {
    const dir = trail(10)
    const f = join(dir, CURRENT)
    put(f, edit(lines(f)))
    const r = verifyTrail([dir])
    t.notOk(r.ok, `${name}: refused`)
    t.equal(r.broken?.line, line, `${name}: line ${line} named (${r.broken?.reason ?? ''})`)
  }
  // near miss: re-writing the same bytes is not tampering
  const dir = trail(10)
  const f = join(dir, CURRENT)
  put(f, lines(f))
  t.ok(verifyTrail([dir]).ok, 'rewriting identical bytes verifies')
})

t.test('a re-chained forgery passes without a key but not with one', async t => {
  // Without a key, SHA-256 links only catch naive edits: a forger can recompute them.
  const plain = trail(5)
  const f = join(plain, CURRENT)
  const forged = lines(f).map(l => JSON.parse(l) as Record<string, unknown>)
  forged[2] = { ...forged[2], subject: 'someone-else' }
  let prev: string | null = null
  const out: string[] = []
  for (const r of forged) {
    const { seq, time, type, prev: _p, ...rest } = r
    const line = formatRecord(seq as number, new Date(time as string), type as string, rest, prev)
    out.push(line); prev = link(line)
  }
  put(f, out)
  rmSync(join(plain, SEAL_NOTE))
  t.ok(verifyTrail([plain]).ok, 'unkeyed: a full re-chain is not detectable (documented)')
  // With a key, the same forgery (any key but the writer's) fails at the genesis.
  const key = Buffer.from('k'.repeat(32))
  const keyed = trail(5, { key })
  const g = join(keyed, CURRENT)
  const kl = lines(g).map(l => JSON.parse(l) as Record<string, unknown>)
  kl[2] = { ...kl[2], subject: 'someone-else' }
  const wrong = Buffer.from('w'.repeat(32))
  prev = null
  const out2: string[] = []
  for (const r of kl) {
    const { seq, time, type, prev: _p, ...rest } = r
    const line = formatRecord(seq as number, new Date(time as string), type as string, rest, prev)
    out2.push(line); prev = link(line, wrong)
  }
  put(g, out2)
  rmSync(join(keyed, SEAL_NOTE))
  const r = verifyTrail([keyed], key)
  t.notOk(r.ok, 'keyed: a re-chain without the key is refused')
  t.equal(r.broken?.line, 2, 'the first line linked without the key is named')
  t.notOk(verifyTrail([trail(3, { key })]).ok, 'a keyed trail needs the key to verify')
  t.ok(verifyTrail([trail(3, { key })], key).ok, 'and verifies with it')
  t.notOk(verifyTrail([trail(3, { key })], wrong).ok, 'not with another key')
})

t.test('rotation keeps one chain across files; losing a middle file is caught', async t => {
  const dir = trail(200, { maxBytes: 4096 })
  const files = trailFiles(dir)
  t.ok(files.length >= 3, `rotated into ${files.length} files`)
  const r = verifyTrail([dir])
  t.ok(r.ok, JSON.stringify(r.broken))
  t.equal(r.lines, 200 + 2 * files.length, 'every file has a genesis and a seal')
  rmSync(files[1] as string)
  const r2 = verifyTrail([dir])
  t.notOk(r2.ok, 'a missing middle file breaks the chain')
  t.match(r2.broken?.reason, /continue/)
  t.ok(verifyTrail(trailFiles(dir).slice(1)).ok, 'the files after a removed oldest one verify as a continuation')
  t.ok(verifyTrail(trailFiles(dir).slice(1)).continuation)
})

t.test('a restart after a clean close continues the chain; after a crash the break is reported', async t => {
  const dir = trail(3)
  const w = openAuditTrail({ dir })
  w.record('policy.load', { policy: 'hedged' })
  w.close()
  t.ok(verifyTrail([dir]).ok, 'two runs, one chain')
  t.equal(readdirSync(dir).filter(n => n.endsWith('.jsonl')).length, 2)
  const crashed = trail(3, { close: false })
  const w2 = openAuditTrail({ dir: crashed })
  w2.record('policy.load', { policy: 'hedged' })
  w2.close()
  const r = verifyTrail([crashed])
  t.notOk(r.ok, 'the unsealed file of the crashed run is reported')
  t.match(r.broken?.reason, /seal/)
})

t.test('secrets never reach the trail', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hedge-audit-'))
  dirs.push(dir)
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl'
  const w = openAuditTrail({ dir })
  w.record('kernel.deny', { headers: { authorization: `Bearer ${jwt}`, cookie: 'sid=SECRETCOOKIE' }, token: jwt, ticket: 'TICKETVALUE', key: 'KERNELHMACKEY', url: '/x', nested: [{ bearer: jwt }] })
  w.close()
  const text = readFileSync(join(dir, CURRENT), 'utf8')
  for (const s of [jwt, 'SECRETCOOKIE', 'TICKETVALUE', 'KERNELHMACKEY']) t.notOk(text.includes(s), `no ${s.slice(0, 12)}…`)
  t.ok(verifyTrail([dir]).ok)
})

t.test('hedge audit verify: exit 0 intact, 1 naming the broken line', async t => {
  const dir = trail(4)
  const run = (...a: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, ['bin/hedge.js', 'audit', 'verify', ...a], { encoding: 'utf8', timeout: 60_000 })
  const ok = run(dir)
  t.equal(ok.status, 0, String(ok.stderr))
  t.match(ok.stdout, /intact: 6 lines, sealed/)
  const f = join(dir, CURRENT)
  const ls = lines(f); ls.splice(2, 1); put(f, ls)
  const bad = run(dir)
  t.equal(bad.status, 1)
  t.match(bad.stdout, /broken: .*audit\.jsonl line 3/)
  t.equal(run().status, 2, 'no path is a usage error')
})
