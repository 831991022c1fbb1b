// The documented routes, unauthenticated: service info, health, status, debug (internal state,
// key included), and execute's result shape (stdout, results, errors, base64 PNG images).
import t from 'tap'
import { dirname, join } from 'node:path'
import { startTestKernel } from '../helpers/kernel.ts'

// a 1x1 PNG
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='

t.test('routes', async t => {
  const k = await startTestKernel(t)

  t.test('info, health, status', async t => {
    const info = await k.request('GET', '/')
    t.equal(info.status, 200)
    t.match(info.body, { service: 'kernel-server', endpoints: Array })
    t.ok(info.body.endpoints.includes('/kernel/execute'))
    const health = await k.request('GET', '/health')
    t.match(health.body, { status: 'healthy', kernel: { alive: true, pid: Number, client_connected: true } })
    const st = await k.status()
    t.match(st, { alive: true, pid: Number, connection_file: String, client_connected: true, executing: false, restarts: 0 })
    t.equal(dirname(st.connection_file as string), join(k.server.homeDir, 'runtime'), 'connection files live in JUPYTER_RUNTIME_DIR')
  })

  t.test('debug exposes internal state', async t => {
    const d = (await k.request('GET', '/kernel/debug')).body
    t.equal(d.server_pid, k.server.pid)
    t.equal(d.workspace, k.workspace.root)
    t.same(d.kernel_argv, ['/usr/bin/python3', '-Xfrozen_modules=off', '-m', 'ipykernel_launcher', '-f', '{connection_file}'])
    t.type(d.connection_info.key, 'string', 'the HMAC key again')
    t.equal(d.lock_held, false)
  })

  t.test('execute result shape', async t => {
    t.same(await k.execute('print("a"); 6 * 7'), { success: true, output: 'a\n42\n', error: null, images: [] })
    const err = await k.execute('raise ValueError("boom")')
    t.equal(err.success, false)
    t.match(err.error, /ValueError: boom/)
    t.notMatch(err.error, /\x1b\[/, 'ANSI colours stripped')
    const img = await k.execute(`import base64\nfrom IPython.display import Image, display\ndisplay(Image(data=base64.b64decode("${PNG}")))`)
    t.equal(img.success, true)
    t.same(img.images, [PNG], 'display_data PNGs come back base64')
    const stderr = await k.execute('import sys; print("to stderr", file=sys.stderr)')
    t.equal(stderr.output, 'to stderr\n', 'stderr is part of output')
    const restarted = await k.execute('print("fresh")', { restart: true })
    t.equal(restarted.output, 'fresh\n')
    t.equal((await k.status()).restarts, 1, 'restart: true restarts before executing')
  })

  t.test('interrupt answers 200 on an idle kernel', async t => {
    const r = await k.request('POST', '/kernel/interrupt')
    t.equal(r.status, 200)
    t.match(r.body, { success: true, executing: false })
    t.match((await k.execute('print(1)')).output, /^1$/m, 'the kernel still runs code (IPython may add a history notice after an interrupt)')
  })
})
