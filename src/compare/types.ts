// The comparison's vocabulary. A deployment is one running stack (sandbox alone, or
// sandbox + gateway with a policy); attacks and workflows see only what the outside
// world sees (`endpoints`) plus the credentials a legitimate orchestrator holds, while
// oracles look behind the curtain (`internals`) to decide whether real harm happened.
import type { LayerMode, LayerName, Policy, Scope } from '../policy/schema.ts'
import type { Topology } from '../app/topology.ts'

export interface Endpoints {
  /** Kernel API as the network reaches it: the sandbox's 8888 (baseline) or the gateway's kernel front. */
  readonly kernel: string
  /** CDP discovery/WebSocket base as the network reaches it: the 9223 forwarder or the gateway's CDP front. */
  readonly cdp: string
}

export interface Internals {
  /** The kernel server itself (http://… or unix:/path): oracles only. */
  readonly kernel: string
  /** A TCP address of the kernel server on loopback, if it has one (what page JavaScript could reach). */
  readonly kernelTcp: string | null
  /** Chromium's own DevTools endpoint on loopback: oracles only. */
  readonly chromium: string
  readonly workspace: { readonly root: string, readonly upload: string, readonly output: string, readonly store: string }
  /** A folder outside the workspace the agent could write to (where escapes would land); default <root>/../outside. */
  readonly outside?: string
  /** The kernel server's HOME (IPython's profile and startup folder live under it), when known. */
  readonly kernelHome?: string
  /** Chromium's HOME (its default download folder is ~/Downloads), when known. */
  readonly chromiumHome?: string
  /** Put a file into upload/ the way the orchestrator does (the agent cannot write there); returns its path. */
  readonly stageUpload?: (name: string, data: string) => Promise<string>
}

export interface Deployment {
  readonly name: string
  /** Marked hardened: any attack getting through fails the run. */
  readonly hardened: boolean
  readonly policy: Readonly<Policy>
  readonly layers: Readonly<Record<LayerName, LayerMode>>
  /** The stack's shape (app/topology.ts), as it was started: never re-derived from a layer switch. */
  readonly topology: Topology
  readonly endpoints: Endpoints
  readonly internals: Internals
  /** Mint a token the way the orchestrator would (null when auth is off: none needed). */
  token: (audience: 'kernel' | 'cdp', scopes: Scope[], ttlSeconds?: number) => Promise<string | null>
  stop: () => Promise<void>
}

/** Shared fixtures: loopback web servers standing in for the web and for attacker sites. */
export interface Fixtures {
  /** An ordinary site the agent may browse (allowed by test policies). */
  readonly site: string
  /** An attacker's site (another origin on loopback). */
  readonly evil: string
  /** A host name that resolves to 127.0.0.1 in the egress guard's resolver (DNS-rebinding stand-in). */
  readonly rebindName: string
  /** Serve `html` once on the attacker's origin; returns its URL. */
  evilPage: (html: string) => string
  /** Serve `html` once on the ordinary site's origin; returns its URL. */
  sitePage: (html: string) => string
  /** Bytes a download link on the ordinary site returns: `${site}/download`. */
  readonly downloadBody: string
  /** Serve `r` (any body and headers) on an origin, at a fresh path ending in `name`; returns its URL. */
  respond: (where: 'site' | 'evil', r: { body: string, headers?: Record<string, string>, status?: number }, name?: string) => string
}

export interface Oracle {
  /** GET/POST the kernel server directly (never through the gateway). */
  kernel: (method: 'GET' | 'POST', path: string, body?: unknown) => Promise<{ status: number, json: any }>
  /** The kernel's current HMAC key (what an attacker must not learn). */
  kernelKey: () => Promise<string>
  /** Set a marker in the kernel's namespace; true while it survives (a reset clears it). */
  plantMarker: () => Promise<string>
  markerAlive: (name: string) => Promise<boolean>
  /** A fresh canary path outside output/ and one inside (for code-execution and path-escape oracles). */
  canary: (where: 'workspace' | 'outside' | 'output') => string
  exists: (path: string) => Promise<boolean>
  /** Chromium's browser process identity; changes when it crashed/closed and was restarted. */
  browserId: () => Promise<string | null>
}

export interface AttackContext {
  readonly d: Deployment
  readonly oracle: Oracle
  readonly fixtures: Fixtures
  /** Progress for long steps. */
  log: (msg: string) => void
}

export interface AttackOutcome {
  /** Did real harm happen (judged by the oracle, not by a status code)? */
  readonly harm: boolean
  /** One line: what the oracle saw, or what stopped the attack (status, error code, rule). */
  readonly evidence: string
}

export type Attacker = 'network' | 'web-page' | 'rogue-agent' | 'page-js'

export interface Attack {
  readonly id: string
  readonly category: 'kernel-control' | 'kernel-key' | 'cross-origin' | 'dns-rebinding' | 'path-tricks' | 'jwt' | 'cdp' | 'cdp-evasion' | 'browser-pivot' | 'paths' | 'side-effects' | 'exhaustion'
  readonly description: string
  /** Layers expected to stop it (documentation and the ablation check). */
  readonly stoppedBy: readonly LayerName[]
  readonly attacker: Attacker
  /** It abuses machinery only the gateway has (its parser, tickets, quotas, relay): the baseline has nothing to harm. */
  readonly gatewayOnly?: true
  run: (ctx: AttackContext) => Promise<AttackOutcome>
}

export interface WorkflowContext {
  readonly d: Deployment
  readonly oracle: Oracle
  readonly fixtures: Fixtures
  log: (msg: string) => void
}

export interface Workflow {
  readonly id: string
  readonly description: string
  readonly client: 'kernel' | 'playwright' | 'puppeteer' | 'cdp'
  /** Does this deployment's policy mean to allow it? A failure then breaks the run. */
  allowedBy: (d: Deployment) => boolean
  /** Resolves on success; throws with the reason on failure. Bounded by a timeout. */
  run: (ctx: WorkflowContext) => Promise<void>
}
