// A small Prometheus registry (text exposition format 0.0.4), no dependency: counters with
// labels on the hot path are one Map lookup and an addition.

type Labels = Readonly<Record<string, string>>;

function key(labels: Labels): string {
  let out = '';
  for (const k of Object.keys(labels).sort()) out += `${out ? ',' : ''}${k}="${escapeLabel(String(labels[k]))}"`;
  return out;
}

const NEEDS_ESCAPE = /[\\"\n]/;

/** A label value in the exposition format: backslash, double quote and newline escaped. */
function escapeLabel(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value; // the usual case, on the hot path
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class Counter {
  readonly #values = new Map<string, number>();
  /** incCached's keys, by the caller's cache key. */
  readonly #keys = new Map<string, string>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }
  /** Counts one for `labels`; their key is worked out on the first call only (the per-request path). */
  incCached(cacheKey: string, labels: () => Labels): void {
    let k = this.#keys.get(cacheKey);
    if (k === undefined) {
      k = key(labels());
      this.#keys.set(cacheKey, k);
    }
    this.#values.set(k, (this.#values.get(k) ?? 0) + 1);
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    for (const [k, v] of this.#values) out += `${this.name}${k ? `{${k}}` : ''} ${v}\n`;
    return out;
  }
}

/** A gauge read when scraped. */
export class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly read: () => Iterable<[Labels, number]>,
  ) {}
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n`;
    for (const [labels, v] of this.read()) {
      const k = key(labels);
      out += `${this.name}${k ? `{${k}}` : ''} ${v}\n`;
    }
    return out;
  }
}

export class Metrics {
  readonly #items: (Counter | Gauge)[] = [];
  counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.#items.push(c);
    return c;
  }
  gauge(name: string, help: string, read: () => Iterable<[Labels, number]>): Gauge {
    const g = new Gauge(name, help, read);
    this.#items.push(g);
    return g;
  }
  render(): string {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    return (
      this.#items.map((i) => i.render()).join('') +
      `# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ${mem.rss}\n` +
      `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}\n`
    );
  }
}
