/** Resolves on the first SIGINT or SIGTERM (Ctrl-C, docker stop, kubelet). */
export function untilSignal (): Promise<NodeJS.Signals> {
  return new Promise(resolve => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', on); process.off('SIGTERM', on)
      resolve(sig)
    }
    process.on('SIGINT', on); process.on('SIGTERM', on)
  })
}
