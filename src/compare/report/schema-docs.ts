// docs/report-schema.md, generated from the report's schema: one table per object, so the
// documentation cannot drift from validation (test/unit/compare-report.test.ts checks the file).
import type { TSchema } from '@sinclair/typebox'
import { ReportSchema, REPORT_SCHEMA_ID } from './model.ts'


function typeName (s: TSchema): string {
  if (typeof s.title === 'string' && s.type === 'object') return s.title
  if (Array.isArray(s.anyOf)) {
    const xs = s.anyOf as TSchema[]
    if (xs.every(x => x.const !== undefined)) return xs.map(x => `\`${JSON.stringify(x.const)}\``).join(' \\| ')
    return xs.map(typeName).join(' \\| ')
  }
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``
  if (s.type === 'array') { const t = typeName(s.items as TSchema); return t.includes('|') ? `(${t})[]` : `${t}[]` }
  if (s.type === 'object' && s.patternProperties !== undefined) {
    const v = Object.values(s.patternProperties as Record<string, TSchema>)[0]
    return `map: deployment → ${v === undefined ? 'any' : typeName(v)}`
  }
  return String(s.type ?? 'any')
}

function collect (s: TSchema, out: TSchema[]): void {
  if (s.type === 'object' && typeof s.title === 'string' && s.properties !== undefined && !out.includes(s)) out.push(s)
  const kids: TSchema[] = [
    ...Object.values((s.properties ?? {}) as Record<string, TSchema>),
    ...Object.values((s.patternProperties ?? {}) as Record<string, TSchema>),
    ...(s.items !== undefined ? [s.items as TSchema] : []),
    ...((s.anyOf ?? []) as TSchema[]),
  ]
  for (const k of kids) collect(k, out)
}

/** docs/report-schema.md: one table per object of the report, from the schema itself. */
export function reportSchemaDocs (): string {
  const objects: TSchema[] = []
  collect(ReportSchema, objects)
  const esc = (x: string): string => x.replace(/\|/g, '\\|').replace(/\n/g, ' ')
  const parts = [
    `# \`${REPORT_SCHEMA_ID}\` — the comparison report`,
    '',
    'Generated from the schema in `src/compare/report/model.ts` by `reportSchemaDocs()` (`schema-docs.ts`); `test/unit/compare-report.test.ts` fails when this file is stale',
    '(regenerate: `HEDGE_WRITE_DOCS=1 npx tap test/unit/compare-report.test.ts`).',
    '',
    'Conventions: a `results` map is keyed by deployment name (one of `deployments[].name`); a deployment something was not run against has no entry. ' +
    'Overhead ratios are fractions of direct performance (1.00 = as fast as talking to the upstream directly; higher is better). Times are milliseconds. ' +
    'Strings such as `evidence` and `reason` are untrusted text: renderers escape them.',
  ]
  for (const o of objects) {
    const required = new Set((o.required ?? []) as string[])
    parts.push('', `## ${String(o.title)}`, '', esc(String(o.description ?? '')), '', '| field | type | required | meaning |', '|---|---|---|---|')
    for (const [k, v] of Object.entries(o.properties as Record<string, TSchema>)) {
      parts.push(`| \`${k}\` | ${typeName(v)} | ${required.has(k) ? 'yes' : 'no'} | ${esc(String(v.description ?? ''))} |`)
    }
  }
  return parts.join('\n') + '\n'
}
