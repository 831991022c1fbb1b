// The folder rule (checked by `npm test` through `npm run lint:deps`; README "Development"). It keeps the
// gateway's decision code free of its fronts, the two fronts apart, and the baseline
// sandbox free of the gateway, so each can be read, tested and replaced on its own.
const CORE = '^src/(policy|json|net|layers|auth|errors|audit)/'
const FRONTS = '^src/(kernel|cdp|egress|admin|gateway\\.ts|app|cli|compare)'
const GATEWAY = '^src/(kernel|cdp|egress|layers|auth|policy|json|errors|audit|app|admin|gateway\\.ts|metrics\\.ts)'

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'no import cycles', from: {}, to: { circular: true } },
    { name: 'core-imports-no-front', severity: 'error', comment: 'policy/, json/, net/, layers/, auth/, errors/ import no front', from: { path: CORE }, to: { path: FRONTS } },
    { name: 'kernel-not-cdp', severity: 'error', comment: 'the kernel front and the CDP front do not import each other', from: { path: '^src/kernel/' }, to: { path: '^src/cdp/' } },
    { name: 'cdp-not-kernel', severity: 'error', comment: 'the kernel front and the CDP front do not import each other', from: { path: '^src/cdp/' }, to: { path: '^src/kernel/' } },
    { name: 'sandbox-is-the-baseline', severity: 'error', comment: 'the baseline sandbox imports nothing of the gateway', from: { path: '^src/sandbox/' }, to: { path: GATEWAY } },
    { name: 'src-not-test', severity: 'error', comment: 'shipped code never imports tests', from: { path: '^src/' }, to: { path: '^test/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|deploy/container)' },
  },
}
