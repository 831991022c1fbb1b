// Raw HTTP for tests: exact control over Host, Origin, duplicate headers and request
// targets (fetch normalises or forbids all of these). Loopback only.
import { request } from 'node:http'
import { connect } from 'node:net'

export interface RawResponse { status: number, headers: Record<string, string | string[] | undefined>, text: string, json: any }

export interface RawOptions {
  method?: string
  path: string
  /** Pairs, so a header can be sent twice; Host defaults to 127.0.0.1:PORT. */
  headers?: Array<[string, string]>
  body?: string | Buffer
  socketPath?: string
  timeoutMs?: number
}

export function rawRequest (port: number, o: RawOptions): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: string[] = []
    const pairs = o.headers ?? []
    if (!pairs.some(([k]) => k.toLowerCase() === 'host')) headers.push('Host', `127.0.0.1:${port}`)
    for (const [k, v] of pairs) headers.push(k, v)
    if (o.body !== undefined && !pairs.some(([k]) => k.toLowerCase() === 'content-length')) headers.push('Content-Length', String(Buffer.byteLength(o.body)))
    const req = request({ host: '127.0.0.1', port, method: o.method ?? 'GET', path: o.path, headers, setHost: false, timeout: o.timeoutMs ?? 30_000 }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: any
        try { json = JSON.parse(text) } catch { json = undefined }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
      })
    })
    req.on('timeout', () => { req.destroy(new Error('timeout')) })
    req.on('error', reject)
    req.end(o.body)
  })
}

/**
 * Send bytes exactly as given (for request targets node's client refuses to send) and
 * read the whole response: the request must carry `Connection: close`; we read to EOF.
 */
export function rawSocket (port: number, text: string, timeoutMs = 20_000): Promise<{ status: number, text: string }> {
  if (!/\r\nConnection: close\r\n/i.test(text)) throw new Error('rawSocket: send "Connection: close" so the response ends at EOF')
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1')
    let data = ''
    s.setTimeout(timeoutMs, () => { s.destroy(); reject(new Error('timeout')) })
    s.on('data', c => { data += c.toString('latin1') })
    s.on('error', reject)
    s.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data)
      if (m !== null) resolve({ status: Number(m[1]), text: data })
      else reject(new Error('closed without a response'))
    })
    s.write(text)
  })
}
