import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { routeSdkWarnings } from './library-warnings.js';
import { createLogger } from './logger.js';

describe('routeSdkWarnings', () => {
  const undo: (() => void)[] = [];
  afterEach(() => {
    for (const f of undo.splice(0)) f();
    vi.restoreAllMocks();
  });

  it("makes the SDK's [mcp-sdk] warnings log records and leaves every other warning alone", () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }) });
    const passed = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    undo.push(routeSdkWarnings(logger));
    console.warn('[mcp-sdk] Could not refresh OAuth tokens; falling back to a new authorization request. Cause: "x"');
    console.warn('something else', 1);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', event: 'mcp_sdk', msg: 'Could not refresh OAuth tokens; falling back to a new authorization request. Cause: "x"' });
    expect(passed).toHaveBeenCalledTimes(1);
    expect(passed).toHaveBeenCalledWith('something else', 1);
  });

  it('puts console.warn back, unless someone replaced it since', () => {
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (_c, _e, done) => done() }) });
    const before = console.warn;
    routeSdkWarnings(logger)();
    expect(console.warn).toBe(before);
    const stop = routeSdkWarnings(logger);
    const theirs = () => undefined;
    console.warn = theirs;
    stop();
    expect(console.warn).toBe(theirs);
    console.warn = before;
  });
});
