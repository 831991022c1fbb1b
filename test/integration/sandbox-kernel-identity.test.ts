// The kernel's code runs as the unprivileged agent user (hedge-agent when the tests run as
// root), with no capabilities and no way to gain privileges.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { startTestKernel } from '../helpers/kernel.ts'

t.test('kernel code runs as the agent', async t => {
  const k = await startTestKernel(t)
  const r = await k.execute([
    'import os, json',
    'st = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)',
    'print(json.dumps({"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),',
    '  "capeff": st["CapEff"].strip(), "capprm": st["CapPrm"].strip(), "capbnd": st["CapBnd"].strip(), "nnp": st["NoNewPrivs"].strip(),',
    '  "home": os.environ.get("HOME"), "pydevd": os.environ.get("PYDEVD_DISABLE_FILE_VALIDATION")}))',
  ].join('\n'))
  t.equal(r.error, null)
  const me = JSON.parse(r.output)
  t.not(me.uid, 0, 'not root')
  t.not(me.euid, 0, 'not root (effective)')
  t.equal(me.pydevd, '1', 'kernel env as documented')
  t.equal(me.home, k.server.homeDir, 'HOME is the agent-owned temp dir')
  if (k.agent === null) {
    t.equal(me.uid, process.getuid?.(), 'not root: the kernel runs as the invoking user')
    return
  }
  t.equal(me.uid, k.agent.uid, 'the hedge-agent uid')
  t.equal(me.gid, k.agent.gid)
  t.same(me.groups, [], 'no supplementary groups')
  t.equal(me.capeff, '0000000000000000', 'no effective capabilities')
  t.equal(me.capprm, '0000000000000000', 'no permitted capabilities')
  t.equal(me.capbnd, '0000000000000000', 'empty bounding set')
  t.equal(me.nnp, '1', 'no_new_privs')

  // the server process runs as the agent too
  const debug = (await k.request('GET', '/kernel/debug')).body
  t.equal(debug.uid, k.agent.uid)
  const status = await readFile(`/proc/${k.server.pid}/status`, 'utf8')
  t.match(status, new RegExp(`^Uid:\\s+${k.agent.uid}\\s`, 'm'), 'the server pid belongs to the agent')
})
