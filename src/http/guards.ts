// Kept for the kernel front while it moves to judge(): a deny throws the HedgeError.
import type { IncomingMessage } from 'node:http'
import type { CompiledPolicy } from '../policy/compile.ts'
import { redactUrl, type Logger } from '../logger.ts'
import { judgeOrThrow, type Verdict } from '../layers/verdict.ts'

export type { Verdict } from '../layers/verdict.ts'
export { headerCount } from '../layers/request.ts'
export { checkHost } from '../layers/host.ts'
export { checkOrigin, readOrigin } from '../layers/origin.ts'

export function applyVerdict (cp: CompiledPolicy, v: Verdict | null, req: IncomingMessage, log: Logger): void {
  if (v === null) return
  judgeOrThrow(cp.mode(v.layer), v, { front: 'kernel', log, fields: { method: req.method, url: redactUrl(req.url), remote: req.socket.remoteAddress, policy: cp.name } })
}
