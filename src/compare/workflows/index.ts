// Legitimate agent and orchestrator workflows, in report order.
import type { Workflow } from '../types.ts'
import { KERNEL_WORKFLOWS } from './kernel.ts'
import { BROWSER_WORKFLOWS } from './browser.ts'
import { INPUT_WORKFLOWS } from './browser-input.ts'

export const WORKFLOWS: readonly Workflow[] = [...KERNEL_WORKFLOWS, ...BROWSER_WORKFLOWS, ...INPUT_WORKFLOWS]
