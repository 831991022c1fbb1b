// Keeps at least one page tab open in a supervised Chromium, as the documented sandbox
// does: clients that list /json and attach to "the" page must always find one. It
// watches targets over the browser's own CDP WebSocket (Target.setDiscoverTargets) and,
// when no `type: "page"` target is left, opens about:blank with `PUT /json/new`.
import type { Socket } from 'node:net'
import WebSocket from 'ws'
import type { Logger } from '../logger.ts'

const CALL_TIMEOUT_MS = 10_000

interface TargetInfo { targetId: string, type: string }

export interface TabKeeper { close(): void }

/** Connect to Chromium at `httpUrl` (http://127.0.0.1:PORT) and keep a page open until close(). */
export async function keepOneTab (httpUrl: string, logger: Logger, o: { keepAlive?: boolean } = {}): Promise<TabKeeper> {
  const version = await (await fetch(`${httpUrl}/json/version`, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })).json() as { webSocketDebuggerUrl: string }
  let socket: Socket | undefined
  const ws = new WebSocket(version.webSocketDebuggerUrl, {
    perMessageDeflate: false,
    handshakeTimeout: CALL_TIMEOUT_MS,
  })
  ws.once('upgrade', res => { socket = res.socket })
  const pages = new Set<string>()
  const pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }>()
  let nextId = 1
  let closed = false
  let opening = false

  const call = (method: string, params: object = {}): Promise<unknown> => new Promise((resolve, reject) => {
    const id = nextId++
    const timer = setTimeout(() => { pending.delete(id); reject(new Error(`${method} timed out after ${CALL_TIMEOUT_MS} ms`)) }, CALL_TIMEOUT_MS)
    pending.set(id, { resolve, reject, timer })
    ws.send(JSON.stringify({ id, method, params }))
  })

  const openTabIfNone = async (): Promise<void> => {
    if (closed || opening || pages.size > 0) return
    opening = true
    try {
      const res = await fetch(`${httpUrl}/json/new?about:blank`, { method: 'PUT', signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })
      await res.arrayBuffer()
      if (!res.ok) throw new Error(`PUT /json/new answered ${res.status}`)
      logger.info({ event: 'chromium.tab.opened' }, 'no page tab left: opened about:blank')
    } catch (err) {
      if (!closed) logger.warn({ err }, 'could not open a replacement tab')
    } finally { opening = false }
    // a page may have been closed while we were opening one
    if (!closed && pages.size === 0) void openTabIfNone()
  }

  const onTarget = (info: TargetInfo): void => {
    if (info.type === 'page') pages.add(info.targetId)
    else pages.delete(info.targetId)
  }

  ws.on('message', (data: WebSocket.RawData) => {
    let msg: { id?: number, method?: string, params?: Record<string, unknown>, result?: unknown, error?: { message: string } }
    try { msg = JSON.parse(data.toString()) } catch { return }
    if (typeof msg.id === 'number') {
      const p = pending.get(msg.id)
      if (p === undefined) return
      pending.delete(msg.id); clearTimeout(p.timer)
      if (msg.error !== undefined) p.reject(new Error(msg.error.message)); else p.resolve(msg.result)
      return
    }
    if (msg.method === 'Target.targetCreated' || msg.method === 'Target.targetInfoChanged') {
      onTarget(msg.params?.targetInfo as TargetInfo)
    } else if (msg.method === 'Target.targetDestroyed' || msg.method === 'Target.targetCrashed') {
      pages.delete(msg.params?.targetId as string)
    } else return
    if (pages.size === 0) void openTabIfNone()
  })

  const failAll = (reason: string): void => {
    for (const [id, p] of pending) { clearTimeout(p.timer); p.reject(new Error(reason)); pending.delete(id) }
  }
  ws.on('close', () => { failAll('browser socket closed') })
  ws.on('error', err => { if (!closed) logger.debug({ err }, 'tab keeper socket error') })

  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  // setDiscoverTargets replays targetCreated for every existing target before it answers.
  await call('Target.setDiscoverTargets', { discover: true })
  // keepAlive false: once set up, this watcher alone does not keep the Node process running
  if (o.keepAlive === false) socket?.unref()
  if (pages.size === 0) void openTabIfNone()

  return {
    close () {
      closed = true
      failAll('tab keeper closed')
      ws.terminate()
    },
  }
}
