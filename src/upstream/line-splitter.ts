/**
 * Splits a byte stream into `\n`-terminated lines without decoding it first. Splitting on
 * the byte 0x0a is safe for UTF-8 (it never occurs inside a multi-byte sequence), so a
 * character cut in two by a chunk boundary is joined again before anyone decodes it.
 *
 * A line that fits in one chunk is handed out as a view of that chunk (no copy); only a
 * line spread over several chunks is concatenated, once, when its end arrives.
 */
export class LineSplitter {
  readonly maxLineBytes: number;
  readonly #onLine: (buf: Buffer, start: number, end: number) => void;
  #parts: Buffer[] = [];
  #bytes = 0;

  /** `onLine` gets the line without its `\n` (a trailing `\r` is left to the caller). */
  constructor(maxLineBytes: number, onLine: (buf: Buffer, start: number, end: number) => void) {
    this.maxLineBytes = maxLineBytes;
    this.#onLine = onLine;
  }

  /**
   * Feeds one chunk. Returns false as soon as a line grows past `maxLineBytes`; the rest
   * of that chunk is not read, and the caller decides (fail, or `reset` and go on).
   */
  push(chunk: Buffer): boolean {
    const max = this.maxLineBytes;
    let start = 0;
    let nl = chunk.indexOf(10);
    while (nl !== -1) {
      if (this.#bytes > 0) {
        const total = this.#bytes + (nl - start);
        if (total > max) return false;
        this.#parts.push(chunk.subarray(start, nl));
        const line = Buffer.concat(this.#parts, total);
        this.#parts = [];
        this.#bytes = 0;
        this.#onLine(line, 0, total);
      } else {
        if (nl - start > max) return false;
        this.#onLine(chunk, start, nl);
      }
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      this.#bytes += chunk.length - start;
      if (this.#bytes > max) return false;
      this.#parts.push(start === 0 ? chunk : chunk.subarray(start));
    }
    return true;
  }

  /** Bytes of the unfinished line held so far. */
  get pendingBytes(): number {
    return this.#bytes;
  }

  /** Takes the unfinished last line (a stream that ended without a final `\n`). */
  takeRest(): Buffer | undefined {
    if (this.#bytes === 0) return undefined;
    const rest = Buffer.concat(this.#parts, this.#bytes);
    this.reset();
    return rest;
  }

  reset(): void {
    this.#parts = [];
    this.#bytes = 0;
  }
}
