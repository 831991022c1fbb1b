/** '2s' | '500ms' | '1m' | '1500' (ms) → milliseconds; anything else throws. */
export function parseDuration (s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim())
  if (m === null) throw new Error(`not a duration: "${s}" (e.g. 2s, 500ms, 1m)`)
  const n = Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1)
  if (!(n > 0 && n <= 3_600_000)) throw new Error(`duration out of range: "${s}"`)
  return Math.round(n)
}
