// Bearer-token authentication shared by the kernel and CDP fronts. The audience is the
// service: a CDP token on the kernel (or the reverse) is refused.
import type { IncomingMessage } from 'node:http'
import type { CompiledPolicy } from '../policy/compile.ts'
import type { Verifier, Principal } from '../auth/jwt.ts'
import { parseBearer } from '../auth/bearer.ts'
import { HedgeError } from '../errors/codes.ts'
import type { Logger } from '../logger.ts'
import { applyVerdict } from './apply.ts'

/** The verified principal; undefined when the layer is report-only and the token was bad. */
export async function authenticate (cp: CompiledPolicy, verifier: Verifier | null, req: IncomingMessage, audience: 'kernel' | 'cdp', log: Logger): Promise<Principal | undefined> {
  const b = parseBearer(req.headersDistinct.authorization)
  if (!b.ok) {
    applyVerdict(cp, { layer: 'auth', code: b.code, rule: 'auth.bearer', message: b.reason }, req, log)
    return undefined
  }
  if (verifier === null) throw new HedgeError('HEDGE_INTERNAL', 'no token verifier configured', 'auth.config')
  try {
    return await verifier.verify(b.token, audience)
  } catch (err) {
    const e = err instanceof HedgeError ? err : new HedgeError('HEDGE_AUTH_INVALID', undefined, 'auth.verify')
    applyVerdict(cp, { layer: 'auth', code: e.code, rule: e.rule ?? 'auth.verify', message: e.message }, req, log)
    return undefined
  }
}
