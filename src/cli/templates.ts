// `gatehouse templates eject [DIR]`: the built-in login, consent and error page templates,
// written to DIR (default: <dataDir>/templates, the directory `serve` reads them from).
import { join, resolve } from 'node:path';
import { loadConfig, resolveConfig } from '../config/index.js';
import { ejectTemplates, TemplatesExistError } from '../web/eject-templates.js';
import { CliExit, ExitCode } from './exit.js';
import { configOverrides } from './flags.js';

export interface TemplatesFlags {
  config?: string | undefined;
  dataDir?: string | undefined;
  force?: boolean | undefined;
}

/** `<dataDir>/templates` of the config `serve` would load (its defaults without a config file). */
async function servedTemplateDirectory(flags: TemplatesFlags): Promise<string> {
  const overrides = configOverrides(flags);
  const loaded = await loadConfig({ location: flags.config, overrides });
  const config = loaded ?? resolveConfig({ format: 'native', location: undefined, baseDir: process.cwd(), doc: {} }, process.env, overrides);
  return join(config.dataDir, 'templates');
}

export async function templatesEject(dir: string | undefined, flags: TemplatesFlags): Promise<void> {
  const served = await servedTemplateDirectory(flags);
  const target = dir === undefined ? served : resolve(process.cwd(), dir);
  let files: string[];
  try {
    files = ejectTemplates(target, flags.force ?? false);
  } catch (err) {
    if (err instanceof TemplatesExistError) throw new CliExit(ExitCode.Failure, `${err.message}; not overwritten (--force replaces them)`);
    throw err;
  }
  for (const file of files) console.log(file);
  if (target === served) {
    console.error(`wrote ${files.length} templates to ${target}; gatehouse serve uses them from the next page on, no restart needed`);
  } else {
    console.error(`wrote ${files.length} templates to ${target}; gatehouse serve reads them from ${served} (copy them there when done)`);
  }
}
