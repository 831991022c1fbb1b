// An upstream the gateway (or an oracle, or a probe) talks plain HTTP/1.1 to: the kernel
// server on loopback TCP or on a unix socket. One spelling on the command line, in the ready
// line and in configuration:
//   http://HOST:PORT   a TCP upstream (no credentials, no path, query or fragment)
//   unix:/abs/path     a unix socket (absolute, normalised, no ':' so nothing can be read as a path)
// Anything else is refused with a message that says what was expected: an upstream that
// cannot be read exactly is never guessed at.
import { request, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { isAbsolute, normalize } from 'node:path'

export type Upstream = { kind: 'tcp', url: URL } | { kind: 'unix', path: string }

/** sun_path is 108 bytes on Linux, one of them the terminating NUL. */
const MAX_SOCKET_PATH = 107
const EXPECTED = 'expected http://HOST:PORT or unix:/absolute/path'

export class UpstreamError extends Error { override name = 'UpstreamError' }

function refuse (s: string, why: string): never {
  throw new UpstreamError(`bad upstream ${JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s)}: ${why} (${EXPECTED})`)
}

export function parseUpstream (s: string): Upstream {
  if (typeof s !== 'string' || s === '') refuse(String(s), 'empty')
  if (/[\u0000-\u0020\u007f]/.test(s)) refuse(s, 'whitespace or control characters')
  if (s.startsWith('unix:')) {
    const path = s.slice('unix:'.length)
    if (path === '') refuse(s, 'no socket path')
    if (path.startsWith('//')) refuse(s, 'not a URL: write unix:/path, with one slash')
    if (!isAbsolute(path)) refuse(s, 'the socket path must be absolute')
    if (path.includes(':')) refuse(s, 'a socket path with ":" (the old "unix:/sock:/path" probe form is gone)')
    if (path.endsWith('/')) refuse(s, 'a directory, not a socket')
    if (normalize(path) !== path) refuse(s, 'the socket path must be normalised (no "..", "." or "//")')
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) refuse(s, `the socket path is longer than ${MAX_SOCKET_PATH} bytes`)
    return { kind: 'unix', path }
  }
  if (!/^http:\/\//i.test(s)) {
    if (/^http:/i.test(s)) refuse(s, 'write http:// with two slashes')
    refuse(s, /^[a-z][a-z0-9+.-]*:/i.test(s) ? `scheme "${s.slice(0, s.indexOf(':'))}" not supported` : 'no scheme')
  }
  const rest = s.slice('http://'.length)
  if (rest === '' || rest.startsWith('/') || rest.includes('\\')) refuse(s, 'no host') // URL would read http:///8888 as host 8888
  let url: URL
  try { url = new URL(s) } catch { refuse(s, 'not a URL') }
  if (url.username !== '' || url.password !== '') refuse(s, 'credentials in the URL')
  if (url.hostname === '') refuse(s, 'no host')
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || s.includes('?') || s.includes('#')) {
    refuse(s, 'an upstream has no path, query or fragment')
  }
  return { kind: 'tcp', url: new URL(url.origin) }
}

/** The one spelling parseUpstream reads back: http://HOST:PORT or unix:/path. */
export function formatUpstream (u: Upstream): string {
  return u.kind === 'unix' ? `unix:${u.path}` : u.url.origin
}

/** node:http options reaching `path` on the upstream (Host: localhost on a unix socket). */
export function upstreamRequestOptions (u: Upstream, path: string, o: RequestOptions = {}): RequestOptions {
  if (!path.startsWith('/')) throw new UpstreamError(`request path must start with "/": ${JSON.stringify(path)}`)
  if (u.kind === 'unix') return { ...o, socketPath: u.path, path, headers: { host: 'localhost', ...o.headers } }
  const host = u.url.hostname.replace(/^\[|\]$/g, '')
  return { ...o, host, port: Number(u.url.port || 80), path }
}

/** One HTTP request to the upstream; the caller ends it (as with node:http's request). */
export function upstreamRequest (
  u: Upstream, path: string, o: RequestOptions = {}, onResponse?: (res: IncomingMessage) => void,
): ClientRequest {
  return request(upstreamRequestOptions(u, path, o), onResponse)
}

/** GET `path` on the upstream: true on a 2xx within `timeoutMs`. Never rejects (refused, error, timeout: false). */
export function probeHealth (u: Upstream, path: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise(resolve => {
    let req: ClientRequest
    try {
      req = upstreamRequest(u, path, { method: 'GET', timeout: timeoutMs }, res => {
        res.resume()
        const s = res.statusCode ?? 0
        resolve(s >= 200 && s < 300)
      })
    } catch { resolve(false); return }
    req.on('timeout', () => { req.destroy(); resolve(false) })
    req.on('error', () => { resolve(false) })
    req.end()
  })
}

/**
 * Readiness probes as one string, for src/admin.ts, whose probes are still `{ name, url }`:
 * http(s)://… as is, or `unix:/path/to.sock` + a space + `/http/path`. (The space cannot
 * occur in an upstream, so the two halves never blur.) To go once admin.ts takes an Upstream.
 */
export function probeTarget (u: Upstream, path: string): string {
  return u.kind === 'unix' ? `unix:${u.path} ${path}` : new URL(path, u.url).href
}

export function parseProbeTarget (s: string): { upstream: Upstream, path: string } {
  if (s.startsWith('unix:')) {
    const i = s.indexOf(' ')
    if (i === -1) return { upstream: parseUpstream(s), path: '/' }
    return { upstream: parseUpstream(s.slice(0, i)), path: s.slice(i + 1) }
  }
  let url: URL
  try { url = new URL(s) } catch { throw new UpstreamError(`bad probe target ${JSON.stringify(s)}: not a URL`) }
  return { upstream: parseUpstream(url.origin), path: `${url.pathname}${url.search}` }
}
