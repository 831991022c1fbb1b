// The relay's leg to Chromium: one `ws` connect (a well-kept client: fragments, control frames,
// close handshake and backpressure are its job, through its public API only). No extension is
// offered; UTF-8 validation is skipped on this leg only, because the relay never parses
// what Chromium sends except through JSON.parse, and the client leg validates what it sends.
import { WebSocket } from 'ws'

export type UpstreamSocket = WebSocket

/**
 * Chromium's largest message (a full-page screenshot can be tens of MiB). ws applies it to the
 * whole message across fragments (lib/receiver.js haveLength(): a running total checked at
 * each frame header, 1009 when passed), so a fragmented message cannot get around it.
 */
const MAX_UPSTREAM_MESSAGE = 1024 * 1024 * 1024

/** Open the WebSocket to Chromium (`ws://host:port/path`); rejects with `statusCode` when refused. */
export function connectUpstream (url: string, timeoutMs: number): Promise<UpstreamSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs, maxPayload: MAX_UPSTREAM_MESSAGE, skipUTF8Validation: true })
    const fail = (err: Error & { statusCode?: number }): void => { ws.removeAllListeners(); ws.on('error', () => {}); ws.terminate(); reject(err) }
    ws.once('open', () => { ws.removeListener('error', fail); resolve(ws) })
    ws.once('error', fail)
    ws.once('unexpected-response', (req, res) => {
      req.destroy()
      fail(Object.assign(new Error(`upstream answered ${res.statusCode ?? 0}`), { statusCode: res.statusCode }))
    })
  })
}
