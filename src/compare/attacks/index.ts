// The attack catalogue: every attack the comparison runs, in report order.
import type { Attack } from '../types.ts'
import { KERNEL_ATTACKS } from './kernel.ts'
import { WEB_ATTACKS } from './web.ts'
import { JWT_ATTACKS } from './jwt.ts'
import { PIVOT_ATTACKS } from './pivot.ts'
import { CDP_ATTACKS } from './cdp.ts'
import { CDP_EVASION_ATTACKS, CDP_GAP_ATTACKS } from './cdp-evasion.ts'
import { SIDE_EFFECT_ATTACKS } from './side-effects.ts'
import { EXHAUSTION_ATTACKS } from './exhaustion.ts'
import { PERSISTENCE_ATTACKS } from './persistence.ts'
import { closeVictimBrowser } from './victim-browser.ts'

export const ATTACKS: readonly Attack[] = [
  ...KERNEL_ATTACKS, ...WEB_ATTACKS, ...JWT_ATTACKS, ...PIVOT_ATTACKS, ...CDP_ATTACKS, ...CDP_EVASION_ATTACKS,
  ...CDP_GAP_ATTACKS, ...SIDE_EFFECT_ATTACKS, ...PERSISTENCE_ATTACKS, ...EXHAUSTION_ATTACKS,
]

/** Shared resources attacks start lazily (the victim browser), stopped by the runner at the end. */
export const attackCleanups: Array<() => Promise<void>> = [closeVictimBrowser]
