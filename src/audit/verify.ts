// Reading a trail from disk for verification: a folder (every file, oldest first) or files
// given in order; the seal note beside the current file says where it ended.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { verifyChain, type ChainFile, type VerifyResult } from './chain.ts'
import { CURRENT, SEAL_NOTE, trailFiles } from './log.ts'

export function loadTrail (paths: readonly string[]): ChainFile[] {
  const files = paths.flatMap(p => statSync(p).isDirectory() ? trailFiles(p) : [p])
  return files.map((f, i) => {
    const note = join(dirname(f), SEAL_NOTE)
    let expectedSeal: ChainFile['expectedSeal']
    if (i === files.length - 1 && basename(f) === CURRENT && existsSync(note)) {
      const n = JSON.parse(readFileSync(note, 'utf8')) as { seq?: unknown, link?: unknown }
      if (typeof n.seq !== 'number' || typeof n.link !== 'string') throw new Error(`${note}: not a seal note`)
      expectedSeal = { seq: n.seq, link: n.link }
    }
    return { name: f, text: readFileSync(f, 'utf8'), ...(expectedSeal !== undefined ? { expectedSeal } : {}) }
  })
}

export function verifyTrail (paths: readonly string[], key?: Buffer): VerifyResult {
  return verifyChain(loadTrail(paths), key)
}
