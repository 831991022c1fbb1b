// `helm template` for this repository's chart, without helm (neither Debian 12 nor npm ships
// it, and no maintained JavaScript implementation of Go templates + sprig was found on npm).
// It implements exactly the subset of Go's text/template and of helm's functions that
// deploy/helm/hedge uses, with their Go semantics, and throws on anything else — an unknown
// function, action, keyword, printf verb, a field missing on a built-in object, a value Go
// would print differently (maps, large or fractional numbers) — rather than render something
// helm would not. Where helm exists, test/containers/helm.test.ts compares with the real one.
//
// Supported: text with {{ }} actions and the {{- / -}} whitespace trimming; comments
// {{/* */}}; define (in any file), include, if/else/end, with/else/end, range/else/end over
// lists and maps (no range variables); `$x := pipeline` in a plain action; pipelines `|`,
// parenthesised pipelines; fields of `.`, of `$` and of variables; string, raw string, integer,
// true/false/nil literals. Functions: include print printf(%s %d %%) quote default required
// fail list concat toYaml toJson indent nindent trunc trimSuffix contains and or not eq ne
// empty sha256sum b64enc. Objects: .Values .Release .Chart .Template .Capabilities (none).
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>

export class HelmRenderError extends Error {}
const fail = (msg: string): never => { throw new HelmRenderError(msg) }

// ---------- lexing ------------------------------------------------------------------------

type Tok =
  | { t: 'str', v: string } | { t: 'num', v: number } | { t: 'field', path: string[] }
  | { t: 'var', name: string, path: string[] } | { t: 'ident', name: string }
  | { t: 'pipe' } | { t: 'lp' } | { t: 'rp' } | { t: 'decl' } | { t: 'assign' }

type Piece = { t: 'text', s: string } | { t: 'action', toks: Tok[], where: string }

const fieldChain = (s: string): string[] => s.split('.').slice(1)

function tokenize (src: string, where: string): Tok[] {
  const toks: Tok[] = []
  let i = 0
  while (i < src.length) {
    const rest = src.slice(i)
    let m: RegExpExecArray | null
    if (/^\s/.test(rest)) { i++; continue }
    if (rest[0] === '"') {
      m = /^"(?:[^"\\\n]|\\.)*"/.exec(rest)
      if (m === null) fail(`${where}: unterminated string`)
      const lit = (m as RegExpExecArray)[0]
      if (/\\[^nt"\\]/.test(lit)) fail(`${where}: string escape not supported: ${lit}`)
      toks.push({ t: 'str', v: JSON.parse(lit) as string }); i += lit.length; continue
    }
    if (rest[0] === '`') {
      const end = rest.indexOf('`', 1)
      if (end < 0) fail(`${where}: unterminated raw string`)
      toks.push({ t: 'str', v: rest.slice(1, end) }); i += end + 1; continue
    }
    if ((m = /^-?\d+(?![.\w])/.exec(rest)) !== null) { toks.push({ t: 'num', v: Number(m[0]) }); i += m[0].length; continue }
    if ((m = /^\$[A-Za-z0-9_]*((?:\.[A-Za-z_][A-Za-z0-9_]*)*)/.exec(rest)) !== null) {
      const name = m[0].slice(0, m[0].length - (m[1] as string).length)
      toks.push({ t: 'var', name, path: fieldChain(m[1] as string) }); i += m[0].length; continue
    }
    if ((m = /^(?:\.[A-Za-z_][A-Za-z0-9_]*)+/.exec(rest)) !== null) {
      toks.push({ t: 'field', path: fieldChain(m[0]) }); i += m[0].length; continue
    }
    if (rest[0] === '.' && !/^\.[\w.]/.test(rest)) { toks.push({ t: 'field', path: [] }); i++; continue }
    if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest)) !== null) {
      if (rest[m[0].length] === '.') fail(`${where}: field of a function result not supported: ${rest}`)
      toks.push({ t: 'ident', name: m[0] }); i += m[0].length; continue
    }
    if (rest.startsWith(':=')) { toks.push({ t: 'decl' }); i += 2; continue }
    if (rest[0] === '=') { toks.push({ t: 'assign' }); i++; continue }
    if (rest[0] === '|') { toks.push({ t: 'pipe' }); i++; continue }
    if (rest[0] === '(') { toks.push({ t: 'lp' }); i++; continue }
    if (rest[0] === ')') {
      if (/^\)\./.test(rest)) fail(`${where}: field of a parenthesised pipeline not supported`)
      toks.push({ t: 'rp' }); i++; continue
    }
    fail(`${where}: cannot lex action at: ${rest}`)
  }
  return toks
}

/** Text and actions, with Go's trim markers applied: "{{- " and " -}}" eat adjacent white space. */
function lex (src: string, name: string): Piece[] {
  const pieces: Piece[] = []
  let i = 0
  let trimNext = false
  while (i < src.length) {
    const open = src.indexOf('{{', i)
    let text = src.slice(i, open < 0 ? src.length : open)
    if (trimNext) text = text.replace(/^\s+/, '')
    if (open < 0) { pieces.push({ t: 'text', s: text }); break }
    const line = src.slice(0, open).split('\n').length
    const where = `${name}:${line}`
    let j = open + 2
    const trimLeft = src[j] === '-' && /\s/.test(src[j + 1] ?? '')
    if (src[j] === '-' && !trimLeft) fail(`${where}: "{{-" must be followed by a space`)
    if (trimLeft) { text = text.replace(/\s+$/, ''); j += 2 }
    pieces.push({ t: 'text', s: text })
    // the action ends at the first }} outside a string literal
    let k = j
    let quote: string | null = null
    for (; k < src.length; k++) {
      const ch = src[k] as string
      if (quote !== null) { if (ch === '\\' && quote === '"') k++; else if (ch === quote) quote = null; continue }
      if (ch === '"' || ch === '`') quote = ch
      else if (src.startsWith('}}', k)) break
    }
    if (k >= src.length) fail(`${where}: unclosed action`)
    let body = src.slice(j, k)
    trimNext = /\s-$/.test(body)
    if (trimNext) body = body.slice(0, -2)
    else if (body.endsWith('-') && body.trim() !== '-') fail(`${where}: "-}}" must be preceded by a space`)
    const trimmed = body.trim()
    if (trimmed.startsWith('/*')) {
      if (!trimmed.endsWith('*/')) fail(`${where}: malformed comment`)
    } else {
      if (trimmed.includes('/*')) fail(`${where}: comment inside an action`)
      pieces.push({ t: 'action', toks: tokenize(body, where), where })
    }
    i = k + 2
  }
  return pieces
}

// ---------- parsing -----------------------------------------------------------------------

type Operand =
  | { t: 'str', v: string } | { t: 'num', v: number } | { t: 'bool', v: boolean } | { t: 'nil' }
  | { t: 'field', path: string[] } | { t: 'var', name: string, path: string[] }
  | { t: 'ident', name: string } | { t: 'paren', pipe: Pipe }
interface Pipe { decl?: string, cmds: Operand[][], where: string }
type Node =
  | { t: 'text', s: string } | { t: 'out', pipe: Pipe }
  | { t: 'if' | 'with' | 'range', pipe: Pipe, body: Node[], alt: Node[] | null }

const KEYWORDS = new Set(['if', 'else', 'end', 'with', 'range', 'define', 'template', 'block', 'break', 'continue', 'include'])

function parsePipe (toks: Tok[], where: string): Pipe {
  let pos = 0
  const pipe: Pipe = { cmds: [], where }
  if (toks[0]?.t === 'var' && toks[0].path.length === 0 && (toks[1]?.t === 'decl' || toks[1]?.t === 'assign')) {
    if (toks[1].t === 'assign') fail(`${where}: variable assignment (=) not supported`)
    pipe.decl = toks[0].name
    pos = 2
  }
  const operand = (): Operand => {
    const tok = toks[pos++]
    if (tok === undefined) return fail(`${where}: missing operand`)
    switch (tok.t) {
      case 'str': case 'num': case 'field': return tok
      case 'var': return tok
      case 'ident':
        if (tok.name === 'true' || tok.name === 'false') return { t: 'bool', v: tok.name === 'true' }
        if (tok.name === 'nil') return { t: 'nil' }
        if (KEYWORDS.has(tok.name) && tok.name !== 'include') fail(`${where}: keyword ${tok.name} out of place`)
        return tok
      case 'lp': {
        let depth = 1
        const start = pos
        while (pos < toks.length && depth > 0) { const x = toks[pos++] as Tok; if (x.t === 'lp') depth++; else if (x.t === 'rp') depth-- }
        if (depth !== 0) fail(`${where}: unbalanced parentheses`)
        return { t: 'paren', pipe: parsePipe(toks.slice(start, pos - 1), where) }
      }
      default: return fail(`${where}: unexpected ${tok.t}`)
    }
  }
  let cmd: Operand[] = []
  while (pos < toks.length) {
    if (toks[pos]?.t === 'pipe') {
      if (cmd.length === 0) fail(`${where}: empty command in pipeline`)
      pipe.cmds.push(cmd); cmd = []; pos++; continue
    }
    cmd.push(operand())
  }
  if (cmd.length === 0) fail(`${where}: empty pipeline`)
  pipe.cmds.push(cmd)
  return pipe
}

interface Parsed { nodes: Node[], defines: Map<string, Node[]> }

function parseTemplate (src: string, name: string): Parsed {
  const pieces = lex(src, name)
  const defines = new Map<string, Node[]>()
  let pos = 0
  // returns at {{ end }} / {{ else }} (reported through `stop`), or at the end of input
  const block = (inside: string | null): { nodes: Node[], stop: 'end' | 'else' | null } => {
    const nodes: Node[] = []
    while (pos < pieces.length) {
      const p = pieces[pos++] as Piece
      if (p.t === 'text') { if (p.s !== '') nodes.push({ t: 'text', s: p.s }); continue }
      const head = p.toks[0]
      const kw = head?.t === 'ident' && KEYWORDS.has(head.name) && head.name !== 'include' ? head.name : null
      if (kw === null) { nodes.push({ t: 'out', pipe: parsePipe(p.toks, p.where) }); continue }
      if (kw === 'end' || kw === 'else') {
        if (p.toks.length !== 1) fail(`${p.where}: "${kw}" with arguments (else if / else with) not supported`)
        if (inside === null) fail(`${p.where}: unexpected ${kw}`)
        return { nodes, stop: kw }
      }
      if (kw === 'if' || kw === 'with' || kw === 'range') {
        const pipe = parsePipe(p.toks.slice(1), p.where)
        if (pipe.decl !== undefined) fail(`${p.where}: variables in ${kw} not supported`)
        const body = block(kw)
        let alt: Node[] | null = null
        if (body.stop === 'else') {
          const rest = block(kw)
          if (rest.stop !== 'end') fail(`${p.where}: ${kw} … else without end`)
          alt = rest.nodes
        } else if (body.stop !== 'end') fail(`${p.where}: ${kw} without end`)
        nodes.push({ t: kw, pipe, body: body.nodes, alt })
        continue
      }
      if (kw === 'define') {
        const nameTok = p.toks[1]
        if (inside !== null || p.toks.length !== 2 || nameTok?.t !== 'str') {
          fail(`${p.where}: define must be top-level with one string name`)
        }
        const body = block('define')
        if (body.stop !== 'end') fail(`${p.where}: define without end`)
        const dname = (nameTok as { v: string }).v
        if (defines.has(dname)) fail(`${p.where}: template ${dname} defined twice`)
        defines.set(dname, body.nodes)
        continue
      }
      fail(`${p.where}: action "${kw}" not supported`)
    }
    if (inside !== null) fail(`${name}: unclosed ${inside}`)
    return { nodes, stop: null }
  }
  const nodes = block(null).nodes
  return { nodes, defines }
}

// ---------- evaluation --------------------------------------------------------------------

/** A built-in object (.Release, .Chart, …): a missing field is an error, as on a Go struct. */
class Struct { constructor (readonly name: string, readonly fields: Obj) {} }

const isMap = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Struct)

/** Go template truth (also sprig's `empty`, negated). */
function truth (v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false
  if (Array.isArray(v)) return v.length > 0
  if (isMap(v)) return Object.keys(v).length > 0
  return true
}

/** What Go prints for a value in {{ }} (helm turns <no value> into ""), or an error. */
function show (v: unknown, where: string): string {
  if (v === undefined || v === null) return ''
  if (typeof v === 'string') return v
  if (typeof v === 'boolean') return String(v)
  // values are float64 in helm: %v prints 1e+06 for a million, 0.5 as 0.5 — keep to the plain ones
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 1e6) return String(v)
  return fail(`${where}: printing ${JSON.stringify(v)} directly is not supported (Go would format it its own way)`)
}

/** Strings YAML 1.1 (Go's yaml, the API server's) reads as something else: refuse to emit them. */
const YAML11_SPECIAL = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|true|True|TRUE|false|False|FALSE|null|Null|NULL|~|)$/
function checkYamlable (v: unknown, where: string): void {
  if (typeof v === 'string' && YAML11_SPECIAL.test(v)) fail(`${where}: toYaml of "${v}" (quoting differs between YAML 1.1 and 1.2)`)
  if (typeof v === 'number' && !(Number.isInteger(v) && Math.abs(v) < 1e6)) fail(`${where}: toYaml of the number ${v} not supported`)
  if (v instanceof Struct) fail(`${where}: toYaml of a built-in object`)
  if (Array.isArray(v)) for (const x of v) checkYamlable(x, where)
  else if (isMap(v)) for (const x of Object.values(v)) checkYamlable(x, where)
}

function sortedJson (v: unknown, where: string): string {
  if (v === undefined || v === null) return 'null'
  if (v instanceof Struct) return fail(`${where}: toJson of a built-in object`)
  if (Array.isArray(v)) return `[${v.map(x => sortedJson(x, where)).join(',')}]`
  if (isMap(v)) return `{${Object.keys(v).sort().map(k => `${JSON.stringify(k)}:${sortedJson(v[k], where)}`).join(',')}}`
  if (typeof v === 'number' && !Number.isFinite(v)) fail(`${where}: toJson of ${v}`)
  return JSON.stringify(v)
}

const str = (v: unknown, fn: string, where: string): string =>
  typeof v === 'string' ? v : fail(`${where}: ${fn} expects a string, got ${JSON.stringify(v)}`)
const int = (v: unknown, fn: string, where: string): number =>
  typeof v === 'number' && Number.isInteger(v) ? v : fail(`${where}: ${fn} expects an integer`)
const ascii = (s: string, fn: string, where: string): string =>
  /^[\x20-\x7e]*$/.test(s) ? s : fail(`${where}: ${fn} on non-ASCII text (bytes vs characters)`)

/** Sprig's strval for quote: strings as they are, numbers and booleans as Go prints them. */
const strval = (v: unknown, where: string): string => typeof v === 'string' ? v : show(v, where)

const indent = (n: number, s: string): string => { const pad = ' '.repeat(n); return pad + s.replaceAll('\n', '\n' + pad) }

interface Scope { dot: unknown, root: unknown, vars: Map<string, unknown>[] }

class Engine {
  constructor (readonly templates: Map<string, Node[]>) {}

  render (nodes: Node[], scope: Scope): string {
    let out = ''
    for (const n of nodes) {
      if (n.t === 'text') { out += n.s; continue }
      if (n.t === 'out') {
        const v = this.pipe(n.pipe, scope)
        if (n.pipe.decl !== undefined) (scope.vars.at(-1) as Map<string, unknown>).set(n.pipe.decl, v)
        else out += show(v, n.pipe.where)
        continue
      }
      const v = this.pipe(n.pipe, scope)
      const inner = (dot: unknown): Scope => ({ dot, root: scope.root, vars: [...scope.vars, new Map()] })
      const otherwise = (): string => n.alt !== null ? this.render(n.alt, inner(scope.dot)) : ''
      if (n.t === 'if') out += truth(v) ? this.render(n.body, inner(scope.dot)) : otherwise()
      else if (n.t === 'with') out += truth(v) ? this.render(n.body, inner(v)) : otherwise()
      else {
        let items: unknown[]
        if (Array.isArray(v)) items = v
        else if (isMap(v)) items = Object.keys(v).sort().map(k => v[k])
        else if (v === undefined || v === null) items = []
        else return fail(`${n.pipe.where}: range over ${JSON.stringify(v)}`)
        if (items.length === 0) out += otherwise()
        else for (const item of items) out += this.render(n.body, inner(item))
      }
    }
    return out
  }

  include (name: unknown, dot: unknown, where: string): string {
    const body = this.templates.get(str(name, 'include', where))
    if (body === undefined) return fail(`${where}: no template named ${String(name)}`)
    return this.render(body, { dot, root: dot, vars: [new Map()] })
  }

  field (base: unknown, path: string[], where: string, what: string): unknown {
    let v = base
    for (const [i, key] of path.entries()) {
      const at = `${what}.${path.slice(0, i + 1).join('.')}`
      if (v instanceof Struct) {
        if (!(key in v.fields)) fail(`${where}: can't evaluate field ${key} in ${v.name} (${at})`)
        v = v.fields[key]
      } else if (isMap(v)) v = Object.hasOwn(v, key) ? v[key] : undefined
      else fail(`${where}: nil pointer or non-map evaluating ${at}`)
    }
    return v
  }

  operand (o: Operand, scope: Scope, where: string): unknown {
    switch (o.t) {
      case 'str': case 'num': case 'bool': return o.v
      case 'nil': return null
      case 'field': return this.field(scope.dot, o.path, where, '')
      case 'var': {
        let base: unknown
        if (o.name === '$') base = scope.root
        else {
          const frame = [...scope.vars].reverse().find(f => f.has(o.name))
          if (frame === undefined) fail(`${where}: undefined variable ${o.name}`)
          base = frame?.get(o.name)
        }
        return this.field(base, o.path, where, o.name)
      }
      case 'ident': return this.call(o.name, [], where)
      case 'paren': return this.pipe(o.pipe, scope)
    }
  }

  pipe (p: Pipe, scope: Scope): unknown {
    let piped: { v: unknown } | null = null
    for (const cmd of p.cmds) {
      const [head, ...rest] = cmd as [Operand, ...Operand[]]
      if (head.t === 'ident') {
        const args = rest.map(o => this.operand(o, scope, p.where))
        if (piped !== null) args.push(piped.v)
        piped = { v: this.call(head.name, args, p.where) }
      } else {
        if (rest.length > 0 || piped !== null) fail(`${p.where}: arguments given to a non-function`)
        piped = { v: this.operand(head, scope, p.where) }
      }
    }
    return (piped as { v: unknown }).v
  }

  call (fn: string, a: unknown[], where: string): unknown {
    const arity = (n: number): void => { if (a.length !== n) fail(`${where}: ${fn} takes ${n} arguments, got ${a.length}`) }
    switch (fn) {
      case 'include': arity(2); return this.include(a[0], a[1], where)
      case 'print':
        if (!a.every(x => typeof x === 'string')) fail(`${where}: print of non-strings not supported`)
        return a.join('')
      case 'printf': {
        const [format, ...args] = a
        let k = 0
        const out = str(format, 'printf', where).replace(/%(.)/g, (_, verb: string) => {
          if (verb === '%') return '%'
          const arg = args[k++]
          if (verb === 's' && typeof arg === 'string') return arg
          if (verb === 'd' && typeof arg === 'number' && Number.isInteger(arg)) return String(arg)
          return fail(`${where}: printf %${verb} with ${JSON.stringify(arg)} not supported`)
        })
        if (k !== args.length) fail(`${where}: printf: ${args.length} arguments for ${k} verbs`)
        return out
      }
      case 'quote': return a.filter(x => x !== undefined && x !== null).map(x => {
        const s = strval(x, where)
        if (/[\x00-\x08\x0b-\x1f\x7f]/.test(s)) fail(`${where}: quote of control characters not supported`)
        return JSON.stringify(s)
      }).join(' ')
      case 'default':
        if (a.length < 1 || a.length > 2) fail(`${where}: default takes 1 or 2 arguments`)
        return a.length === 2 && truth(a[1]) ? a[1] : a[0]
      case 'required':
        arity(2)
        if (a[1] === undefined || a[1] === null || a[1] === '') fail(`${where}: required: ${String(a[0])}`)
        return a[1]
      case 'fail': arity(1); return fail(`${where}: fail: ${String(a[0])}`)
      case 'list': return [...a]
      case 'concat':
        return a.flatMap(x => Array.isArray(x) ? x : x === undefined || x === null ? [] : fail(`${where}: concat of a non-list`))
      case 'toYaml':
        arity(1)
        checkYamlable(a[0], where)
        return stringify(a[0] ?? null, { sortMapEntries: true, indentSeq: false, lineWidth: 0 }).replace(/\n$/, '')
      case 'toJson': arity(1); return sortedJson(a[0], where)
      case 'indent': arity(2); return indent(int(a[0], fn, where), str(a[1], fn, where))
      case 'nindent': arity(2); return '\n' + indent(int(a[0], fn, where), str(a[1], fn, where))
      case 'trunc': {
        arity(2)
        const n = int(a[0], fn, where); const s = ascii(str(a[1], fn, where), fn, where)
        return n >= 0 ? s.slice(0, n) : s.slice(Math.max(0, s.length + n))
      }
      case 'trimSuffix': {
        arity(2)
        const suf = str(a[0], fn, where); const s = str(a[1], fn, where)
        return suf !== '' && s.endsWith(suf) ? s.slice(0, -suf.length) : s
      }
      case 'contains': arity(2); return str(a[1], fn, where).includes(str(a[0], fn, where))
      case 'and': if (a.length < 1) fail(`${where}: and needs arguments`); return a.find(x => !truth(x)) ?? a.at(-1)
      case 'or': if (a.length < 1) fail(`${where}: or needs arguments`); return a.find(x => truth(x)) ?? a.at(-1)
      case 'not': arity(1); return !truth(a[0])
      case 'empty': arity(1); return !truth(a[0])
      case 'eq': case 'ne': {
        arity(2)
        if (!a.every(x => ['string', 'number', 'boolean'].includes(typeof x))) fail(`${where}: ${fn} of non-scalars not supported`)
        return (a[0] === a[1]) === (fn === 'eq')
      }
      case 'sha256sum': arity(1); return createHash('sha256').update(str(a[0], fn, where)).digest('hex')
      case 'b64enc': arity(1); return Buffer.from(str(a[0], fn, where), 'utf8').toString('base64')
      default: return fail(`${where}: function "${fn}" not supported by this renderer`)
    }
  }
}

// ---------- the chart ---------------------------------------------------------------------

/** helm's coalescing of user values over the chart's: maps merge, null deletes, the rest replaces. */
export function mergeValues (base: unknown, over: unknown): unknown {
  if (!isMap(base) || !isMap(over)) return over === undefined ? base : over
  const out: Obj = { ...base }
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k]
    else out[k] = mergeValues(base[k], v)
  }
  return out
}

export interface RenderOptions { releaseName?: string, namespace?: string, values?: Obj }
export interface RenderedTemplate { source: string, text: string }

/** `helm template RELEASE CHART --namespace NS -f values`: the rendered templates, in file
 *  order, those that render to nothing dropped. Throws on anything this renderer does not know. */
export function renderChart (chartDir: string, o: RenderOptions = {}): RenderedTemplate[] {
  for (const entry of readdirSync(chartDir)) {
    if (!['Chart.yaml', 'values.yaml', 'templates', '.helmignore', 'README.md'].includes(entry)) {
      fail(`${chartDir}: ${entry} not supported (dependencies, schemas, crds, …)`)
    }
  }
  const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Obj
  if (chart.apiVersion !== 'v2') fail('Chart.yaml: apiVersion v2 expected')
  if (chart.dependencies !== undefined) fail('Chart.yaml: dependencies not supported')
  const values = mergeValues(parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) ?? {}, o.values ?? {}) as Obj
  const tdir = join(chartDir, 'templates')
  const files = readdirSync(tdir).sort()
  const templates = new Map<string, Node[]>()
  const renderable: string[] = []
  for (const f of files) {
    if (statSync(join(tdir, f)).isDirectory() || !/\.(yaml|yml|tpl)$/.test(f)) {
      fail(`templates/${f}: not supported (only .yaml, .yml, .tpl files)`)
    }
    const name = `${String(chart.name)}/templates/${f}`
    const parsed = parseTemplate(readFileSync(join(tdir, f), 'utf8'), name)
    for (const [d, body] of parsed.defines) {
      if (templates.has(d)) fail(`${name}: template ${d} defined twice`)
      templates.set(d, body)
    }
    templates.set(name, parsed.nodes)
    if (!f.startsWith('_')) renderable.push(name)
  }
  const engine = new Engine(templates)
  const release = new Struct('Release', {
    Name: o.releaseName ?? 'hedge', Namespace: o.namespace ?? 'default', Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1,
  })
  const chartObj = new Struct('Chart', {
    Name: chart.name, Version: chart.version, AppVersion: chart.appVersion,
    Description: chart.description, Type: chart.type, APIVersion: chart.apiVersion,
  })
  const out: RenderedTemplate[] = []
  for (const name of renderable) {
    const top = new Struct('top-level object', {
      Values: values, Release: release, Chart: chartObj, Capabilities: new Struct('Capabilities', {}),
      Template: new Struct('Template', { Name: name, BasePath: `${String(chart.name)}/templates` }),
    })
    const text = engine.render(templates.get(name) as Node[], { dot: top, root: top, vars: [new Map()] })
    if (text.trim() !== '') out.push({ source: name, text })
  }
  return out
}

const KINDS = ['ConfigMap', 'Deployment', 'NetworkPolicy', 'Service']
/** The ways the chart is meant to be installed: [label, options, kinds rendered]; rendered by
 *  test/unit/helm-chart.test.ts with this renderer, and by test/containers/helm.test.ts with helm. */
export const CHART_CASES: Array<[string, RenderOptions, string[]]> = [
  ['HS256, secret from values (defaults)', { values: { auth: { jwtSecret: 'x'.repeat(48) } } }, [...KINDS, 'Secret'].sort()],
  ['HS256, existing Secret', { values: { auth: { existingSecret: 'hedge-jwt' } } }, KINDS],
  ['OIDC: JWKS URL, egress to the provider', {
    releaseName: 'agent7', namespace: 'lab',
    values: {
      auth: { jwksUrl: 'https://idp.example/.well-known/jwks.json', algorithms: ['ES256'], issuer: 'https://idp.example' },
      networkPolicy: { extraEgress: [{ to: [{ ipBlock: { cidr: '203.0.113.10/32' } }], ports: [{ protocol: 'TCP', port: 443 }] }] },
    },
  }, KINDS],
  ['inline JWKS, PVC workspace, web egress, baseline-only sandbox', {
    releaseName: 'my-hedge-sandbox', namespace: 'agents',
    values: {
      auth: { jwks: '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}', algorithms: ['EdDSA'] },
      sandbox: { appendOnlyStore: false, workspace: { existingClaim: 'agent-work' } },
      networkPolicy: { allowWebEgress: true },
      policy: { extraHosts: ['sandbox.example.com'], overrides: { listen: { adminPort: 18080 } } },
    },
  }, KINDS],
  ['no NetworkPolicy', { values: { auth: { existingSecret: 'hedge-jwt' }, networkPolicy: { enabled: false } } },
    ['ConfigMap', 'Deployment', 'Service']],
]

// ---------- the chart against the plain manifest --------------------------------------------

/** The host names a policy must allow for a Service `svc` in namespace `ns` (and loopback). */
export const serviceHosts = (svc: string, ns: string): string[] =>
  ['127.0.0.1', 'localhost', '[::1]', svc, `${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`]

export interface Equality { what: string, chart: unknown, manifest: unknown }

const byName = (a: Obj, b: Obj): number => String(a.name).localeCompare(String(b.name))
const mounts = (c: Obj): unknown[] => ((c.volumeMounts ?? []) as Obj[])
  .map(m => ({ name: m.name, mountPath: m.mountPath, readOnly: m.readOnly === true })).sort(byName)
const envShape = (c: Obj): unknown[] => ((c.env ?? []) as Obj[])
  .map(e => ({ name: e.name, value: e.value, secretKey: e.valueFrom?.secretKeyRef?.key })).sort(byName)
/** A volume without the names that differ by design (the release's ConfigMap name). */
const volumeShape = (v: Obj): Obj => v.configMap !== undefined ? { name: v.name, configMap: true } : v

/** What must be equal between the chart rendered (release docs, `ns`) and the plain manifest
 *  (written for `default`): everything security-relevant and the wiring. Test files assert
 *  each pair with t.same; test/containers/helm.test.ts does the same with the real helm. */
export function chartVsManifest (chartDocs: readonly Obj[], manifestDocs: readonly Obj[], ns: string): Equality[] {
  const one = (docs: readonly Obj[], kind: string): Obj => {
    const all = docs.filter(d => d.kind === kind)
    if (all.length !== 1) throw new Error(`expected one ${kind}, found ${all.length}`)
    return all[0] as Obj
  }
  const out: Equality[] = []
  const eq = (what: string, f: (docs: readonly Obj[]) => unknown): void => {
    out.push({ what, chart: f(chartDocs), manifest: f(manifestDocs) })
  }
  const pod = (docs: readonly Obj[]): Obj => one(docs, 'Deployment').spec.template.spec as Obj
  const container = (docs: readonly Obj[], name: string): Obj => {
    const c = (pod(docs).containers as Obj[]).find(x => x.name === name)
    if (c === undefined) throw new Error(`no container ${name}`)
    return c
  }
  eq('containers', docs => (pod(docs).containers as Obj[]).map(c => c.name))
  eq('Deployment replicas and strategy', docs => [one(docs, 'Deployment').spec.replicas, one(docs, 'Deployment').spec.strategy])
  eq('pod-level settings', docs => {
    const { containers: _c, volumes: _v, ...rest } = pod(docs)
    return rest
  })
  eq('volumes', docs => (pod(docs).volumes as Obj[]).map(volumeShape).sort(byName))
  for (const name of ['sandbox', 'gateway']) {
    eq(`${name}: args`, docs => container(docs, name).args)
    eq(`${name}: command`, docs => container(docs, name).command)
    eq(`${name}: securityContext`, docs => container(docs, name).securityContext)
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      eq(`${name}: ${probe}`, docs => container(docs, name)[probe])
    }
    eq(`${name}: volumeMounts`, docs => mounts(container(docs, name)))
    eq(`${name}: env`, docs => envShape(container(docs, name)))
    eq(`${name}: ports`, docs => container(docs, name).ports)
    eq(`${name}: resources`, docs => container(docs, name).resources)
  }
  eq('Service ports', docs => one(docs, 'Service').spec.ports)
  eq('Service type', docs => one(docs, 'Service').spec.type ?? 'ClusterIP')
  eq('NetworkPolicy rules', docs => {
    const { podSelector: _p, ...rest } = one(docs, 'NetworkPolicy').spec as Obj
    return rest
  })
  eq('selectors select the pod', docs => {
    const labels = one(docs, 'Deployment').spec.template.metadata.labels as Obj
    const within = (sel: Obj): boolean => Object.entries(sel).every(([k, v]) => labels[k] === v)
    return [within(one(docs, 'Deployment').spec.selector.matchLabels), within(one(docs, 'Service').spec.selector),
      within(one(docs, 'NetworkPolicy').spec.podSelector.matchLabels)]
  })
  eq('policy ConfigMap: mounted, allows exactly loopback and the Service\'s names', docs => {
    const cmName = (pod(docs).volumes as Obj[]).find(v => v.name === 'policy')?.configMap?.name
    const cm = docs.find(d => d.kind === 'ConfigMap' && d.metadata?.name === cmName)
    const policy = parse(String(cm?.data?.['policy.yaml'])) as Obj
    const allow = (policy.hosts?.allow ?? []) as string[]
    const expected = serviceHosts(String(one(docs, 'Service').metadata.name), docs === chartDocs ? ns : 'default')
    return { extends: policy.extends, missing: expected.filter(h => !allow.includes(h)), extra: allow.filter(h => !expected.includes(h)) }
  })
  return out
}
