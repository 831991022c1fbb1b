// The live decisions feed: every decision judge() reports (and the allowed ones a front
// chooses to report) goes to a small in-memory ring and to whoever watches the admin
// port's /decisions view. Nothing here is persisted (the audit trail is the record).
export interface Decision {
  readonly time: string
  readonly front: string
  readonly principal?: string
  /** Route or CDP method (or host:port for egress); redacted like logs. */
  readonly what?: string
  readonly layer: string
  readonly rule: string
  readonly decision: 'allowed' | 'denied' | 'would-deny'
}

type Listener = (d: Decision) => void

export class DecisionBus {
  private readonly ring: Decision[] = []
  private readonly listeners = new Set<Listener>()
  constructor (private readonly size = 500) {}

  publish (d: Decision): void {
    this.ring.push(d)
    if (this.ring.length > this.size) this.ring.shift()
    for (const l of this.listeners) l(d)
  }

  recent (): readonly Decision[] { return this.ring }

  subscribe (l: Listener): () => void {
    this.listeners.add(l)
    return () => { this.listeners.delete(l) }
  }

  get watchers (): number { return this.listeners.size }
}

/** The process's bus (one gateway per process, as with the metrics registry). */
export const decisions = new DecisionBus()
