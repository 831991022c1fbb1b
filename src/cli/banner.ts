// What `hedge up` shows a person at a terminal instead of the machine-readable ready line:
// where everything listens, the topology and policy, where the tokens and the audit trail
// are (tokens in a 0600 file, never on the screen), and one example each for curl and
// Playwright. Pure: the caller decides when stdout is a terminal.
import type { ReadyLine } from '../app/ready-line.ts'

export function banner (r: ReadyLine, tokensFile: string | null): string {
  const rows: Array<[string, string]> = []
  if (r.gateway !== undefined) {
    rows.push(['kernel API', r.gateway.kernel], ['CDP', r.gateway.cdp], ['admin', `${r.gateway.admin}  (/readyz, /metrics, /decisions)`])
    if (r.gateway.egress !== undefined) rows.push(['egress guard', r.gateway.egress])
    if (r.gateway.audit !== undefined) rows.push(['audit trail', `${r.gateway.audit}  (hedge audit verify <its folder>)`])
  }
  rows.push(['sandbox kernel', r.sandbox.kernel], ['workspace', r.sandbox.workspace])
  if (r.sandbox.cdp !== null) rows.push(['9223 forwarder', `${r.sandbox.cdp}  (no auth: documented topology)`])
  rows.push(['topology', r.topology ?? '?'], ['policy', `${r.policy ?? '?'}${r.policyFile !== undefined ? `  (${r.policyFile})` : ''}`])
  rows.push(['tokens', tokensFile !== null ? `${tokensFile}  (0600: HEDGE_KERNEL_TOKEN, HEDGE_CDP_TOKEN)` : 'none (auth layer off)'])
  const w = Math.max(...rows.map(([k]) => k.length))
  const lines = ['hedge is up', '', ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`), '']
  if (r.gateway !== undefined) {
    const src = tokensFile !== null ? `. ${tokensFile} && ` : ''
    const auth = tokensFile !== null ? ' -H "Authorization: Bearer $HEDGE_KERNEL_TOKEN"' : ''
    lines.push('try:')
    lines.push(`  ${src}curl -s${auth} ${r.gateway.kernel}/kernel/status`)
    const hdr = tokensFile !== null ? ', { headers: { authorization: `Bearer ${process.env.HEDGE_CDP_TOKEN}` } }' : ''
    lines.push(`  ${src}node -e "require('playwright-core').chromium.connectOverCDP('${r.gateway.cdp}'${hdr})` +
      `.then(async b => { console.log(b.version()); await b.close() })"`)
    lines.push('')
  }
  lines.push('Ctrl-C stops everything. Not a terminal, or --log-format json: the documented "ready {json}" line instead.', '')
  return lines.join('\n')
}

/** The development tokens as a shell-sourceable file body. */
export function tokensEnv (token: { kernel: string, cdp: string }): string {
  return `export HEDGE_KERNEL_TOKEN='${token.kernel}'\nexport HEDGE_CDP_TOKEN='${token.cdp}'\n`
}
