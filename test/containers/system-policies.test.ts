// The container form of the hedged browser's managed policies (--dedicated-container):
// written by the root launcher at the system path, with the directory made root-owned 0755
// and every foreign file removed (a policy file the browser's uid planted could relax ours).
// Exercised on a temp directory standing in for /etc/chromium/policies/managed; the real
// path and the start-time verification run in compose.test.ts and pod.test.ts.
import t from 'tap'
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HEDGED_POLICIES, removeSystemPolicies, writeSystemPolicies } from '../../src/sandbox/chromium-hardening.ts'

t.test('writeSystemPolicies: root-owned 0755 dir, hedge.json 0644, foreign files removed', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async t => {
  const root = mkdtempSync(join(tmpdir(), 'hedge-syspol-'))
  t.teardown(() => { rmSync(root, { recursive: true, force: true }) })
  const dir = join(root, 'managed')
  writeSystemPolicies({}, dir) // creates it
  chmodSync(dir, 0o777); chownSync(dir, 10002, 10002) // as an emptyDir/tmpfs may arrive, or as a browser uid would leave it
  writeFileSync(join(dir, 'relax.json'), JSON.stringify({ URLAllowlist: ['chrome://*'] }))
  const file = writeSystemPolicies(HEDGED_POLICIES, dir)
  t.same(readdirSync(dir), ['hedge.json'], 'only hedge\'s file is left')
  const d = statSync(dir); const f = statSync(file)
  t.same([d.uid, d.mode & 0o777], [0, 0o755], 'directory root-owned 0755')
  t.same([f.uid, f.mode & 0o777], [0, 0o644], 'file root-owned 0644')
  t.same(JSON.parse(readFileSync(file, 'utf8')), HEDGED_POLICIES)
  removeSystemPolicies(dir)
  t.same(readdirSync(dir), [], 'removed at stop')
})
