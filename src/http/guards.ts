// Moved to layers/: kept as re-exports until the kernel front moves to src/kernel.
export type { Verdict } from '../layers/verdict.ts'
export { headerCount } from '../layers/request.ts'
export { checkHost } from '../layers/host.ts'
export { checkOrigin, readOrigin } from '../layers/origin.ts'
export { applyVerdict } from '../layers/apply.ts'
