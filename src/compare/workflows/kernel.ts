// Kernel workflows: what an orchestrator does with the kernel API every day, through
// `endpoints.kernel` with a token carrying the scope the policy's route asks for. Each one
// is bounded in time and throws with the status and error code when it fails.
import type { Deployment, Workflow, WorkflowContext } from '../types.ts'
import type { Scope } from '../../policy/schema.ts'
import { setTimeout as delay } from 'node:timers/promises'
import { waitUntil } from '../../util/wait.ts'
import { authHeaders, describeAnswer, httpCall, type HttpAnswer } from '../cdp-client.ts'

type Method = 'GET' | 'POST'

/** Does the deployment's route table mean to let `method path` through? */
export function routeAllowed (d: Deployment, method: Method, path: string): boolean {
  if (d.layers.routes !== 'enforce') return true
  const rule = d.policy.kernel.routes.find(r => r.method === method && r.path === path)
  return rule !== undefined && rule.action !== 'deny'
}

/** The scope the policy's route asks for (what the orchestrator would put in the token). */
function scopeFor (d: Deployment, method: Method, path: string, fallback: Scope): Scope {
  const s = d.policy.kernel.routes.find(r => r.method === method && r.path === path)?.scope
  return s === undefined || s === 'public' ? fallback : s
}

/** A kernel API client holding one token with the scopes of the routes it will call. */
async function kernelClient (
  ctx: WorkflowContext, routes: ReadonlyArray<[Method, string, Scope]>,
): Promise<(method: Method, path: string, body?: unknown, timeoutMs?: number) => Promise<HttpAnswer>> {
  const scopes = [...new Set(routes.map(([m, p, s]) => scopeFor(ctx.d, m, p, s)))]
  const token = await ctx.d.token('kernel', scopes, 600)
  return async (method, path, body, timeoutMs = 60_000) => await httpCall(`${ctx.d.endpoints.kernel}${path}`, {
    method, headers: authHeaders(token), ...(body !== undefined ? { body } : {}), timeoutMs,
  })
}

function expectOk (what: string, a: HttpAnswer): any {
  if (a.status !== 200) throw new Error(`${what} → ${describeAnswer(a)}`)
  return a.json
}

const STATUS: [Method, string, Scope] = ['GET', '/kernel/status', 'kernel:read']
const EXECUTE: [Method, string, Scope] = ['POST', '/kernel/execute', 'kernel:execute']
const INTERRUPT: [Method, string, Scope] = ['POST', '/kernel/interrupt', 'kernel:control']
const RESET: [Method, string, Scope] = ['POST', '/kernel/reset', 'kernel:control']

const allows = (...routes: Array<[Method, string, Scope]>) => (d: Deployment): boolean => routes.every(([m, p]) => routeAllowed(d, m, p))

export const KERNEL_WORKFLOWS: Workflow[] = [
  {
    id: 'kernel-status',
    description: 'GET /kernel/status: the kernel is alive.',
    client: 'kernel',
    allowedBy: allows(STATUS),
    async run (ctx) {
      const call = await kernelClient(ctx, [STATUS])
      const st = expectOk('GET /kernel/status', await call('GET', '/kernel/status', undefined, 15_000))
      if (st?.alive !== true) throw new Error(`GET /kernel/status: kernel not alive (${JSON.stringify(st).slice(0, 120)})`)
    },
  },
  {
    id: 'kernel-execute',
    description: 'POST /kernel/execute print(6*7): the output says 42.',
    client: 'kernel',
    allowedBy: allows(EXECUTE),
    async run (ctx) {
      const call = await kernelClient(ctx, [EXECUTE])
      const r = expectOk('POST /kernel/execute', await call('POST', '/kernel/execute', { code: 'print(6*7)' }))
      if (r?.success !== true || !String(r.output ?? '').includes('42')) throw new Error(`POST /kernel/execute: unexpected answer ${JSON.stringify(r).slice(0, 160)}`)
    },
  },
  {
    id: 'kernel-interrupt',
    description: 'Start time.sleep(60), interrupt it: the execute returns KeyboardInterrupt within seconds.',
    client: 'kernel',
    allowedBy: allows(EXECUTE, INTERRUPT, STATUS),
    async run (ctx) {
      const call = await kernelClient(ctx, [EXECUTE, INTERRUPT, STATUS])
      const running = call('POST', '/kernel/execute', { code: 'import time\ntime.sleep(60)' }, 90_000)
      running.catch(() => {}) // observed below; never an unhandled rejection
      // the sleep is running once the kernel says so (or the execute already failed)
      let early: HttpAnswer | undefined
      void running.then(a => { early = a }, () => {})
      await waitUntil('the execute to be running', async () => {
        if (early !== undefined) return true
        return expectOk('GET /kernel/status', await call('GET', '/kernel/status', undefined, 5000))?.executing === true
      }, 20_000, 100)
      if (early !== undefined) throw new Error(`POST /kernel/execute → ${describeAnswer(early)}`)
      // The server says "executing" as soon as it sent the request: a SIGINT that reaches the
      // kernel before the code started is swallowed, so interrupt again until the execute returns.
      const interruptedAt = Date.now()
      let result: HttpAnswer | undefined
      let interrupts = 0
      while (result === undefined && Date.now() - interruptedAt < 10_000) {
        expectOk('POST /kernel/interrupt', await call('POST', '/kernel/interrupt', undefined, 10_000))
        interrupts++
        result = await Promise.race([running, delay(2000).then(() => undefined)])
      }
      if (result === undefined) throw new Error(`the execute did not return within 10 s of the first interrupt (${interrupts} sent)`)
      const r = expectOk('POST /kernel/execute', result)
      const took = Date.now() - interruptedAt
      // Normally the answer carries KeyboardInterrupt. A SIGINT that lands while ipykernel is
      // still dispatching the request aborts it before user code runs, and the documented
      // server then answers success with no output: the 60 s run was stopped all the same.
      const interrupted = String(r?.error ?? '').includes('KeyboardInterrupt')
      const abortedBeforeRunning = r?.success === true && String(r?.output ?? '') === ''
      if (!interrupted && !abortedBeforeRunning) throw new Error(`interrupted execute: neither KeyboardInterrupt nor aborted (${JSON.stringify(r).slice(0, 160)})`)
      if (took > 12_000) throw new Error(`interrupted execute took ${took} ms to return`)
    },
  },
  {
    id: 'kernel-reset',
    description: 'POST /kernel/reset, then the kernel is alive again.',
    client: 'kernel',
    allowedBy: allows(RESET, STATUS),
    async run (ctx) {
      const call = await kernelClient(ctx, [RESET, STATUS])
      const r = expectOk('POST /kernel/reset', await call('POST', '/kernel/reset', undefined, 60_000))
      if (r?.success !== true) throw new Error(`POST /kernel/reset: ${JSON.stringify(r).slice(0, 160)}`)
      await waitUntil('the kernel alive after the reset', async () => {
        const st = expectOk('GET /kernel/status', await call('GET', '/kernel/status', undefined, 5000))
        return st?.alive === true
      }, 30_000, 200)
    },
  },
]
