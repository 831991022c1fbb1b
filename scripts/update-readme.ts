// Regenerate the README's knob table from the policy schema (npm run docs).
import { readFileSync, writeFileSync } from 'node:fs'
import { policyDocs } from '../src/policy/docs.ts'

const START = /<!-- knobs:start[^>]*-->\n/
const END = '<!-- knobs:end -->'
const readme = readFileSync('README.md', 'utf8')
const m = START.exec(readme)
const end = readme.indexOf(END)
if (m === null || end === -1) throw new Error('README.md has no knobs markers')
writeFileSync('README.md', readme.slice(0, m.index + m[0].length) + policyDocs() + readme.slice(end))
