/** Reject with "<what> timed out after <ms> ms" unless `p` settles first; the timer never outlives the race. */
export async function bounded<T> (what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what} timed out after ${ms} ms`)) }, ms) })
  try { return await Promise.race([p, timeout]) } finally { clearTimeout(timer) }
}
