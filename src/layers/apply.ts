// For request/response fronts: run a verdict through judge() with the request's log fields;
// a 'deny' throws the HedgeError that the error renderer (errors/render.ts) answers with.
import type { IncomingMessage } from 'node:http'
import type { CompiledPolicy } from '../policy/compile.ts'
import { redactUrl, type Logger } from '../logger.ts'
import { judgeOrThrow, type Front, type Outcome, type Verdict } from './verdict.ts'

export function applyVerdict (cp: CompiledPolicy, v: Verdict | null, req: IncomingMessage, log: Logger, front: Front = 'kernel'): Outcome {
  if (v === null) return 'pass'
  return judgeOrThrow(cp.mode(v.layer), v, { front, log, fields: { method: req.method, url: redactUrl(req.url), remote: req.socket.remoteAddress, policy: cp.name } })
}
