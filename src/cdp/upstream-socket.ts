// The relay's leg to Chromium: a minimal RFC 6455 client on a raw socket. Why not `ws`:
// on every round trip `ws` would parse, UTF-8-validate and re-frame Chromium's answer
// before we frame it again for the client. Chromium's frames are unmasked and carry no
// extension (none is offered), which is exactly what a server sends a client, so a whole
// frame can be written to the client's socket as received: no copy, no re-framing.
// Anything unexpected from Chromium (RSV bits, masked frames, oversize) closes the leg.
import { connect, type Socket } from 'node:net'
import { createHash, randomBytes, randomFillSync } from 'node:crypto'
import { EventEmitter } from 'node:events'

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const MAX_MESSAGE = 1024 * 1024 * 1024
export const OPEN = 1
export const CLOSED = 3

/**
 * Events: 'message' (payload: Buffer, isBinary: boolean, frame: Buffer | undefined — the
 * whole frame as received when it was one unfragmented data frame), 'close' (code), 'error'.
 */
export class UpstreamSocket extends EventEmitter {
  readyState = OPEN
  private chunks: Buffer[] = []
  private buffered = 0
  private fragments: Buffer[] | undefined
  private fragmentBinary = false
  private readonly maskPool = Buffer.alloc(4 * 1024)
  private maskAt = this.maskPool.length

  constructor (private readonly socket: Socket, head: Buffer) {
    super()
    socket.setNoDelay(true)
    socket.on('data', (c: Buffer) => { this.safePush(c) })
    socket.on('close', () => { this.finish(1006) })
    socket.on('error', err => { this.emit('error', err) })
    if (head.length > 0) queueMicrotask(() => { this.safePush(head) })
  }

  /** A masked frame (client→server frames must be masked, RFC 6455 §5.3), written in one call. */
  send (data: string | Buffer, opts: { binary?: boolean } = {}): void {
    if (this.readyState !== OPEN) return
    const len = typeof data === 'string' ? Buffer.byteLength(data) : data.length
    this.writeFrame(opts.binary === true ? 0x2 : 0x1, data, len)
  }

  close (code = 1000): void {
    if (this.readyState !== OPEN) return
    const payload = Buffer.alloc(2)
    payload.writeUInt16BE(code)
    this.writeFrame(0x8, payload, 2)
    this.readyState = CLOSED
    this.socket.end()
  }

  terminate (): void { this.socket.destroy(); this.finish(1006) }

  private finish (code: number): void {
    if (this.readyState === CLOSED && this.listenerCount('close') === 0) return
    this.readyState = CLOSED
    this.emit('close', code)
    this.removeAllListeners('close')
  }

  private nextMask (): Buffer {
    if (this.maskAt + 4 > this.maskPool.length) { randomFillSync(this.maskPool); this.maskAt = 0 }
    const m = this.maskPool.subarray(this.maskAt, this.maskAt + 4)
    this.maskAt += 4
    return m
  }

  private writeFrame (opcode: number, data: string | Buffer, len: number): void {
    const hlen = len < 126 ? 2 : len < 65536 ? 4 : 10
    const frame = Buffer.allocUnsafe(hlen + 4 + len)
    frame[0] = 0x80 | opcode
    if (len < 126) frame[1] = 0x80 | len
    else if (len < 65536) { frame[1] = 0x80 | 126; frame.writeUInt16BE(len, 2) } else { frame[1] = 0x80 | 127; frame.writeBigUInt64BE(BigInt(len), 2) }
    const mask = this.nextMask()
    mask.copy(frame, hlen)
    const start = hlen + 4
    if (typeof data === 'string') frame.write(data, start, 'utf8')
    else data.copy(frame, start)
    for (let i = 0; i < len; i++) frame[start + i] = (frame[start + i] as number) ^ (mask[i & 3] as number)
    this.socket.write(frame)
  }

  private fail (reason: string): void {
    this.emit('error', new Error(`browser sent an invalid frame: ${reason}`))
    this.terminate()
  }

  /** A bug or a surprise in frame handling closes this connection, never the gateway. */
  private safePush (c: Buffer): void {
    try { this.push(c) } catch (err) { this.fail(`unexpected: ${(err as Error).message}`) }
  }

  private push (c: Buffer): void {
    this.chunks.push(c)
    this.buffered += c.length
    while (this.readyState === OPEN && this.buffered >= 2) {
      const first = this.chunks[0] as Buffer
      const head = first.length >= 10 ? first : this.take(Math.min(10, this.buffered), false)
      if (head.length < 2) return
      const b0 = head[0] as number
      const b1 = head[1] as number
      if ((b0 & 0x70) !== 0) { this.fail('RSV bits'); return }
      if ((b1 & 0x80) !== 0) { this.fail('masked'); return }
      let len = b1 & 0x7f
      let hlen = 2
      if (len === 126) { if (head.length < 4) return; len = head.readUInt16BE(2); hlen = 4 } else if (len === 127) {
        if (head.length < 10) return
        const big = head.readBigUInt64BE(2)
        if (big > BigInt(MAX_MESSAGE)) { this.fail('oversize'); return }
        len = Number(big); hlen = 10
      }
      if (this.buffered < hlen + len) return
      const frame = this.take(hlen + len, true)
      this.onFrame(b0, frame, hlen)
    }
  }

  /** Bytes from the front of the buffer; a view into the first chunk when it holds them all (no copy). */
  private take (n: number, consume: boolean): Buffer {
    const first = this.chunks[0] as Buffer
    let out: Buffer
    if (first.length >= n) out = first.subarray(0, n)
    else {
      out = Buffer.allocUnsafe(n)
      let at = 0
      for (const c of this.chunks) { const k = Math.min(c.length, n - at); c.copy(out, at, 0, k); at += k; if (at === n) break }
    }
    if (consume) {
      let left = n
      while (left > 0) {
        const c = this.chunks[0] as Buffer
        if (c.length <= left) { this.chunks.shift(); left -= c.length } else { this.chunks[0] = c.subarray(left); left = 0 }
      }
      this.buffered -= n
    }
    return out
  }

  private onFrame (b0: number, frame: Buffer, hlen: number): void {
    const fin = (b0 & 0x80) !== 0
    const opcode = b0 & 0x0f
    const payload = frame.subarray(hlen)
    if (opcode >= 0x8) {
      if (!fin || payload.length > 125) { this.fail('control frame'); return }
      if (opcode === 0x9) this.writeFrame(0xa, payload, payload.length) // ping → pong
      else if (opcode === 0x8) { const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005; this.close(1000); this.finish(code) }
      return
    }
    if (opcode === 0x0) {
      if (this.fragments === undefined) { this.fail('continuation without start'); return }
      this.fragments.push(payload)
      if (fin) { const whole = Buffer.concat(this.fragments); this.fragments = undefined; this.emit('message', whole, this.fragmentBinary, undefined) }
      return
    }
    if (opcode !== 0x1 && opcode !== 0x2) { this.fail(`opcode ${opcode}`); return }
    if (this.fragments !== undefined) { this.fail('data frame inside a fragmented message'); return }
    if (!fin) { this.fragments = [payload]; this.fragmentBinary = opcode === 0x2; return }
    this.emit('message', payload, opcode === 0x2, frame)
  }
}

/** Open the WebSocket to Chromium (`ws://host:port/path`), offering no extension. */
export function connectUpstream (url: string, timeoutMs: number): Promise<UpstreamSocket> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64')
    const socket = connect({ host: u.hostname, port: Number(u.port) })
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('handshake timed out')) }, timeoutMs)
    let got = Buffer.alloc(0)
    const fail = (err: Error & { statusCode?: number }): void => { clearTimeout(timer); socket.destroy(); reject(err) }
    socket.once('error', fail)
    socket.once('connect', () => {
      socket.write(`GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`)
    })
    const onData = (c: Buffer): void => {
      got = Buffer.concat([got, c])
      const end = got.indexOf('\r\n\r\n')
      if (end === -1) { if (got.length > 16 * 1024) fail(new Error('handshake too large')); return }
      socket.off('data', onData)
      socket.off('error', fail)
      clearTimeout(timer)
      const head = got.subarray(0, end).toString('latin1')
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)
      const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head)?.[1]
      const expected = createHash('sha1').update(key + GUID).digest('base64')
      if (status !== 101) { fail(Object.assign(new Error(`upstream answered ${status}`), { statusCode: status })); return }
      if (accept !== expected || /\r\nsec-websocket-extensions:/i.test(head)) { fail(new Error('bad handshake')); return }
      resolve(new UpstreamSocket(socket, got.subarray(end + 4)))
    }
    socket.on('data', onData)
  })
}
