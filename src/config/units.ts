const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `60s`, `1h`, `30d`, `250ms`, or a bare number of milliseconds. Undefined when malformed. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = DURATION_UNITS[(m[2] ?? 'ms').toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

/** `4mb`, `512kb`, `1gb`, or a bare number of bytes. Undefined when malformed. */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = SIZE_UNITS[(m[2] ?? 'b').toLowerCase()];
  return unit === undefined ? undefined : Math.floor(Number(m[1]) * unit);
}

/** `127.0.0.1:8080`, `[::1]:8080`, `:8080`, `8080` -> host and port. */
export function parseListen(value: string | number): { host: string; port: number } | undefined {
  const text = String(value).trim();
  let host = '127.0.0.1';
  let portText = text;
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2]!;
  } else if (text.includes(':')) {
    const i = text.lastIndexOf(':');
    host = text.slice(0, i) || '0.0.0.0';
    portText = text.slice(i + 1);
  }
  if (!/^\d+$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535) return undefined;
  return { host, port };
}
