// The shape a stack runs in, chosen explicitly (`hedge up --topology`, a comparison
// deployment's `topology`) and otherwise defaulted from the policy's NAME — never from a
// layer switch: HEDGE_LAYER_EGRESS=off is an A/B toggle of one layer, and must not quietly
// re-open the sandbox's unauthenticated ports beside a gateway that enforces auth.
//
//   documented  the sandbox as commonly documented: kernel server on TCP (8888), the permissive
//               9223 forwarder, one identity, no browser hardening, no egress guard. `hedge up`
//               still puts a gateway in front (all layers off with the baseline policy); a
//               comparison deployment is the sandbox alone.
//   gateway     a gateway bolted onto an otherwise unchanged sandbox: no 9223 forwarder, but the
//               kernel server stays on loopback TCP (unauthenticated to anything on the machine,
//               page JavaScript included), one identity, no browser hardening, no egress guard.
//               A measured comparison shape (the single-layer ablation runs in it, so the egress
//               layer's part in stopping a browser pivot stays visible), never a default.
//   hedged      kernel server on a unix socket only the gateway opens, no forwarder, Chromium
//               through the egress guard (which runs even with the egress layer off: its mode
//               then passes everything, the browser stays behind it), separate identities for
//               the kernel and the browser, the hardened browser.
export const TOPOLOGIES = ['documented', 'gateway', 'hedged'] as const
export type Topology = typeof TOPOLOGIES[number]

export interface TopologyShape {
  /** Where the kernel server listens. */
  readonly kernel: 'tcp' | 'unix'
  /** The permissive 9223 forwarder in front of Chromium. */
  readonly forwarder: boolean
  /** Chromium through the egress guard (--proxy-server). */
  readonly egressGuard: boolean
  readonly identities: 'shared' | 'separate'
  readonly browserHardening: 'off' | 'hedged'
}

export const SHAPES: Readonly<Record<Topology, TopologyShape>> = Object.freeze({
  documented: { kernel: 'tcp', forwarder: true, egressGuard: false, identities: 'shared', browserHardening: 'off' },
  gateway: { kernel: 'tcp', forwarder: false, egressGuard: false, identities: 'shared', browserHardening: 'off' },
  hedged: { kernel: 'unix', forwarder: false, egressGuard: true, identities: 'separate', browserHardening: 'hedged' },
})

/** The topology when none is asked for: from the policy's name only (baseline → documented, anything else → hedged). */
export function defaultTopology (policyName: string): Topology {
  return policyName === 'baseline' ? 'documented' : 'hedged'
}

export function isTopology (s: unknown): s is Topology {
  return typeof s === 'string' && (TOPOLOGIES as readonly string[]).includes(s)
}
