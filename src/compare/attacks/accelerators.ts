// Side effects of allowed input: a key press Chromium maps to a browser command (an
// "accelerator") opens windows no CDP method would be allowed to open — a DevTools frontend
// (Ctrl+Shift+J / Ctrl+Shift+I / F12), chrome://history (Ctrl+H), chrome://downloads
// (Ctrl+J). The helpers here press keys the way Playwright does (Input.dispatchKeyEvent on a
// page session), wait for the new target, and use a DevTools frontend's embedder channel
// (InspectorFrontendHost.sendMessageToBackend): raw CDP that never passes the gateway's filter.
import { waitUntil } from '../../util/wait.ts'
import { evaluate, reason, type CdpConnection } from '../cdp-client.ts'

/** A key chord as Input.dispatchKeyEvent takes it (modifiers: Alt=1, Ctrl=2, Meta=4, Shift=8). */
export interface Chord {
  readonly label: string
  readonly key: string
  readonly code: string
  readonly keyCode: number
  readonly modifiers: number
}

export const CTRL_SHIFT_J: Chord = { label: 'Ctrl+Shift+J', key: 'J', code: 'KeyJ', keyCode: 74, modifiers: 10 }
export const CTRL_SHIFT_I: Chord = { label: 'Ctrl+Shift+I', key: 'I', code: 'KeyI', keyCode: 73, modifiers: 10 }
export const F12: Chord = { label: 'F12', key: 'F12', code: 'F12', keyCode: 123, modifiers: 0 }
export const CTRL_H: Chord = { label: 'Ctrl+H', key: 'h', code: 'KeyH', keyCode: 72, modifiers: 2 }
export const CTRL_J: Chord = { label: 'Ctrl+J', key: 'j', code: 'KeyJ', keyCode: 74, modifiers: 2 }
export const CTRL_L: Chord = { label: 'Ctrl+L', key: 'l', code: 'KeyL', keyCode: 76, modifiers: 2 }
export const CTRL_U: Chord = { label: 'Ctrl+U', key: 'u', code: 'KeyU', keyCode: 85, modifiers: 2 }
export const CTRL_T: Chord = { label: 'Ctrl+T', key: 't', code: 'KeyT', keyCode: 84, modifiers: 2 }
export const CTRL_N: Chord = { label: 'Ctrl+N', key: 'n', code: 'KeyN', keyCode: 78, modifiers: 2 }
export const CTRL_SHIFT_N: Chord = { label: 'Ctrl+Shift+N', key: 'N', code: 'KeyN', keyCode: 78, modifiers: 10 }
export const CTRL_P: Chord = { label: 'Ctrl+P', key: 'p', code: 'KeyP', keyCode: 80, modifiers: 2 }

/** keyDown + keyUp of `chord` on a page session (what page.keyboard.press sends). Rejects when refused. */
export async function press (c: CdpConnection, sessionId: string, chord: Chord): Promise<void> {
  const base = {
    key: chord.key,
    code: chord.code,
    windowsVirtualKeyCode: chord.keyCode,
    nativeVirtualKeyCode: chord.keyCode,
    modifiers: chord.modifiers,
  }
  await c.send('Input.dispatchKeyEvent', { type: 'rawKeyDown', ...base }, sessionId, 5000)
  await c.send('Input.dispatchKeyEvent', { type: 'keyUp', ...base }, sessionId, 5000)
}

export interface TargetInfo { targetId: string, type: string, url: string, title?: string, browserContextId?: string }

/** Targets the connection can see (Target.getTargets), [] when refused. */
export async function targets (c: CdpConnection): Promise<TargetInfo[]> {
  const r = await c.send<{ targetInfos: TargetInfo[] }>('Target.getTargets', {}, undefined, 5000).catch(() => ({ targetInfos: [] }))
  return r.targetInfos
}

/** Wait (bounded) for a target matching `pred` that was not in `before`. */
export async function newTarget (
  c: CdpConnection, before: ReadonlySet<string>, pred: (t: TargetInfo) => boolean, timeoutMs = 8000,
): Promise<TargetInfo | undefined> {
  let found: TargetInfo | undefined
  await waitUntil('a new target', async () => {
    found = (await targets(c)).find(t => !before.has(t.targetId) && pred(t))
    return found !== undefined
  }, timeoutMs, 150).catch(() => {})
  return found
}

/** Close targets opened as a side effect (harness tidiness through the attacker's own connection; best effort). */
export async function closeNew (c: CdpConnection, before: ReadonlySet<string>): Promise<void> {
  if (!c.isOpen()) return
  for (const t of await targets(c)) {
    if (!before.has(t.targetId) && (t.type === 'page' || t.url.startsWith('devtools://'))) {
      await c.send('Target.closeTarget', { targetId: t.targetId }, undefined, 3000).catch(() => {})
    }
  }
}

// Installed in the DevTools frontend: answers to our ids (≥ 900000) are kept out of the
// frontend and collected in window.__hedgeRaw (chunked messages reassembled first).
const HOOK = `(() => {
  if (window.__hedgeRaw) return 'hooked';
  if (document.readyState !== 'complete') return 'loading';
  const api = window.DevToolsAPI, host = window.InspectorFrontendHost;
  if (!api || !host || typeof host.sendMessageToBackend !== 'function') return 'no embedder API';
  window.__hedgeRaw = new Map();
  const take = m => { try { const o = typeof m === 'string' ? JSON.parse(m) : m; ` +
  `if (o && typeof o.id === 'number' && o.id >= 900000) { window.__hedgeRaw.set(o.id, o); return true } } catch (e) {} return false };
  let buf = null, want = 0;
  const dm = api.dispatchMessage.bind(api);
  api.dispatchMessage = m => { if (!take(m)) dm(m) };
  api.dispatchMessageChunk = (chunk, size) => {
    if (size) { buf = ''; want = size }
    if (buf === null) return;
    buf += chunk;
    if (buf.length >= want) { const m = buf; buf = null; if (!take(m)) dm(m) }
  };
  return 'hooked';
})()`

/** Raw CDP through a DevTools frontend's embedder channel (to the tab it inspects). */
export interface FrontendChannel {
  readonly sessionId: string
  readonly targetId: string
  /** `sessionId`: a session the frontend's own connection attached (the frontend talks to the tab target). */
  send: <T = any>(method: string, params?: object, sessionId?: string, timeoutMs?: number) => Promise<T>
}

let rawId = 900000

/**
 * Attach (flat) to the DevTools frontend `target`, wait for its embedder API and hook it.
 * Rejects when the attach is refused or the frontend never offers the API.
 */
export async function frontendChannel (c: CdpConnection, target: TargetInfo): Promise<FrontendChannel> {
  const { sessionId } = await c.send<{ sessionId: string }>('Target.attachToTarget', { targetId: target.targetId, flatten: true }, undefined, 5000)
  let state = ''
  await waitUntil('the DevTools frontend embedder API', async () => {
    state = await evaluate<string>(c, sessionId, HOOK, { timeoutMs: 3000 })
    return state === 'hooked'
  }, 10_000, 200).catch((err: unknown) => { throw new Error(`frontend: ${state || reason(err)}`) })
  const ch: FrontendChannel = {
    sessionId,
    targetId: target.targetId,
    async send<T = any> (method: string, params: object = {}, sid?: string, timeoutMs = 8000): Promise<T> {
      const id = ++rawId
      const msg = JSON.stringify({ id, method, params, ...(sid !== undefined ? { sessionId: sid } : {}) })
      const expr = `(async () => {
        window.InspectorFrontendHost.sendMessageToBackend(${JSON.stringify(msg)});
        const end = Date.now() + ${timeoutMs};
        while (!window.__hedgeRaw.has(${id})) { if (Date.now() > end) return JSON.stringify({ error: { message: 'no answer' } }); await new Promise(r => setTimeout(r, 25)) }
        const o = window.__hedgeRaw.get(${id}); window.__hedgeRaw.delete(${id}); return JSON.stringify(o);
      })()`
      const out = JSON.parse(await evaluate<string>(c, sessionId, expr, { awaitPromise: true, timeoutMs: timeoutMs + 3000 })) as {
        result?: T, error?: { message?: string }
      }
      if (out.error !== undefined) throw new Error(`${method} via the frontend: ${String(out.error.message)}`)
      return out.result as T
    },
  }
  // The embedder connects the frontend to its backend once the app has started: probe until a command is answered.
  let probe = ''
  await waitUntil('the frontend\'s backend connection', async () => {
    probe = await ch.send('Target.getTargetInfo', {}, undefined, 1000).then(() => 'answered', (err: unknown) => reason(err))
    return probe === 'answered' || !probe.endsWith('no answer')
  }, 15_000, 100).catch(() => { throw new Error(`frontend: backend never answered (${probe})`) })
  return ch
}

export const isDevtools = (t: TargetInfo): boolean => t.url.startsWith('devtools://')

/**
 * Press each chord in turn on `sessionId` until a DevTools frontend target appears; returns
 * the target and notes for evidence (which chord opened it, or why none did).
 */
export async function openDevtoolsByKey (
  c: CdpConnection, sessionId: string, chords: readonly Chord[] = [CTRL_SHIFT_J, CTRL_SHIFT_I, F12],
): Promise<{ target?: TargetInfo, notes: string[] }> {
  const notes: string[] = []
  for (const chord of chords) {
    const before = new Set((await targets(c)).map(t => t.targetId))
    try { await press(c, sessionId, chord) } catch (err) { notes.push(`${chord.label}: ${reason(err)}`); continue }
    const target = await newTarget(c, before, isDevtools, 6000)
    if (target !== undefined) { notes.push(`${chord.label} opened ${target.url.slice(0, 48)}…`); return { target, notes } }
    notes.push(`${chord.label}: no DevTools target`)
  }
  return { notes }
}
