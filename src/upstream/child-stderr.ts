import type { Logger } from '../observability/index.js';
import { LineSplitter } from './line-splitter.js';

// A stdio server's stderr (MCP stdio transport: free-form logging). Each line goes to our log,
// as a warning when it sounds like one; the last few are kept so that the error for a child
// that exits can quote them.

const MAX_LINE = 16 * 1024;
const TAIL_LINES = 10;
const TAIL_CHARS = 500;
const WARN = /\b(error|fatal|panic|exception|traceback)\b/i;

export class ChildStderr {
  readonly #log: Logger;
  readonly #lines: LineSplitter;
  readonly #tail: string[] = [];

  constructor(log: Logger) {
    this.#log = log;
    this.#lines = new LineSplitter(MAX_LINE, this.#onLine);
  }

  readonly push = (chunk: Buffer): void => {
    if (!this.#lines.push(chunk)) {
      this.#lines.reset();
      this.#log.warn(`upstream wrote a stderr line longer than ${MAX_LINE / 1024} KiB; dropped`);
    }
  };

  /** The stream ended (or the child exited): a last line without its newline still counts. */
  flush(): void {
    const rest = this.#lines.takeRest();
    if (rest !== undefined) this.#onLine(rest, 0, rest.length);
  }

  /** The last lines, each cut to a readable length. */
  tail(): string[] {
    return [...this.#tail];
  }

  readonly #onLine = (buf: Buffer, start: number, end: number): void => {
    if (end > start && buf[end - 1] === 13) end--;
    if (end === start) return;
    const line = buf.toString('utf8', start, end);
    if (WARN.test(line)) this.#log.warn({ stream: 'stderr' }, line);
    else this.#log.info({ stream: 'stderr' }, line);
    if (this.#tail.length === TAIL_LINES) this.#tail.shift();
    this.#tail.push(preview(line, TAIL_CHARS));
  };
}

/** `text`, cut to `max` characters with an ellipsis. */
export function preview(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
