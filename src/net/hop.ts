// Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, never the message,
// so a proxy drops them on both legs. The one list, for the kernel front and the egress guard.
import type { IncomingHttpHeaders } from 'node:http'

export const HOP_BY_HOP: readonly string[] = Object.freeze([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'proxy-authenticate',
])

const HOP_SET: ReadonlySet<string> = new Set(HOP_BY_HOP)

export function isHopByHop (name: string): boolean {
  return HOP_SET.has(name.toLowerCase())
}

/** The header names a Connection header lists (they are hop-by-hop for this message too), lower case. */
export function connectionNamed (h: IncomingHttpHeaders): string[] {
  return typeof h.connection === 'string' ? h.connection.split(',').map(s => s.trim().toLowerCase()).filter(Boolean) : []
}
