// GET /decisions: a self-contained page (no external script, a strict CSP with hashes of
// its one script and one style) that shows decisions as they happen, streamed from
// GET /decisions/stream as Server-Sent Events. Filters by decision and principal, counters
// per layer. Served on the admin listener only (loopback by default).
import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { DecisionBus } from '../audit/decisions.ts'

const STYLE = `body{font:13px system-ui,sans-serif;margin:1rem;color:#111}
h1{font-size:16px;margin:0 0 .5rem}
#bar{display:flex;gap:1rem;align-items:center;margin-bottom:.5rem;flex-wrap:wrap}
#counts span{margin-right:.75rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:2px 6px;border-bottom:1px solid #ddd;white-space:nowrap}
tr.denied td.d{color:#b00020;font-weight:600}
tr.would-deny td.d{color:#a86b00}
tr.allowed td.d{color:#1b5e20}
#state{color:#666}`

const SCRIPT = `(() => {
  const rows = document.getElementById('rows'), counts = document.getElementById('counts')
  const fDecision = document.getElementById('decision'), fPrincipal = document.getElementById('principal')
  const state = document.getElementById('state'), perLayer = new Map(), all = []
  const show = d => (fDecision.value === '' || d.decision === fDecision.value) &&
    (fPrincipal.value === '' || (d.principal || '').includes(fPrincipal.value))
  const cell = (tr, text, cls) => { const td = document.createElement('td'); td.textContent = text == null ? '' : String(text); if (cls) td.className = cls; tr.appendChild(td) }
  const row = d => {
    const tr = document.createElement('tr'); tr.className = d.decision
    cell(tr, d.time.slice(11, 23)); cell(tr, d.front); cell(tr, d.principal); cell(tr, d.what)
    cell(tr, d.layer); cell(tr, d.rule); cell(tr, d.decision, 'd')
    return tr
  }
  const redraw = () => { rows.replaceChildren(...all.filter(show).slice(-500).reverse().map(row)) }
  const count = d => {
    const c = perLayer.get(d.layer) || { denied: 0, 'would-deny': 0, allowed: 0 }
    c[d.decision]++; perLayer.set(d.layer, c)
    counts.replaceChildren(...[...perLayer].map(([l, c]) => { const s = document.createElement('span'); s.textContent = l + ': ' + c.denied + ' denied, ' + c['would-deny'] + ' would deny'; return s }))
  }
  fDecision.addEventListener('change', redraw); fPrincipal.addEventListener('input', redraw)
  const es = new EventSource('/decisions/stream')
  es.onopen = () => { state.textContent = 'live' }
  es.onerror = () => { state.textContent = 'reconnecting' }
  es.addEventListener('decision', ev => {
    const d = JSON.parse(ev.data); all.push(d); if (all.length > 5000) all.shift(); count(d)
    if (show(d)) rows.prepend(row(d))
  })
})()`

const sha = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`
export const DECISIONS_CSP = `default-src 'none'; script-src ${sha(SCRIPT)}; style-src ${sha(STYLE)}; connect-src 'self'; ` +
  "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>hedge: decisions</title>
<style>${STYLE}</style></head><body>
<h1>hedge: decisions <small id="state">connecting</small></h1>
<div id="bar"><label>decision <select id="decision"><option value="">all</option><option>denied</option>
<option>would-deny</option><option>allowed</option></select></label>
<label>principal <input id="principal" size="24"></label><div id="counts"></div></div>
<table><thead><tr><th>time</th><th>front</th><th>principal</th><th>method / route</th><th>layer</th><th>rule</th><th>decision</th></tr></thead>
<tbody id="rows"></tbody></table>
<script>${SCRIPT}</script></body></html>
`

const SECURITY_HEADERS = {
  'content-security-policy': DECISIONS_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
}

export function serveDecisionsPage (res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...SECURITY_HEADERS })
  res.end(PAGE)
}

/**
 * SSE: the recent ring first, then every new decision, with a heartbeat; ends when the client
 * goes. false (nothing written) when `maxWatchers` already watch: the caller refuses.
 */
export function streamDecisions (req: IncomingMessage, res: ServerResponse, bus: DecisionBus, maxWatchers = 16): boolean {
  if (bus.watchers >= maxWatchers) return false
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', ...SECURITY_HEADERS })
  const send = (d: unknown): void => { res.write(`event: decision\ndata: ${JSON.stringify(d)}\n\n`) }
  for (const d of bus.recent()) send(d)
  const off = bus.subscribe(d => {
    // A watcher that stops reading is dropped rather than buffered without bound.
    if (res.writableLength > 1024 * 1024) { res.destroy(); return }
    send(d)
  })
  const beat = setInterval(() => { res.write(': beat\n\n') }, 15_000)
  beat.unref()
  const end = (): void => { off(); clearInterval(beat) }
  req.on('close', end)
  res.on('close', end)
  return true
}
