// Counters for Prometheus' text format, kept in a Map: cheap enough for the hot path.
export class Metrics {
  private readonly counters = new Map<string, number>()

  inc (name: string, labels: Record<string, string> = {}): void {
    const key = name + '{' + Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',') + '}'
    this.counters.set(key, (this.counters.get(key) ?? 0) + 1)
  }

  render (): string {
    const lines: string[] = []
    const seen = new Set<string>()
    for (const [key, value] of [...this.counters].sort()) {
      const name = key.slice(0, key.indexOf('{'))
      if (!seen.has(name)) { seen.add(name); lines.push(`# TYPE ${name} counter`) }
      lines.push(`${key.endsWith('{}') ? name : key} ${value}`)
    }
    return lines.join('\n') + '\n'
  }
}

export const metrics = new Metrics()
