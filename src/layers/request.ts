// Facts read off a raw request that more than one layer needs, as plain functions.
import type { IncomingMessage } from 'node:http'

/** How many times a header was sent (node folds or drops duplicates in `headers`). */
export function headerCount (req: IncomingMessage, name: string): number {
  let n = 0
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).toLowerCase() === name) n++
  return n
}

export function single (v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? undefined : v
}

