// The knob reference, generated from the schema (so it can never drift from validation).
import type { TSchema } from '@sinclair/typebox'
import { PolicySchema } from './schema.ts'

interface Row { path: string, type: string, def: string, description: string }

function typeOf (s: TSchema): string {
  if (Array.isArray(s.anyOf)) return (s.anyOf as TSchema[]).map(a => JSON.stringify(a.const)).join(' \\| ')
  if (s.const !== undefined) return JSON.stringify(s.const)
  if (s.type === 'array') return `${typeOf(s.items as TSchema)}[]`
  return String(s.type ?? 'any')
}

function walk (s: TSchema, path: string, rows: Row[]): void {
  if (s.type === 'object' && s.properties !== undefined) {
    if (path !== '' && s.description !== undefined) rows.push({ path, type: 'object', def: '', description: s.description as string })
    for (const [k, v] of Object.entries(s.properties as Record<string, TSchema>)) walk(v, path === '' ? k : `${path}.${k}`, rows)
    return
  }
  if (s.type === 'array' && (s.items as TSchema).type === 'object') {
    rows.push({ path: `${path}[]`, type: 'list', def: '', description: String(s.description ?? '') })
    walk(s.items as TSchema, `${path}[]`, rows)
    return
  }
  rows.push({ path, type: typeOf(s), def: s.default === undefined ? '' : JSON.stringify(s.default), description: String(s.description ?? '') })
}

export function policyDocs (): string {
  const rows: Row[] = []
  walk(PolicySchema, '', rows)
  const esc = (x: string): string => x.replace(/\|/g, '\\|').replace(/\n/g, ' ')
  return ['| knob | type | default | meaning |', '|---|---|---|---|',
    ...rows.map(r => `| \`${r.path}\` | ${r.type.replace(/"/g, '`')} | ${r.def === '' ? '' : `\`${esc(r.def)}\``} | ${esc(r.description)} |`)].join('\n') + '\n'
}
