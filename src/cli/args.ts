// Flag parsing for every command: node's parseArgs in strict mode (unknown flags are
// errors), plus typed getters that reject bad values with a message naming the flag.
import { parseArgs } from 'node:util'

/** One command: parses its own flags, returns an exit code. */
export interface Command { run: (argv: string[]) => Promise<number> }

export class UsageError extends Error { override name = 'UsageError' }

export interface FlagSpec { type: 'string' | 'boolean', short?: string, help: string, default?: string | boolean, multiple?: boolean }
export type FlagSpecs = Record<string, FlagSpec>

export interface Parsed { values: Record<string, string | boolean | string[] | undefined>, positionals: string[] }

export function parse (argv: string[], specs: FlagSpecs, maxPositionals = 0): Parsed {
  let out
  try {
    out = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, {
        type: s.type,
        ...(s.short !== undefined ? { short: s.short } : {}),
        ...(s.multiple === true ? { multiple: true } : {}),
      }])),
      strict: true,
      allowPositionals: true,
    })
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? 'bad arguments')
  }
  if (out.positionals.length > maxPositionals) throw new UsageError(`unexpected argument "${out.positionals[maxPositionals] ?? ''}"`)
  return { values: out.values as Parsed['values'], positionals: out.positionals }
}

export function str (p: Parsed, name: string): string | undefined {
  const v = p.values[name]
  if (v === undefined) return undefined
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} needs a value`)
  return v
}

export function port (p: Parsed, name: string): number | undefined {
  const v = str(p, name)
  if (v === undefined) return undefined
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new UsageError(`--${name} must be a port number 0-65535 (0 = chosen by the OS), got "${v}"`)
  return Number(v)
}

export function oneOf<T extends string> (p: Parsed, name: string, allowed: readonly T[]): T | undefined {
  const v = str(p, name)
  if (v === undefined) return undefined
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got "${v}"`)
  return v as T
}

export function helpText (usage: string, summary: string, specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([k, s]) => {
    const flag = `${s.short !== undefined ? `-${s.short}, ` : '    '}--${k}${s.type === 'string' ? ' VALUE' : ''}`
    return `  ${flag.padEnd(30)} ${s.help}${s.default !== undefined ? ` (default: ${String(s.default)})` : ''}`
  })
  return `usage: ${usage}\n\n${summary}\n\noptions:\n${rows.join('\n')}\n      --help${' '.repeat(24)} show this help\n`
}
