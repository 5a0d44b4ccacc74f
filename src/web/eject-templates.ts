// `gatehouse templates eject`: writes the built-in page templates out, to be edited.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_TEMPLATES, TEMPLATE_NAMES, templateFileName } from './builtin-templates.js';

export class TemplatesExistError extends Error {
  override readonly name = 'TemplatesExistError';
  constructor(readonly files: readonly string[]) {
    super(`${files.join(', ')} already exist${files.length === 1 ? 's' : ''}`);
  }
}

/**
 * Writes every built-in template into `directory` (created if needed) and returns the files.
 * Existing files are kept, and nothing is written, unless `overwrite`: they may hold edits.
 */
export function ejectTemplates(directory: string, overwrite = false): string[] {
  const files = TEMPLATE_NAMES.map((name) => ({ name, file: join(directory, templateFileName(name)) }));
  const existing = files.filter((f) => existsSync(f.file)).map((f) => f.file);
  if (existing.length && !overwrite) throw new TemplatesExistError(existing);
  mkdirSync(directory, { recursive: true });
  for (const { name, file } of files) writeFileSync(file, BUILTIN_TEMPLATES[name], { mode: 0o644 });
  return files.map((f) => f.file);
}
