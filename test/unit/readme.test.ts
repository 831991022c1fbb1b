// The README stays true: its knob table is the schema's, and every command and every
// flag the CLI accepts is in its command table (and nothing that does not exist).
import t from 'tap'
import { readFileSync } from 'node:fs'
import { policyDocs } from '../../src/policy/docs.ts'
import { usage } from '../../src/cli/main.ts'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

t.test('the knob table is generated from the schema (npm run docs)', async t => {
  const m = /<!-- knobs:start[^>]*-->\n([\s\S]*?)<!-- knobs:end -->/.exec(readme)
  t.ok(m, 'markers present')
  t.equal(m?.[1], policyDocs(), 'README knob table is up to date: run "npm run docs"')
})

t.test('every command, and every flag of it, is documented', async t => {
  const commands = [...usage().matchAll(/^ {2}([a-z]+) /gm)].map(m => m[1] as string)
  t.ok(commands.length >= 8, `commands: ${commands.join(', ')}`)
  for (const c of commands) {
    const row = readme.split('\n').find(l => l.startsWith(`| \`hedge ${c}`))
    t.ok(row, `README documents "hedge ${c}"`)
    const src = readFileSync(new URL(`../../src/cli/${c}.ts`, import.meta.url), 'utf8')
    const flags = [...src.matchAll(/^ {2}'?([a-z][a-z-]*)'?: \{ type: '(?:string|boolean)'/gm)].map(m => m[1] as string)
    for (const f of flags) t.ok(row?.includes(`--${f}`), `hedge ${c} --${f} is in the README`)
  }
})
