// Input.dispatchKeyEvent judged on what Chromium does with the key, not on the method name.
// A key event that the page does not consume goes through the browser's accelerator table:
// Ctrl+Shift+J / Ctrl+Shift+I / F12 open a DevTools frontend (raw CDP past the gateway),
// Ctrl+H / Ctrl+J open chrome:// WebUI, Ctrl+L / F6 focus the omnibox (typing a URL there
// navigates around the URL policy), Ctrl+T / Ctrl+N open tabs, Ctrl+O / Ctrl+S / Ctrl+P open
// file and print dialogs. Chromium looks the accelerator up by `windowsVirtualKeyCode` and the
// modifier bits (docs/cdp-model.md), so that is what is judged here.
//
// The rule is an allowlist (fail closed): without Ctrl/Alt/Meta, the keys that type and edit
// text and move the caret; with Ctrl or Meta, only the clipboard/undo/select-all and
// word-navigation combinations automation clients press; Alt never (Alt alone focuses the
// menu bar, Alt+arrows navigate history). test/unit/cdp-input-rules.test.ts checks that no
// entry of Chromium's accelerator table (docs/chromium-accelerators.json) gets through.

export const MOD = { alt: 1, ctrl: 2, meta: 4, shift: 8 } as const

/** Keys allowed with no Ctrl/Alt/Meta (Shift is fine): Windows virtual-key codes. */
const PLAIN_KEYS = new Set<number>([
  8, 9, 13, 16, 17, 20, 27, 32, 33, 34, 35, 36, 37, 38, 39, 40, 45, 46, // editing, caret, Shift/Control/CapsLock, Escape
  ...range(48, 57), ...range(65, 90), 91, 92, ...range(96, 111), // digits, letters, Meta keys, numpad
  ...range(186, 192), ...range(219, 223), 226, // punctuation (OEM keys)
])
/** Escape with Shift is the task manager. */
const NOT_WITH_SHIFT = new Set<number>([27])

/** Ctrl or Meta (optionally with Shift where listed) + key: editing only. */
const CTRL_KEYS = new Map<number, { shift: boolean }>([
  [65, { shift: false }], // A select all (Ctrl+Shift+A is tab search)
  [67, { shift: false }], // C copy (Ctrl+Shift+C is DevTools inspect)
  [86, { shift: false }], // V paste
  [88, { shift: false }], // X cut
  [89, { shift: false }], // Y redo
  [90, { shift: true }], // Z undo, Ctrl+Shift+Z redo
  [8, { shift: true }], // Backspace: delete word
  [46, { shift: false }], // Delete: delete word (Ctrl+Shift+Delete clears browsing data)
  [13, { shift: true }], // Enter
  [35, { shift: true }], [36, { shift: true }], // End, Home
  [37, { shift: true }], [38, { shift: true }], [39, { shift: true }], [40, { shift: true }], // arrows
])
/** Modifier keys themselves, pressed while other modifiers are held (Control, then Shift). */
const MODIFIER_KEYS = new Set<number>([16, 17, 91, 92])

const TYPES = new Set(['keyDown', 'keyUp', 'rawKeyDown', 'char'])

function range (a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i)
}

export type InputVerdict = { readonly allowed: true } | { readonly allowed: false, readonly rule: string, readonly message: string }

const refuse = (rule: string, message: string): InputVerdict => ({ allowed: false, rule: `cdp.input:${rule}`, message })

function optionalInt (v: unknown): number | undefined | null {
  if (v === undefined) return undefined
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff ? v : null
}

/** Would Chromium run a browser command (accelerator) for this Input.dispatchKeyEvent? Refused if it might. */
export function judgeKeyEvent (p: Record<string, unknown>): InputVerdict {
  if (typeof p.type !== 'string' || !TYPES.has(p.type)) return refuse('type', 'unknown key event type')
  if (p.isSystemKey !== undefined && p.isSystemKey !== false) return refuse('system-key', 'system key events are browser shortcuts')
  const modifiers = p.modifiers === undefined ? 0 : p.modifiers
  if (typeof modifiers !== 'number' || !Number.isInteger(modifiers) || modifiers < 0 || modifiers > 15) return refuse('modifiers', 'modifiers must be an integer bit set 0-15')
  const vk = optionalInt(p.windowsVirtualKeyCode)
  const native = optionalInt(p.nativeVirtualKeyCode)
  if (vk === null || native === null) return refuse('key-code', 'key codes must be integers')
  // Chromium takes the accelerator from windowsVirtualKeyCode; a native code that disagrees is ambiguous.
  if (native !== undefined && native !== 0 && vk !== undefined && native !== vk) return refuse('key-code', 'nativeVirtualKeyCode differs from windowsVirtualKeyCode')
  const code = vk ?? (native !== undefined && native !== 0 ? native : 0)
  if (p.commands !== undefined && !(Array.isArray(p.commands) && p.commands.every(c => typeof c === 'string'))) return refuse('commands', 'commands must be strings')
  const shift = (modifiers & MOD.shift) !== 0
  if ((modifiers & MOD.alt) !== 0) return refuse('accelerator', 'key combinations with Alt are browser shortcuts')
  if ((modifiers & (MOD.ctrl | MOD.meta)) !== 0) {
    if (MODIFIER_KEYS.has(code)) return { allowed: true }
    const ok = CTRL_KEYS.get(code)
    if (ok === undefined || (shift && !ok.shift)) return refuse('accelerator', `Ctrl/Meta+${shift ? 'Shift+' : ''}key ${code} may be a browser shortcut`)
    return { allowed: true }
  }
  if (code === 0) return { allowed: true } // text only (no key code): nothing to look up
  if (!PLAIN_KEYS.has(code) || (shift && NOT_WITH_SHIFT.has(code))) return refuse('accelerator', `key ${code} may be a browser shortcut`)
  return { allowed: true }
}
