// The key-event rule against Chromium's own accelerator table (docs/chromium-accelerators.json):
// every entry is refused (bar the reviewed exceptions), and the keys automation clients press pass.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { judgeKeyEvent, MOD } from '../../src/cdp/input-rules.ts'

interface Entry { key: string, windowsVirtualKeyCode: number, modifiers: string, command: string, accepted?: string }
const table = JSON.parse(readFileSync(new URL('../../docs/chromium-accelerators.json', import.meta.url), 'utf8')) as { accelerators: Entry[] }
const bits = (m: string): number => m === '' ? 0 : m.split('+').reduce((n, k) => n | MOD[k as keyof typeof MOD], 0)

t.test('every accelerator in Chromium\'s table is refused, for every event type and with Meta for Ctrl', async t => {
  t.ok(table.accelerators.length > 100)
  for (const a of table.accelerators) {
    if (a.accepted !== undefined) continue
    const m = bits(a.modifiers)
    for (const type of ['keyDown', 'rawKeyDown', 'keyUp', 'char']) {
      const v = judgeKeyEvent({ type, modifiers: m, windowsVirtualKeyCode: a.windowsVirtualKeyCode })
      t.equal(v.allowed, false, `${a.modifiers}+${a.key} (${a.command}) ${type}`)
    }
    if ((m & MOD.ctrl) !== 0) t.equal(judgeKeyEvent({ type: 'keyDown', modifiers: (m & ~MOD.ctrl) | MOD.meta, windowsVirtualKeyCode: a.windowsVirtualKeyCode }).allowed, false, `Meta for Ctrl: ${a.key}`)
    t.equal(judgeKeyEvent({ type: 'keyDown', modifiers: m, nativeVirtualKeyCode: a.windowsVirtualKeyCode }).allowed, false, `native code only: ${a.key}`)
  }
})

t.test('what Playwright and Puppeteer send for typing and editing passes', async t => {
  const ok: Array<[string, Record<string, unknown>]> = [
    ['letter', { type: 'keyDown', key: 'a', code: 'KeyA', windowsVirtualKeyCode: 65, text: 'a' }],
    ['capital', { type: 'keyDown', modifiers: MOD.shift, key: 'A', code: 'KeyA', windowsVirtualKeyCode: 65, text: 'A' }],
    ['Enter', { type: 'keyDown', key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13, text: '\r' }],
    ['Tab', { type: 'rawKeyDown', key: 'Tab', windowsVirtualKeyCode: 9 }],
    ['Backspace', { type: 'rawKeyDown', key: 'Backspace', windowsVirtualKeyCode: 8 }],
    ['ArrowLeft', { type: 'rawKeyDown', key: 'ArrowLeft', windowsVirtualKeyCode: 37 }],
    ['Escape', { type: 'rawKeyDown', key: 'Escape', windowsVirtualKeyCode: 27 }],
    ['Control down', { type: 'rawKeyDown', modifiers: MOD.ctrl, key: 'Control', code: 'ControlLeft', windowsVirtualKeyCode: 17, location: 1 }],
    ['Control+A', { type: 'rawKeyDown', modifiers: MOD.ctrl, key: 'a', code: 'KeyA', windowsVirtualKeyCode: 65, commands: ['selectAll'] }],
    ['Control+C', { type: 'rawKeyDown', modifiers: MOD.ctrl, key: 'c', windowsVirtualKeyCode: 67 }],
    ['Control+V', { type: 'rawKeyDown', modifiers: MOD.ctrl, key: 'v', windowsVirtualKeyCode: 86 }],
    ['Control+Shift+Z', { type: 'rawKeyDown', modifiers: MOD.ctrl | MOD.shift, key: 'Z', windowsVirtualKeyCode: 90 }],
    ['Control+Shift+ArrowLeft', { type: 'rawKeyDown', modifiers: MOD.ctrl | MOD.shift, key: 'ArrowLeft', windowsVirtualKeyCode: 37 }],
    ['Meta+A', { type: 'rawKeyDown', modifiers: MOD.meta, key: 'a', windowsVirtualKeyCode: 65 }],
    ['text only', { type: 'keyDown', text: 'é', key: 'é' }],
    ['keyUp Control', { type: 'keyUp', key: 'Control', windowsVirtualKeyCode: 17 }],
  ]
  for (const [name, p] of ok) t.same(judgeKeyEvent(p), { allowed: true }, name)
})

t.test('near misses of the allowed combinations are refused, and malformed events fail closed', async t => {
  const no: Array<[string, Record<string, unknown>, string]> = [
    ['Control+Shift+A (tab search)', { type: 'keyDown', modifiers: MOD.ctrl | MOD.shift, windowsVirtualKeyCode: 65 }, 'cdp.input:accelerator'],
    ['Control+Shift+C (inspect)', { type: 'keyDown', modifiers: MOD.ctrl | MOD.shift, windowsVirtualKeyCode: 67 }, 'cdp.input:accelerator'],
    ['Control+Shift+Delete', { type: 'keyDown', modifiers: MOD.ctrl | MOD.shift, windowsVirtualKeyCode: 46 }, 'cdp.input:accelerator'],
    ['Alt alone', { type: 'keyDown', windowsVirtualKeyCode: 18 }, 'cdp.input:accelerator'],
    ['Alt+a', { type: 'keyDown', modifiers: MOD.alt, windowsVirtualKeyCode: 65 }, 'cdp.input:accelerator'],
    ['Shift+Escape (task manager)', { type: 'keyDown', modifiers: MOD.shift, windowsVirtualKeyCode: 27 }, 'cdp.input:accelerator'],
    ['F2', { type: 'keyDown', windowsVirtualKeyCode: 113 }, 'cdp.input:accelerator'],
    ['F24', { type: 'keyDown', windowsVirtualKeyCode: 135 }, 'cdp.input:accelerator'],
    ['context-menu key', { type: 'keyDown', windowsVirtualKeyCode: 93 }, 'cdp.input:accelerator'],
    ['media key', { type: 'keyDown', windowsVirtualKeyCode: 179 }, 'cdp.input:accelerator'],
    ['Ctrl with no key code', { type: 'keyDown', modifiers: MOD.ctrl, key: 'j', code: 'KeyJ' }, 'cdp.input:accelerator'],
    ['codes that disagree', { type: 'keyDown', modifiers: MOD.ctrl, windowsVirtualKeyCode: 65, nativeVirtualKeyCode: 74 }, 'cdp.input:key-code'],
    ['fractional code', { type: 'keyDown', windowsVirtualKeyCode: 65.5 }, 'cdp.input:key-code'],
    ['string code', { type: 'keyDown', windowsVirtualKeyCode: '74' }, 'cdp.input:key-code'],
    ['modifiers out of range', { type: 'keyDown', modifiers: 16, windowsVirtualKeyCode: 65 }, 'cdp.input:modifiers'],
    ['modifiers as string', { type: 'keyDown', modifiers: '2', windowsVirtualKeyCode: 65 }, 'cdp.input:modifiers'],
    ['unknown type', { type: 'keyPress', windowsVirtualKeyCode: 65 }, 'cdp.input:type'],
    ['system key', { type: 'keyDown', isSystemKey: true, windowsVirtualKeyCode: 65 }, 'cdp.input:system-key'],
    ['commands not strings', { type: 'keyDown', windowsVirtualKeyCode: 65, commands: [1] }, 'cdp.input:commands'],
  ]
  for (const [name, p, rule] of no) {
    const v = judgeKeyEvent(p)
    t.equal(v.allowed, false, name)
    if (!v.allowed) t.equal(v.rule, rule, `${name}: ${rule}`)
  }
})
