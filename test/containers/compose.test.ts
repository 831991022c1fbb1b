// The real docker-compose.yml on a real engine (npm run test:containers builds the images
// first): config validates on every compose CLI present (v2 and/or v1); the hedged stack
// comes up healthy with its ready lines, publishes on loopback only, serves the documented
// Playwright client (connectOverCDP, downloads into output/, an upload from upload/), runs
// the agent without capabilities, keeps its zones, has no egress, survives a sandbox crash
// (namespace holder); the baseline profile shows its documented weakness; a SIGKILLed stack
// is removed by scripts/containers/cleanup.sh with nothing left behind.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { createServer, type AddressInfo } from 'node:net'
import { chmodSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { composeClis, engineProblem, freePorts, hedge, httpStatus, processes, ROOT, run, SANDBOX_IMAGE, until } from './engine.ts'

const problem = engineProblem()
const clis = composeClis()
if (problem !== null || clis.length === 0) {
  t.comment(`containers: skipped (${problem ?? 'no compose CLI: docker compose or docker-compose'})`)
  t.pass('skipped')
  t.end()
} else {
  const compose = clis[0]!
  const project = `hedgetest${process.pid}`
  const secret = randomBytes(48).toString('base64')
  const [kernelPort, cdpPort, adminPort, bKernelPort, bCdpPort] = await freePorts(5) as [number, number, number, number, number]
  const env = {
    HEDGE_JWT_SECRET: secret, COMPOSE_PROJECT_NAME: project,
    HEDGE_KERNEL_PORT: String(kernelPort), HEDGE_CDP_PORT: String(cdpPort), HEDGE_ADMIN_PORT: String(adminPort),
    HEDGE_BASELINE_KERNEL_PORT: String(bKernelPort), HEDGE_BASELINE_CDP_PORT: String(bCdpPort),
  }
  const dc = (args: string[], timeoutMs = 600_000) => run(compose.argv[0]!, [...compose.argv.slice(1), '-p', project, ...args], { env, timeoutMs })
  const noPull = compose.name === 'v2' ? ['--pull', 'never'] : [] // v1: images exist (checked), nothing to pull
  const cid = async (service: string): Promise<string> => (await dc(['ps', '-q', service])).stdout.trim()
  t.teardown(async () => { await run('bash', ['scripts/containers/cleanup.sh', project], { env, timeoutMs: 300_000 }) })

  t.test('compose config validates on every CLI present', async t => {
    for (const c of clis) {
      for (const profile of [[], ['--profile', 'baseline']]) {
        const r = await run(c.argv[0]!, [...c.argv.slice(1), ...profile, 'config', '-q'], { env })
        t.equal(r.code, 0, `${c.name} ${profile.join(' ')} config: ${r.stderr}`)
      }
    }
  })

  t.test('hedged stack: healthy, ready, loopback only, Playwright through the gateway', async t => {
    const up = await dc(['up', '-d', '--no-build', ...noPull])
    t.equal(up.code, 0, `up: ${up.stderr}`)
    for (const svc of ['sandbox', 'gateway']) {
      const id = await cid(svc)
      await until(`${svc} healthy`, async () => (await run('docker', ['inspect', '-f', '{{.State.Health.Status}}', id])).stdout.trim() === 'healthy', 300_000, 3000)
      const logs = await dc(['logs', '--no-color', svc])
      t.match(logs.stdout + logs.stderr, /ready \{/, `${svc} printed its ready line`)
    }
    t.equal(await httpStatus(`http://127.0.0.1:${adminPort}/readyz`), 200, '/readyz through the relay')
    // published: loopback only, and only the gateway's three ports
    const pub = await run('docker', ['inspect', '-f', '{{json .NetworkSettings.Ports}}', await cid('publish')])
    const ports = JSON.parse(pub.stdout) as Record<string, Array<{ HostIp: string, HostPort: string }> | null>
    const bindings = Object.values(ports).flatMap(b => b ?? [])
    t.same(bindings.map(b => b.HostIp).sort(), ['127.0.0.1', '127.0.0.1', '127.0.0.1'], 'published on 127.0.0.1 only')
    for (const svc of ['netns', 'sandbox', 'gateway']) {
      const p = await run('docker', ['inspect', '-f', '{{json .HostConfig.PortBindings}}', await cid(svc)])
      t.match(p.stdout.trim(), /^(null|\{\})$/, `${svc} publishes nothing`)
    }
    t.equal(await httpStatus(`http://127.0.0.1:${kernelPort}/kernel/status`), 401, 'no token: 401')
    const kTok = await hedge(['token', '--aud', 'kernel', '--scope', 'kernel:read kernel:execute'], { HEDGE_JWT_SECRET: secret })
    t.equal(await httpStatus(`http://127.0.0.1:${kernelPort}/kernel/status`, { authorization: `Bearer ${kTok}` }), 200, 'kernel through the unix socket')

    // The documented client: connectOverCDP (needs the gateway's --workspace for downloads)
    const cTok = await hedge(['token', '--aud', 'cdp', '--scope', 'cdp:read cdp:control'], { HEDGE_JWT_SECRET: secret })
    const sandbox = await cid('sandbox')
    await run('docker', ['exec', '-u', '0', sandbox, 'sh', '-c', 'echo upload-me > /mnt/okcomputer/upload/hello.txt'])
    const browser = await chromium.connectOverCDP(`http://127.0.0.1:${cdpPort}`, { headers: { authorization: `Bearer ${cTok}` }, timeout: 60_000 })
    try {
      const page = await browser.contexts()[0]!.newPage()
      await page.setContent('<a id="d" download="report.txt" href="data:text/plain,hedge-download">d</a><input id="f" type="file">')
      t.equal(await page.evaluate(() => 6 * 7), 42, 'evaluate')
      t.ok((await page.screenshot()).length > 1000, 'screenshot')
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#d')])
      t.equal(download.suggestedFilename(), 'report.txt', 'download started')
      await until('download in output/', async () => {
        const ls = await run('docker', ['exec', '-u', '0', sandbox, 'sh', '-c', 'grep -rl hedge-download /mnt/okcomputer/output'])
        return ls.code === 0 && ls.stdout.trim() !== '' ? ls.stdout : undefined
      }, 60_000)
      t.pass('download landed in output/')
      // upload from upload/: the gateway checks the path in its read-only mount of the workspace
      const cdp = await page.context().newCDPSession(page)
      const { root } = await cdp.send('DOM.getDocument')
      const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: '#f' })
      await cdp.send('DOM.setFileInputFiles', { nodeId, files: ['/mnt/okcomputer/upload/hello.txt'] })
      t.equal(await page.evaluate(() => (document.getElementById('f') as HTMLInputElement).files?.[0]?.name), 'hello.txt', 'upload from upload/')
      await t.rejects(cdp.send('DOM.setFileInputFiles', { nodeId, files: ['/etc/passwd'] }), 'file input outside the zones refused')
    } finally { await browser.close() }
  })

  t.test('agent identities, capabilities, zones', async t => {
    const sandbox = await cid('sandbox')
    const procs = await processes(sandbox)
    const agentish = procs.filter(p => p.pid !== 1 && !/hedge\.js/.test(p.cmd) && p.cmd !== '' && !/^node -e/.test(p.cmd))
    const kernel = agentish.filter(p => /python3/.test(p.cmd))
    const browser = agentish.filter(p => /chromium/.test(p.cmd))
    t.ok(kernel.length >= 2, 'kernel server and kernel run')
    t.ok(browser.length >= 1, 'chromium runs')
    for (const p of kernel) t.equal(p.uid, 10001, `kernel-side pid ${p.pid} is hedge-agent`)
    for (const p of browser) t.equal(p.uid, 10002, `chromium pid ${p.pid} is hedge-browser`)
    for (const p of [...kernel, ...browser]) {
      t.equal(BigInt(`0x${p.capEff}`), 0n, `pid ${p.pid} has no capabilities`)
      t.equal(p.noNewPrivs, '1', `pid ${p.pid} NoNewPrivs`)
    }
    const up = await run('docker', ['exec', '-u', '10001', sandbox, 'sh', '-c', 'echo x > /mnt/okcomputer/upload/evil'])
    t.not(up.code, 0, 'upload/ is read-only to the agent')
    const lsattr = await run('docker', ['exec', '-u', '0', sandbox, 'lsattr', '-d', '/mnt/okcomputer/.store'])
    t.match(lsattr.stdout, /^\S*a\S*\s/, '.store/ is append-only')
    const pol = await run('docker', ['exec', '-u', '0', sandbox, 'stat', '-c', '%U %a', '/etc/chromium/policies/managed', '/etc/chromium/policies/managed/hedge.json'])
    t.equal(pol.stdout.trim(), 'root 755\nroot 644', 'managed policies: root-owned, in this container only')
  })

  t.test('no egress: a loopback canary outside the internal network receives nothing', async t => {
    let received = 0
    const tcp = createServer(s => { received++; s.destroy() })
    await new Promise<void>(resolve => tcp.listen(0, '127.0.0.1', resolve))
    const udp = createSocket('udp4'); udp.on('message', () => { received++ })
    await new Promise<void>(resolve => udp.bind(0, '127.0.0.1', resolve))
    const tp = (tcp.address() as AddressInfo).port; const up = udp.address().port
    try {
      const sandbox = await cid('sandbox')
      const py = `import socket\nfor port, kind in ((${tp}, socket.SOCK_STREAM), (${up}, socket.SOCK_DGRAM)):\n` +
        `  s = socket.socket(socket.AF_INET, kind); s.settimeout(3)\n` +
        `  try:\n    s.connect(('127.0.0.1', port)); s.send(b'canary')\n` +
        `  except OSError: pass\nprint(open('/proc/net/route').read())`
      const r = await run('docker', ['exec', '-u', '10001', sandbox, 'python3', '-c', py])
      t.equal(r.code, 0, r.stderr)
      const net = await run('docker', ['network', 'inspect', '-f', '{{.Internal}}', `${project}_lab-hedged`])
      t.equal(net.stdout.trim(), 'true', 'the namespace sits on an internal network only (no route out)')
      await new Promise(resolve => setTimeout(resolve, 2000))
      t.equal(received, 0, 'the canary saw nothing')
    } finally { tcp.close(); udp.close() }
  })

  t.test('a sandbox crash-restart keeps the gateway in a live namespace', async t => {
    const sandbox = await cid('sandbox')
    const before = (await run('docker', ['inspect', '-f', '{{.State.StartedAt}}', sandbox])).stdout.trim()
    const pid = (await run('docker', ['inspect', '-f', '{{.State.Pid}}', sandbox])).stdout.trim()
    process.kill(Number(pid), 'SIGKILL') // a crash, not a `docker stop`: the restart policy applies
    await until('sandbox restarted and healthy', async () => {
      const s = (await run('docker', ['inspect', '-f', '{{.State.StartedAt}} {{.State.Health.Status}}', sandbox])).stdout.trim().split(' ')
      return s[0] !== before && s[1] === 'healthy'
    }, 300_000, 3000)
    await until('/readyz 200 again', async () => (await httpStatus(`http://127.0.0.1:${adminPort}/readyz`)) === 200, 120_000, 2000)
    // Chromium's loopback port is reachable only from inside the namespace: a CDP session
    // through the gateway proves the gateway shares the new sandbox's namespace
    const cTok = await hedge(['token', '--aud', 'cdp', '--scope', 'cdp:read cdp:control'], { HEDGE_JWT_SECRET: secret })
    const browser = await until('CDP through the gateway', async () => await chromium.connectOverCDP(`http://127.0.0.1:${cdpPort}`, { headers: { authorization: `Bearer ${cTok}` }, timeout: 30_000 }), 120_000, 3000)
    try {
      const page = await browser.contexts()[0]!.newPage()
      t.equal(await page.evaluate(() => 1 + 1), 2, 'the restarted sandbox\'s Chromium answers through the gateway')
    } finally { await browser.close() }
  })

  t.test('baseline profile: the documented weakness', async t => {
    const up = await dc(['--profile', 'baseline', 'up', '-d', '--no-build', ...noPull, 'sandbox-baseline', 'publish-baseline'])
    t.equal(up.code, 0, up.stderr)
    await until('baseline healthy', async () => (await run('docker', ['inspect', '-f', '{{.State.Health.Status}}', await cid('sandbox-baseline')])).stdout.trim() === 'healthy', 300_000, 3000)
    const r = await fetch(`http://127.0.0.1:${bKernelPort}/kernel/connection`, { signal: AbortSignal.timeout(10_000) })
    t.equal(r.status, 200, 'no token needed')
    t.match(await r.text(), /"key"/, 'the kernel HMAC key handed out (documented weakness)')
    const pub = await run('docker', ['inspect', '-f', '{{json .NetworkSettings.Ports}}', await cid('publish-baseline')])
    t.notMatch(pub.stdout, /"HostIp":"(?!127\.0\.0\.1)/, 'baseline published on 127.0.0.1 only')
  })

  t.test('hedge compare --attach against both stacks, from inside each stack\'s namespace', async t => {
    // The harness needs the stack's internals (Chromium's loopback port, the kernel socket, the
    // workspace) and its stand-in web sites must be reachable by the browser: so it runs in a
    // container that joins the stack's network namespace and mounts its volumes, from this
    // checkout (tsx, dev dependencies). The hedged gateway is recreated with the policy the
    // e2e attach test uses (hedged + the two fixture ports).
    const dir = mkdtempSync(join(tmpdir(), 'hedge-compose-compare-'))
    chmodSync(dir, 0o777)
    t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
    const override = join(dir, 'override.yml')
    writeFileSync(override, [
      'services:', '  gateway:',
      `    command: [--policy, /etc/hedge-test/hedged-attach.yaml, --kernel-upstream, "unix:/run/hedge/kernel.sock", --cdp-upstream, "http://127.0.0.1:9222", --host, 0.0.0.0, --workspace, /mnt/okcomputer]`,
      `    volumes: ["kernel-socket:/run/hedge", "workspace-hedged:/mnt/okcomputer:ro", "${join(ROOT, 'test/fixtures')}:/etc/hedge-test:ro"]`, '',
    ].join('\n'))
    const re = await dc(['-f', 'docker-compose.yml', '-f', override, 'up', '-d', '--no-build', '--no-deps', ...noPull, 'gateway'])
    t.equal(re.code, 0, re.stderr)
    await until('gateway ready with the attach policy', async () => (await httpStatus(`http://127.0.0.1:${adminPort}/readyz`)) === 200, 300_000, 3000)
    const kTok = await hedge(['token', '--aud', 'kernel', '--scope', 'kernel:read kernel:control kernel:execute'], { HEDGE_JWT_SECRET: secret })
    const cTok = await hedge(['token', '--aud', 'cdp', '--scope', 'cdp:read cdp:control'], { HEDGE_JWT_SECRET: secret })
    const ready = {
      hedged: { sandbox: { kernel: 'unix:/run/hedge/kernel.sock', chromium: 'http://127.0.0.1:9222', cdp: null, workspace: '/mnt/okcomputer' },
        gateway: { kernel: 'http://127.0.0.1:18888', cdp: 'http://127.0.0.1:19223', admin: 'http://127.0.0.1:18080', egress: 'http://127.0.0.1:13128' },
        policy: 'hedged-attach', policyFile: join(ROOT, 'test/fixtures/hedged-attach.yaml'), token: { kernel: kTok, cdp: cTok } },
      baseline: { sandbox: { kernel: 'http://127.0.0.1:8888', chromium: 'http://127.0.0.1:9222', cdp: 'http://127.0.0.1:9223', workspace: '/mnt/okcomputer' }, policy: 'baseline', token: null },
    }
    const nm = realpathSync(join(ROOT, 'node_modules'))
    const only = 'kernel-key-read,cdp-file-read,browser-pivot,cdp-cookie-theft,kernel-status,playwright-browse'
    const reports: Record<string, any> = {}
    for (const [name, netns, vols] of [
      ['hedged', await cid('netns'), [`${project}_workspace-hedged:/mnt/okcomputer`, `${project}_kernel-socket:/run/hedge`]],
      ['baseline', await cid('sandbox-baseline'), [`${project}_workspace-baseline:/mnt/okcomputer`]],
    ] as const) {
      writeFileSync(join(dir, `${name}.ready`), `ready ${JSON.stringify(ready[name])}\n`)
      const r = await run('docker', ['run', '--rm', '--network', `container:${netns}`, '--user', '0', '--tmpfs', '/tmp:exec', '-w', ROOT,
        '-v', `${ROOT}:${ROOT}:ro`, ...(nm !== join(ROOT, 'node_modules') ? ['-v', `${nm}:${nm}:ro`] : []), '-v', `${dir}:/out`,
        ...vols.flatMap(v => ['-v', v]), '--entrypoint', 'node', SANDBOX_IMAGE,
        'bin/hedge.js', 'compare', '--attach', `/out/${name}.ready`, '--fixture-ports', '47611,47612', '--suites', 'attacks,workflows', '--only', only, '--out', `/out/${name}`], { timeoutMs: 900_000 })
      t.equal(r.code, 0, `compare --attach ${name}: ${r.stdout.slice(-2000)} ${r.stderr.slice(-2000)}`)
      reports[name] = JSON.parse(readFileSync(join(dir, name, 'report.json'), 'utf8'))
    }
    const hedgedName = 'attached-1-hedged-attach'
    const baseName = 'attached-1-baseline'
    t.ok(reports.hedged.attacks.length >= 4, 'attacks ran against the hedged stack')
    for (const a of reports.hedged.attacks) t.equal(a.results[hedgedName]?.harm, false, `hedged compose: ${String(a.id)} stopped`)
    for (const w of reports.hedged.workflows) t.equal(w.results[hedgedName]?.ok, true, `hedged compose: ${String(w.id)} works`)
    t.ok(reports.baseline.attacks.some((a: any) => a.results[baseName]?.harm === true), 'baseline compose: attacks do harm (the documented weakness)')
    for (const w of reports.baseline.workflows) t.equal(w.results[baseName]?.ok, true, `baseline compose: ${String(w.id)} works`)
  })

  t.test('SIGKILL then cleanup: down -v leaves nothing', async t => {
    const kill = await dc(['--profile', 'baseline', 'kill', '-s', 'SIGKILL'])
    t.equal(kill.code, 0, kill.stderr)
    const plain = await dc(['--profile', 'baseline', 'down', '-v'])
    t.comment(`plain down -v after SIGKILL: exit ${plain.code}${plain.code !== 0 ? ` (${plain.stderr.split('\n').find(l => /unlinkat|permitted/.test(l)) ?? 'failed'})` : ''}`)
    const clean = await run('bash', ['scripts/containers/cleanup.sh', project], { env })
    t.equal(clean.code, 0, `cleanup: ${clean.stderr}`)
    const label = `label=com.docker.compose.project=${project}`
    t.equal((await run('docker', ['ps', '-aq', '--filter', label])).stdout.trim(), '', 'no container left')
    t.equal((await run('docker', ['volume', 'ls', '-q', '--filter', label])).stdout.trim(), '', 'no volume left')
    t.equal((await run('docker', ['network', 'ls', '-q', '--filter', label])).stdout.trim(), '', 'no network left')
  })
}
