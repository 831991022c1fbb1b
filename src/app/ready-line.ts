// The `ready {json}` line `hedge up` prints once every part answers (docs/ready-line.md):
// its JSON Schema (TypeBox), the typed function that builds it, and the validating reader
// for what consumes it (hedge compare --attach, tests). Stability: fields are only ever
// added; readers ignore fields they do not know; a line without `topology` (older hedge)
// reads as its policy name's default topology, one without `token` (hedge sandbox's) as token null.
import { Type, type Static } from '@sinclair/typebox'
import { Ajv, type ErrorObject } from 'ajv'
import { defaultTopology, TOPOLOGIES, type Topology } from './topology.ts'

const d = (description: string): { description: string } => ({ description })
const HttpUrl = (description: string): ReturnType<typeof Type.String> => Type.String({ pattern: '^https?://[^\\s/]+$', ...d(description) })

export const ReadyLineSchema = Type.Object({
  topology: Type.Optional(Type.Union(TOPOLOGIES.map(x => Type.Literal(x)), d('The stack\'s shape: `documented`, `gateway` or `hedged` ' +
    '(docs/ready-line.md). Always printed; absent only in lines from older versions.'))),
  sandbox: Type.Object({
    kernel: Type.String({
      pattern: '^(http://[^\\s/]+|unix:/\\S+)$', ...d('The kernel server itself: `http://HOST:PORT`, or `unix:/path` (hedged).'),
    }),
    chromium: HttpUrl('Chromium\'s own DevTools endpoint, on loopback.'),
    cdp: Type.Union([HttpUrl('The permissive 9223 forwarder (documented topology).'), Type.Null()],
      d('The 9223 forwarder, or null without one.')),
    workspace: Type.String({ minLength: 1, ...d('The workspace root.') }),
  }, d('The sandbox\'s internals: for oracles and operators on the same machine, not for agents.')),
  gateway: Type.Optional(Type.Object({
    kernel: HttpUrl('The gateway\'s kernel front.'),
    cdp: HttpUrl('The gateway\'s CDP front.'),
    admin: HttpUrl('The admin listener: /healthz, /readyz, /metrics.'),
    egress: Type.Optional(HttpUrl('The egress guard in front of Chromium (hedged topology).')),
    audit: Type.Optional(Type.String({ pattern: '^/', ...d('The current audit trail file (docs/audit.md); absent when no trail is written.') })),
  }, d('The gateway\'s listeners (absent when only the sandbox runs).'))),
  policy: Type.Optional(Type.String({ minLength: 1, ...d('The policy\'s name.') })),
  policyFile: Type.Optional(Type.String({ minLength: 1, ...d('The policy file it was loaded from.') })),
  token: Type.Optional(Type.Union([Type.Object({
    kernel: Type.String({ minLength: 1, ...d('A development token, audience kernel, every kernel scope.') }),
    cdp: Type.String({ minLength: 1, ...d('A development token, audience cdp, every cdp scope.') }),
  }), Type.Null()], d('Development tokens (null when the auth layer is off; absent in `hedge sandbox`\'s line: none).'))),
}, { title: 'ReadyLine', ...d('What `hedge up` prints after "ready ".') })

export type ReadyLine = Static<typeof ReadyLineSchema>
/** A ready line as read: topology and token always present. */
export type ReadReadyLine = ReadyLine & { topology: Topology, token: { kernel: string, cdp: string } | null }

export interface ReadyLineParts {
  topology: Topology
  sandbox: { kernel: string, chromium: string, cdp: string | null, workspace: string }
  gateway: { kernel: string, cdp?: string, admin: string, egress?: string, audit?: string } | null
  policy: string
  policyFile: string
  token: { kernel: string, cdp: string } | null
}

const ajv = new Ajv({ allErrors: true, strict: false })
const validate = ajv.compile<ReadyLine>(ReadyLineSchema)

function errorLine (e: ErrorObject): string {
  const at = e.instancePath === '' ? '/' : e.instancePath
  if (e.keyword === 'required') return `${e.instancePath}/${String((e.params as { missingProperty: string }).missingProperty)}: is required`
  return `${at}: ${e.message ?? 'invalid'}`
}

export class ReadyLineError extends Error { override name = 'ReadyLineError' }

/** The line `hedge up` prints (without the trailing newline); what it builds is checked against the schema too. */
export function readyLine (p: ReadyLineParts): string {
  const r = {
    topology: p.topology,
    sandbox: { kernel: p.sandbox.kernel, chromium: p.sandbox.chromium, cdp: p.sandbox.cdp, workspace: p.sandbox.workspace },
    ...(p.gateway !== null
      ? {
          gateway: {
            kernel: p.gateway.kernel,
            ...(p.gateway.cdp !== undefined ? { cdp: p.gateway.cdp } : {}), // absent: the schema refuses the line
            admin: p.gateway.admin,
            ...(p.gateway.egress !== undefined ? { egress: p.gateway.egress } : {}),
            ...(p.gateway.audit !== undefined ? { audit: p.gateway.audit } : {}),
          },
        }
      : {}),
    policy: p.policy,
    policyFile: p.policyFile,
    token: p.token,
  }
  check(r)
  return `ready ${JSON.stringify(r)}`
}

function check (r: unknown): asserts r is ReadyLine {
  if (!validate(r)) {
    const errs = (validate.errors ?? []).filter(e => e.keyword !== 'anyOf')
    const lines = [...new Set((errs.length > 0 ? errs : validate.errors ?? []).map(errorLine))]
    throw new ReadyLineError(`not a valid ready line: ${lines.join('; ')}`)
  }
}

/**
 * Read a ready line: the first line starting "ready " in `text` (or `text` itself as JSON),
 * validated; a missing `topology` is filled in from the policy name. Throws ReadyLineError.
 */
export function parseReadyLine (text: string): ReadReadyLine {
  const line = text.split('\n').find(l => l.startsWith('ready ')) ?? text
  let json: unknown
  try { json = JSON.parse(line.replace(/^ready /, '')) } catch {
    throw new ReadyLineError('no "ready {json}" line (its JSON does not parse)')
  }
  check(json)
  return { ...json, topology: json.topology ?? defaultTopology(json.policy ?? 'baseline'), token: json.token ?? null }
}
