/** CONTRACT.md exit codes. */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const;

/** Thrown by commands to end with a message and an exit code, without a stack trace. */
export class CliExit extends Error {
  readonly code: number;
  constructor(code: number, message = '') {
    super(message);
    this.name = 'CliExit';
    this.code = code;
  }
}
