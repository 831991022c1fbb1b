// Legitimate agent and orchestrator workflows, in report order.
import type { Workflow } from '../types.ts'

export const WORKFLOWS: readonly Workflow[] = []
