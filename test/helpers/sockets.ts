// Raw loopback sockets for the listener-limit tests: silent ones, trickling ones, and one-shot
// requests from a chosen source address (127.0.0.2, 127.0.0.3, …: all loopback on Linux).
import { connect, type Socket } from 'node:net'

export interface HeldSocket {
  readonly socket: Socket
  /** Resolves when the server closed (or reset) the connection, with what it had sent. */
  readonly closed: Promise<string>
  isClosed: () => boolean
}

export function hold (port: number, localAddress = '127.0.0.1', first?: string): Promise<HeldSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress })
    let data = ''
    let done = false
    const closed = new Promise<string>(res => { socket.on('close', () => { done = true; res(data) }) })
    socket.on('data', (c: Buffer) => { data += c.toString('latin1') })
    socket.on('error', () => { /* reset by the server counts as closed */ })
    socket.once('connect', () => {
      if (first !== undefined) socket.write(first)
      resolve({ socket, closed, isClosed: () => done })
    })
    socket.once('error', reject)
  })
}

/** Send `raw` from `localAddress`; resolves with the status line, or 'closed' if the server hung up first. */
export function ask (port: number, localAddress: string, raw: string, timeoutMs = 10_000): Promise<string> {
  return new Promise(resolve => {
    const socket = connect({ port, host: '127.0.0.1', localAddress })
    let data = ''
    const timer = setTimeout(() => { socket.destroy(); resolve('timeout') }, timeoutMs)
    const finish = (): void => {
      clearTimeout(timer)
      socket.destroy()
      const line = data.split('\r\n')[0] ?? ''
      resolve(line === '' ? 'closed' : line)
    }
    socket.on('connect', () => { socket.write(raw) })
    socket.on('data', (c: Buffer) => { data += c.toString('latin1'); if (data.includes('\r\n')) finish() })
    socket.on('close', finish)
    socket.on('error', () => { /* close follows */ })
  })
}

export function sleep (ms: number): Promise<void> { return new Promise(resolve => setTimeout(resolve, ms)) }
