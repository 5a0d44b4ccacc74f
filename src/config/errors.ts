/** One problem in a configuration, named by its path (e.g. `servers.github.command`). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * A configuration that cannot be used. Carries every problem found, so that a person
 * fixes them all in one go (CLI exit code 2).
 */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], source?: string) {
    const where = source ? ` in ${source}` : '';
    const lines = issues.map((i) => `  ${i.path ? `${i.path}: ` : ''}${i.message}`);
    super(`invalid configuration${where}:\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Joins path segments the way people write them: `servers.files.args[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}
