// The CLI: --help lists every command; unknown commands, flags and bad values are errors
// with a clear message and exit status 2, never silently ignored.
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = async (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> => {
  try {
    const r = await promisify(execFile)(process.execPath, ['bin/hedge.js', ...args], { cwd: new URL('../..', import.meta.url).pathname, env: { ...process.env, HEDGE_JWT_SECRET: 'x'.repeat(40) } })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (e) {
    const err = e as { code: number, stdout: string, stderr: string }
    return { code: err.code, stdout: err.stdout, stderr: err.stderr }
  }
}

t.test('--help lists every command', async t => {
  const r = await run('--help')
  t.equal(r.code, 0)
  for (const c of ['sandbox', 'up', 'gateway', 'token', 'keys', 'policy', 'compare', 'bench']) t.match(r.stdout, new RegExp(`^  ${c} `, 'm'), c)
})

t.test('errors are clear and exit 2', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['sandbox', '--kernel-prot', '1'], /Unknown option '--kernel-prot'/],
    [['sandbox', '--kernel-port', '70000'], /--kernel-port must be a port number/],
    [['gateway', '--admin-port', 'x'], /--admin-port must be a port number/],
    [['token', '--scope', 'kernel:raed'], /--scope: unknown scope "kernel:raed"/],
    [['token', '--scope', 'kernel:read', '--ttl', 'forever'], /--ttl: /],
    [['token', '--scope', 'kernel:read', '--aud', 'both'], /--aud must be one of kernel, cdp/],
    [['policy', 'frob'], /unknown subcommand "frob"/],
    [['compare', '--layers', 'nope'], /--layers: unknown layer "nope"/],
    [['sandbox', 'extra'], /unexpected argument "extra"/],
  ]
  for (const [args, re] of cases) {
    const r = await run(...args)
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, re, args.join(' '))
  }
})

t.test('token mints a verifiable token; policy check reports paths', async t => {
  const r = await run('token', '--scope', 'kernel:read', '--ttl', '5m')
  t.equal(r.code, 0)
  t.match(r.stdout.trim(), /^[\w-]+\.[\w-]+\.[\w-]+$/)
  const bad = await run('policy', 'check', 'test/fixtures/bad-policy.yaml')
  t.equal(bad.code, 1)
  t.match(bad.stderr, /kernel\.routes\[1\]\.scope: unknown scope "kernal:read"/)
})
