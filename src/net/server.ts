// Starting and stopping a listener by hand, one way everywhere: listen() resolves with the
// port actually bound (0 = chosen by the OS) or rejects with the bind error (the server is
// left not listening); closeServer() stops accepting and, for an HTTP server, closes its
// keep-alive and in-flight connections too, so a stop never waits on an idle client.
import type { Server as NetServer, AddressInfo } from 'node:net'
import type { Server as HttpServer } from 'node:http'

export async function listen (server: NetServer, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => { reject(err) }
    server.once('error', onError)
    server.listen(port, host, () => { server.off('error', onError); resolve() })
  })
  return (server.address() as AddressInfo).port
}

export async function closeServer (server: NetServer | HttpServer): Promise<void> {
  if (!server.listening) return
  const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
  if ('closeAllConnections' in server && typeof server.closeAllConnections === 'function') server.closeAllConnections()
  await closed
}
