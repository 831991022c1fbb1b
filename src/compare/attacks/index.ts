// The attack catalogue: every attack the comparison runs, in report order.
import type { Attack } from '../types.ts'

export const ATTACKS: readonly Attack[] = []
