// The agent's own browser as a pivot: the agent browses to a malicious page (simulated by
// opening it through the sandbox Chromium's own DevTools — not the attacker's channel) and
// the page's JavaScript fetches the kernel from inside the sandbox: the kernel's loopback
// address, the advertised endpoint, other spellings of loopback, and a name that resolves
// to 127.0.0.1. Harm: any answer carries the kernel's HMAC key.
import type { Attack } from '../types.ts'
import { PAGE_FETCH_JS, runPage } from './victim-browser.ts'

/** Every URL page JavaScript could try for the kernel on TCP `port`. */
function kernelUrls (port: string, rebindHost: string): string[] {
  const hosts = ['127.0.0.1', 'localhost', '127.1', '2130706433', '0x7f000001', '[::ffff:127.0.0.1]', rebindHost]
  return hosts.map(h => `http://${h}:${port}/kernel/connection`)
}

/** The host as the page spelled it (URL would normalise 127.1 to 127.0.0.1). */
const hostOf = (u: string): string => u.slice(u.indexOf('//') + 2, u.indexOf('/', u.indexOf('//') + 2))

export const PIVOT_ATTACKS: Attack[] = [
  {
    id: 'browser-pivot-to-kernel',
    category: 'browser-pivot',
    description: 'A page the agent browses to fetches the kernel from inside the sandbox (loopback address and its other spellings, ' +
      'the API endpoint, a name resolving to 127.0.0.1) and reads the key.',
    stoppedBy: ['egress'],
    attacker: 'page-js',
    async run (ctx) {
      const rebindHost = new URL(`http://${ctx.fixtures.rebindName}`).hostname
      const urls = new Set<string>()
      const tcp = ctx.d.internals.kernelTcp
      if (tcp !== null) {
        urls.add(`${tcp}/kernel/connection`)
        for (const u of kernelUrls(new URL(tcp).port, rebindHost)) urls.add(u)
      }
      urls.add(`${ctx.d.endpoints.kernel}/kernel/connection`)
      for (const u of kernelUrls(new URL(ctx.d.endpoints.kernel).port, rebindHost)) urls.add(u)
      const list = [...urls]
      const html = `<!doctype html><title>docs</title><script>${PAGE_FETCH_JS}
window.__hedge = Promise.all(${JSON.stringify(list)}.map(hedgeFetch)).then(r => JSON.stringify(r));</script>`
      const run = await runPage(ctx.d.internals.chromium, ctx.fixtures.evilPage(html))
      const key = await ctx.oracle.kernelKey()
      let results: string[] = []
      try { results = JSON.parse(run.value) as string[] } catch { return { harm: run.value.includes(key), evidence: `page: ${run.value.slice(0, 160)}` } }
      const leaked = list.filter((_, i) => (results[i] ?? '').includes(key))
      const others = new Map<string, number>()
      results.forEach((r, i) => {
        if (leaked.includes(list[i] as string)) return
        const s = r.startsWith('OK ') ? r.split(' ').slice(0, 2).join(' ') : r.slice(0, 60)
        others.set(s, (others.get(s) ?? 0) + 1)
      })
      const rest = [...others].map(([s, n]) => `${n}× ${s}`).join(', ')
      const net = new Map<string, number>()
      for (const n of run.network) { const s = n.status !== undefined ? String(n.status) : (n.failed ?? '?'); net.set(s, (net.get(s) ?? 0) + 1) }
      const netLine = [...net].map(([s, n]) => `${n}× ${s}`).join(', ')
      const harm = leaked.length > 0
      return {
        harm,
        evidence: `${harm ? `key read via ${leaked.map(hostOf).join(' ')}` : `no URL gave the key (${list.length} tried)`}; ` +
          `others: ${rest === '' ? 'none' : rest}; network: ${netLine === '' ? 'none' : netLine}`,
      }
    },
  },
]
