// The policy schema: the single source of truth for the policy's TypeScript types,
// its validation (ajv, at load time), its defaults, and the documentation of every
// knob (`hedge policy docs` walks this schema; the README's knob table is its output).
import { Type, type Static, type TSchema } from '@sinclair/typebox'

const d = (description: string): { description: string } => ({ description })

export const LAYERS = ['host', 'origin', 'auth', 'routes', 'body', 'cdp-filter', 'egress'] as const
export type LayerName = typeof LAYERS[number]
export const MODES = ['enforce', 'report-only', 'off'] as const
export type LayerMode = typeof MODES[number]

/** Scopes a token can carry. `public` on a route means no token is needed. */
export const SCOPES = ['public', 'kernel:read', 'kernel:control', 'kernel:execute', 'kernel:admin', 'cdp:read', 'cdp:control'] as const
export type Scope = typeof SCOPES[number]

const Mode = Type.Union(MODES.map(m => Type.Literal(m)), { default: 'off' })
const ScopeT = Type.Union(SCOPES.map(s => Type.Literal(s)))
const HttpMethod = Type.Union(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'].map(m => Type.Literal(m)))

const Layers = Type.Object({
  host: Type.Optional({ ...Mode, ...d('Host allowlist (DNS-rebinding defence): unexpected Host headers are refused before anything else.') }),
  origin: Type.Optional({ ...Mode, ...d('Origin allowlist: disallowed or `null` Origins get 403; the gateway answers preflights itself and replaces upstream CORS headers.') }),
  auth: Type.Optional({ ...Mode, ...d('Bearer-token authentication (JWT in the Authorization header; one-time tickets for CDP URLs).') }),
  routes: Type.Optional({ ...Mode, ...d('Default-deny route table for the kernel API: method + canonical path + the scope it needs.') }),
  body: Type.Optional({ ...Mode, ...d('JSON-only request bodies (415 otherwise), strict parse, size limit; the re-serialised body is forwarded.') }),
  'cdp-filter': Type.Optional({ ...Mode, ...d('CDP method, session and parameter filtering on the WebSocket relay and discovery endpoints.') }),
  egress: Type.Optional({ ...Mode, ...d('Browser egress guard: Chromium goes through a forward proxy that refuses loopback/private/metadata destinations.') }),
}, {
  additionalProperties: false, default: {},
  ...d('Each protection layer: `enforce` (deny), `report-only` (decide and log "would deny", but forward) or `off`. Env `HEDGE_LAYER_<NAME>` (e.g. `HEDGE_LAYER_CDP_FILTER=off`) overrides.'),
})

const Auth = Type.Object({
  issuer: Type.String({ minLength: 1, default: 'hedge', ...d('Required `iss` claim.') }),
  audiences: Type.Object({
    kernel: Type.String({ minLength: 1, default: 'hedge-kernel', ...d('`aud` a kernel-API token must carry.') }),
    cdp: Type.String({ minLength: 1, default: 'hedge-cdp', ...d('`aud` a CDP token must carry (kernel and CDP tokens are not interchangeable).') }),
  }, { additionalProperties: false, default: {} }),
  algorithms: Type.Array(Type.Union(['HS256', 'RS256', 'ES256', 'EdDSA'].map(a => Type.Literal(a))), {
    minItems: 1, uniqueItems: true, default: ['HS256'],
    ...d('Pinned algorithms; nothing else is accepted (never `none`). HS256 is exclusive with the asymmetric ones, to rule out algorithm confusion.'),
  }),
  secretEnv: Type.String({ minLength: 1, default: 'HEDGE_JWT_SECRET', ...d('Environment variable holding the HS256 secret (at least 32 bytes).') }),
  secretFile: Type.Optional(Type.String({ minLength: 1, ...d('File holding the HS256 secret (takes precedence over `secretEnv`).') })),
  jwksFile: Type.Optional(Type.String({ minLength: 1, ...d('JWKS file with the public keys for RS256/ES256/EdDSA.') })),
  jwksUrl: Type.Optional(Type.String({ minLength: 1, ...d('JWKS URL (fetched and cached, with a cooldown between refetches).') })),
  jwksCooldownSeconds: Type.Integer({ minimum: 1, default: 30, ...d('Minimum time between two JWKS refetches (unknown `kid`s do not trigger more).') }),
  clockToleranceSeconds: Type.Integer({ minimum: 0, maximum: 300, default: 5, ...d('Allowed clock skew for `exp` and `nbf`.') }),
  cacheSize: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 10_000, ...d('Verified tokens kept (by whole token, until expiry) so the repeat case skips verification; 0 disables.') }),
  ticketTtlSeconds: Type.Integer({ minimum: 1, maximum: 300, default: 30, ...d('Lifetime of single-use CDP tickets placed in rewritten WebSocket URLs.') }),
  // --- ticket quotas (issue 9, item 9)
  ticketsPerPrincipal: Type.Integer({ minimum: 1, maximum: 10_000, default: 64, ...d('Live CDP tickets one token may hold; issuing more evicts only its own oldest.') }),
  maxTickets: Type.Integer({
    minimum: 1, maximum: 1_000_000, default: 10_000,
    ...d('Live CDP tickets in all; when full of live tickets, discovery answers 503 HEDGE_TICKETS_EXHAUSTED rather than evicting another client\'s.'),
  }),
  // --- end ticket quotas
}, { additionalProperties: false, default: {}, ...d('Token verification.') })

const Hosts = Type.Object({
  allow: Type.Array(Type.String({ minLength: 1 }), { default: ['127.0.0.1', 'localhost', '[::1]'], ...d('Allowed Host header values: `name` (any port) or `name:port`. Case-insensitive, exact.') }),
  trustedProxies: Type.Array(Type.String({ minLength: 1 }), { default: [], ...d('Peer addresses whose `X-Forwarded-Host`/`-Proto` are believed; from anyone else those headers are ignored.') }),
}, { additionalProperties: false, default: {} })

const Origins = Type.Object({
  allow: Type.Array(Type.String({ minLength: 1 }), { default: [], ...d('Allowed browser origins, exact `scheme://host[:port]`. A missing Origin (non-browser client) passes; `null` never does.') }),
  allowMissing: Type.Boolean({ default: true, ...d('Let requests without an Origin header through this layer (tools, SDKs, automation clients).') }),
  maxAgeSeconds: Type.Integer({ minimum: 0, maximum: 86400, default: 600, ...d('`Access-Control-Max-Age` on preflight answers.') }),
}, { additionalProperties: false, default: {} })

export const RouteRule = Type.Object({
  method: HttpMethod,
  path: Type.String({ pattern: '^/', ...d('Exact canonical path.') }),
  action: Type.Union([Type.Literal('allow'), Type.Literal('deny'), Type.Literal('redact')], {
    default: 'allow',
    ...d('`redact` forwards and blanks the kernel key (fields named `key`) and nulls `connection_file` in the JSON answer, with copies of either inside other strings.'),
  }),
  scope: Type.Optional({ ...ScopeT, ...d('Scope the token must carry; `public` needs no token.') }),
  body: Type.Optional(Type.Boolean({ ...d('Route takes a JSON body (body layer applies).') })),
}, { additionalProperties: false })
export type RouteRule = Static<typeof RouteRule>

const Kernel = Type.Object({
  routes: Type.Array(RouteRule, { default: [], ...d('Default-deny route table: a request matching no rule gets 404 HEDGE_ROUTE_UNKNOWN when the routes layer enforces.') }),
  maxBodyBytes: Type.Integer({ minimum: 1, maximum: 64 * 1024 * 1024, default: 1024 * 1024, ...d('Largest request body accepted.') }),
  upstreamTimeoutMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 330_000, ...d('Time allowed for the kernel server to answer (an execute may run long).') }),
}, { additionalProperties: false, default: {} })

const Cdp = Type.Object({
  discovery: Type.Object({
    version: Type.Boolean({ default: true }),
    list: Type.Boolean({ default: true }),
    protocol: Type.Boolean({ default: true }),
    new: Type.Boolean({ default: true }),
    activate: Type.Boolean({ default: true }),
    close: Type.Boolean({ default: true }),
  }, { additionalProperties: false, default: {}, ...d('Which `/json/*` discovery endpoints are served.') }),
  methods: Type.Object({
    default: Type.Union([Type.Literal('allow'), Type.Literal('deny')], { default: 'deny', ...d('Decision for a method no rule names.') }),
    allow: Type.Array(Type.String({ pattern: '^[A-Za-z]+\\.(\\*|[A-Za-z]+)$' }), { default: [], ...d('Exact `Domain.method` names or `Domain.*` globs.') }),
    deny: Type.Array(Type.String({ pattern: '^[A-Za-z]+\\.(\\*|[A-Za-z]+)$' }), { default: [], ...d('Checked before `allow`.') }),
    browserSessionDeny: Type.Array(Type.String({ pattern: '^[A-Za-z]+\\.(\\*|[A-Za-z]+)$' }), { default: [], ...d('Denied on the browser-level session only (no sessionId).') }),
  }, { additionalProperties: false, default: {} }),
  urls: Type.Object({
    schemes: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9+.-]*$' }), { default: ['http', 'https'], ...d('Schemes allowed for navigation and new targets.') }),
    allowAboutBlank: Type.Boolean({ default: true }),
    denyAddressClasses: Type.Array(Type.String(), {
      default: ['loopback', 'private', 'link-local', 'cgnat', 'multicast', 'unspecified', 'metadata', 'reserved', 'broadcast', 'documentation'],
      ...d('Address classes refused as URL hosts (IP literals and localhost names; DNS names are the egress guard\'s job).'),
    }),
    allowHosts: Type.Array(Type.String(), { default: [], ...d('`host`, `host:port` or `*.suffix` that override the denies (e.g. a test fixture on `127.0.0.1:PORT`).') }),
    denyHosts: Type.Array(Type.String(), { default: [] }),
  }, { additionalProperties: false, default: {}, ...d('URL rules for Page.navigate, Target.createTarget, navigateToHistoryEntry, Fetch.continueRequest and /json/new.') }),
  targets: Type.Object({
    types: Type.Array(Type.String({ minLength: 1 }), {
      default: ['page', 'tab', 'iframe', 'worker', 'shared_worker', 'service_worker'],
      ...d('Target types a client may see, attach to, or open a page socket to (never `browser_ui` or `other` by default; ' +
        '`tab` is the wrapper Puppeteer attaches through, judged by the URL of its page).'),
    }),
    schemes: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9+.-]*$' }), {
      default: ['http', 'https', 'about', 'blob', 'data'],
      ...d('URL schemes of targets a client may reach; ' +
        '`devtools`, `chrome`, `chrome-untrusted`, `chrome-search`, `chrome-extension`, ' +
        '`file` and `view-source` are refused whatever this says (a load error).'),
    }),
  }, {
    additionalProperties: false, default: {},
    ...d('Which targets exist for a client: sessions, page sockets, discovery entries and tickets only for these; a target that becomes forbidden loses its sessions.'),
  }),
  tenancy: Type.Union([Type.Literal('isolated'), Type.Literal('shared')], {
    default: 'isolated',
    ...d('`isolated`: each browser-endpoint connection gets a disposable browser context of its own (cookies, storage, ' +
      'service workers and downloads die with it) and sees only its own targets; commands without a `browserContextId` act on it. ' +
      '`shared`: all clients share the default context (Playwright\'s `contexts()[0]` is then the profile\'s, and state persists between clients).'),
  }),
  input: Type.Union([Type.Literal('filter'), Type.Literal('allow')], {
    default: 'filter',
    ...d('`filter`: `Input.dispatchKeyEvent` may not press browser accelerators (Ctrl/Alt/Meta combinations beyond editing, F-keys, ' +
      'browser keys): they open DevTools, chrome:// pages, tabs and file dialogs.'),
  }),
  connectScope: Type.Union([Type.Literal('cdp:read'), Type.Literal('cdp:control')], {
    default: 'cdp:control',
    ...d('Scope a token needs to open a DevTools WebSocket (what it may then do is the method filter\'s decision).'),
  }),
  initScripts: Type.Union([Type.Literal('allow'), Type.Literal('isolated-only'), Type.Literal('deny')], {
    default: 'isolated-only',
    ...d('`Page.addScriptToEvaluateOnNewDocument`: `isolated-only` refuses main-world scripts injected into every future document ' +
      '(they can hook any site\'s JavaScript); automation\'s isolated utility worlds still work.'),
  }),
  redactCookies: Type.Boolean({
    default: true,
    ...d('Strip cookies (Cookie/Set-Cookie headers, raw header text, associated/blocked cookie lists, raw cookie lines) ' +
      'from Network, Fetch and Audits events on their way to the client: ' +
      'httpOnly session cookies otherwise leak through events even with the cookie-reading methods denied.'),
  }),
  downloads: Type.Union([Type.Literal('rewrite'), Type.Literal('refuse'), Type.Literal('allow')], {
    default: 'rewrite',
    ...d('Download paths outside `output/`: rewrite them into it, refuse the command, or allow (baseline).'),
  }),
  maxMessageBytes: Type.Integer({ minimum: 1024, maximum: 256 * 1024 * 1024, default: 16 * 1024 * 1024, ...d('Largest client→browser frame.') }),
  maxMessagesPerSecond: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 2000, ...d('Per-connection rate of client→browser frames.') }),
  maxConnectionsPerPrincipal: Type.Integer({
    minimum: 1, maximum: 10_000, default: 16,
    ...d('Open DevTools connections per token subject (all its tokens together), or per client address without auth.'),
  }),
  maxPagesPerConnection: Type.Integer({
    minimum: 1, maximum: 10_000, default: 64,
    ...d('Pages a browser connection may hold open in its own contexts (tenancy isolated); `Target.createTarget` beyond it is refused. Each page costs the shared browser memory.'),
  }),
  maxConnectionsPerToken: Type.Integer({
    minimum: 1, maximum: 10_000, default: 8,
    ...d('Open DevTools connections per token (its `jti`): one leaked or greedy token cannot take every slot of its subject.'),
  }),
  maxBytesPerSecond: Type.Integer({
    minimum: 1024, maximum: 1024 * 1024 * 1024, default: 32 * 1024 * 1024,
    ...d('Client→browser bytes per second per connection, charged before parsing; a client over it is paused (backpressure), not refused.'),
  }),
  idleTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 900 }),
}, { additionalProperties: false, default: {} })

const Egress = Type.Object({
  denyAddressClasses: Type.Array(Type.String(), {
    default: ['loopback', 'private', 'link-local', 'cgnat', 'multicast', 'unspecified', 'metadata', 'reserved', 'broadcast', 'documentation'],
    ...d('Destination classes refused after DNS resolution.'),
  }),
  allow: Type.Array(Type.String(), { default: [], ...d('`host:port` entries opened explicitly (exact), checked before the address classes.') }),
  denyHosts: Type.Array(Type.String(), { default: [], ...d('`host` or `*.suffix` refused by name.') }),
  ports: Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { default: [80, 443], ...d('Destination ports allowed (besides explicit `allow` entries).') }),
  tunnelIdleTimeoutMs: Type.Integer({
    minimum: 1000, maximum: 86_400_000, default: 300_000,
    ...d('A CONNECT tunnel (HTTPS, WebSocket) with no traffic either way for this long is closed.'),
  }), // issue 9, item 8
}, { additionalProperties: false, default: {} })

// --- listener bounds (issue 9, item 8): src/net/listener-limits.ts applies these to every listener
const ListenConnections = Type.Object({
  headersTimeoutMs: Type.Integer({
    minimum: 100, maximum: 300_000, default: 10_000,
    ...d('A connection must send complete request headers (and finish its TLS handshake) within this time of being accepted, or it is closed: silent sockets and slowloris headers.'),
  }),
  requestTimeoutMs: Type.Integer({
    minimum: 100, maximum: 3_600_000, default: 60_000,
    ...d('A request, headers and body, must be received within this time (slow bodies). At least `headersTimeoutMs`.'),
  }),
  keepAliveTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 5_000, ...d('An idle keep-alive connection is closed after this time.') }),
  maxConnections: Type.Integer({ minimum: 1, maximum: 100_000, default: 1024, ...d('Connections open at once on each listener (kernel, CDP, admin, egress); more are closed at once.') }),
  maxConnectionsPerSource: Type.Integer({
    minimum: 1, maximum: 100_000, default: 256,
    ...d('Connections open at once from one source address on each listener; more are closed at once. Behind a proxy or NAT every client shares one address.'),
  }),
  nofile: Type.Integer({
    minimum: 0, maximum: 1_048_576, default: 65_536,
    ...d('RLIMIT_NOFILE the gateway tries to raise itself to at start (the hard limit needs CAP_SYS_RESOURCE; otherwise it keeps what it has and logs it); 0 leaves it alone.'),
  }),
}, { additionalProperties: false, default: {}, ...d('Bounds on connections, per listener.') })
// --- end listener bounds

const Listen = Type.Object({
  host: Type.String({ default: '127.0.0.1', ...d('Address the gateway listens on (0.0.0.0 in a container).') }),
  kernelPort: Type.Integer({ minimum: 0, maximum: 65535, default: 18888 }),
  cdpPort: Type.Integer({ minimum: 0, maximum: 65535, default: 19223 }),
  adminPort: Type.Integer({ minimum: 0, maximum: 65535, default: 18080, ...d('Health, readiness and metrics; needs no token.') }),
  egressPort: Type.Integer({ minimum: 0, maximum: 65535, default: 13128 }),
  tlsCert: Type.Optional(Type.String({ minLength: 1, ...d('PEM certificate: serve HTTPS/WSS on the kernel and CDP listeners (certs/make-dev-cert.sh makes a development one).') })),
  tlsKey: Type.Optional(Type.String({ minLength: 1, ...d('PEM private key for `tlsCert` (both or neither).') })),
  connections: ListenConnections,
}, { additionalProperties: false, default: {} })

const Audit = Type.Object({
  dir: Type.String({
    default: '',
    ...d('Folder of the audit trail (docs/audit.md). Empty: `audit/` in the gateway\'s run folder (`hedge up`), or no trail for `hedge gateway` ' +
      'unless `--audit-dir` is given. Never inside the agent\'s workspace: the agent must not be able to write it.'),
  }),
  keyEnv: Type.String({
    minLength: 1, default: 'HEDGE_AUDIT_KEY',
    ...d('Environment variable holding the HMAC key that chains the trail; without it the links are plain SHA-256 (detects edits, not a re-chain).'),
  }),
  maxFileBytes: Type.Integer({ minimum: 4096, maximum: 1024 * 1024 * 1024, default: 64 * 1024 * 1024, ...d('Rotate the current file at this size.') }),
  maxFiles: Type.Integer({ minimum: 1, maximum: 10_000, default: 20, ...d('Rotated files kept; the oldest is removed (the rest still verify).') }),
  recordCode: Type.Boolean({ default: false, ...d('Put the code of kernel executes in the trail (otherwise only its SHA-256 and size).') }),
  cdpMethods: Type.Array(Type.String({ minLength: 1 }), {
    default: ['Runtime.evaluate', 'Runtime.callFunctionOn', 'Page.navigate', 'Target.createTarget', 'Target.createBrowserContext',
      'Fetch.*', 'Network.setCookie', 'Network.setCookies', 'Storage.*', 'Browser.*', 'Page.setDownloadBehavior', 'DOM.setFileInputFiles'],
    ...d('CDP commands recorded in the trail when forwarded (exact names or `Domain.*`); refusals are always recorded.'),
  }),
}, { additionalProperties: false, default: {}, ...d('The tamper-evident audit trail.') })

export const PolicySchema = Type.Object({
  version: Type.Literal(1, d('Schema version.')),
  name: Type.String({ minLength: 1, pattern: '^[a-z0-9][a-z0-9-]*$' }),
  description: Type.Optional(Type.String()),
  layers: Layers,
  auth: Auth,
  hosts: Hosts,
  origins: Origins,
  kernel: Kernel,
  cdp: Cdp,
  egress: Egress,
  listen: Listen,
  audit: Audit,
}, { additionalProperties: false })

export type Policy = Static<typeof PolicySchema>
export type { TSchema }
