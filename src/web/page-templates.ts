// Which template renders each page: the ejected one in the template directory when there is
// one that compiles, else the built-in one. Each render checks the file's stat signature
// (inode, size, mtime, ctime), so an edited template is used from the next page on without a
// restart, and a deleted one gives way to the built-in again. A template that does not
// compile, lacks a required value or throws while rendering is logged once (per version of
// the file) and the built-in template serves instead: a broken file never breaks sign-in.
import { readFileSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_TEMPLATES, REQUIRED_VALUES, TEMPLATE_NAMES, templateFileName, type TemplateName } from './builtin-templates.js';
import { raw } from './html.js';
import { compileTemplate, TemplateError, type CompiledTemplate } from './template-engine.js';

/** What the template set reports about ejected templates (a pino logger fits). */
export interface TemplateLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Larger files are refused: a page template is a few kilobytes. */
const MAX_TEMPLATE_BYTES = 256 * 1024;

function compileBuiltin(name: TemplateName): CompiledTemplate {
  return compileTemplate(BUILTIN_TEMPLATES[name], `built-in ${templateFileName(name)}`);
}

const BUILTIN: Readonly<Record<TemplateName, CompiledTemplate>> = Object.fromEntries(
  TEMPLATE_NAMES.map((name) => [name, compileBuiltin(name)]),
) as Record<TemplateName, CompiledTemplate>;

interface Loaded {
  readonly signature: string;
  /** Undefined: the file at this signature is broken (already logged). */
  readonly template: CompiledTemplate | undefined;
}

export class PageTemplates {
  readonly #loaded = new Map<TemplateName, Loaded>();

  /** `directory` undefined: built-in templates only. */
  constructor(
    readonly directory: string | undefined,
    private readonly logger?: TemplateLogger,
  ) {}

  /** Renders `name` with `view`, inside the layout. */
  renderPage(name: Exclude<TemplateName, 'layout'>, title: string, view: object): string {
    const content = this.#render(name, view);
    return this.#render('layout', { title, content: raw(content) });
  }

  #render(name: TemplateName, view: object): string {
    const ejected = this.#ejected(name);
    if (ejected) {
      try {
        return ejected.template.render(view);
      } catch (err) {
        this.#markBroken(name, ejected.signature, err);
      }
    }
    return BUILTIN[name].render(view);
  }

  /** The ejected template for `name`, if its file exists and compiles. */
  #ejected(name: TemplateName): { template: CompiledTemplate; signature: string } | undefined {
    if (!this.directory) return undefined;
    const file = join(this.directory, templateFileName(name));
    let stats: Stats;
    try {
      stats = statSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#report(name, `stat:${(err as NodeJS.ErrnoException).code ?? ''}`, file, err);
      else if (this.#loaded.delete(name)) this.logger?.info({ file }, 'page template removed: the built-in one is used again');
      return undefined;
    }
    const signature = `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
    const cached = this.#loaded.get(name);
    if (cached?.signature === signature) return cached.template ? { template: cached.template, signature } : undefined;
    const template = this.#load(name, file, stats, signature);
    this.#loaded.set(name, { signature, template });
    if (template) this.logger?.info({ file }, cached ? 'page template changed: reloaded' : 'page template loaded');
    return template ? { template, signature } : undefined;
  }

  #load(name: TemplateName, file: string, stats: Stats, signature: string): CompiledTemplate | undefined {
    try {
      if (!stats.isFile()) throw new TemplateError(`${file} is not a file`);
      if (stats.size > MAX_TEMPLATE_BYTES) throw new TemplateError(`${file} is larger than ${MAX_TEMPLATE_BYTES} bytes`);
      const template = compileTemplate(readFileSync(file, 'utf8'), file);
      const missing = REQUIRED_VALUES[name].filter((value) => !template.names.has(value));
      if (missing.length) throw new TemplateError(`${file} never uses ${missing.map((m) => `{{${m}}}`).join(', ')}, which this page needs`);
      return template;
    } catch (err) {
      this.#report(name, signature, file, err);
      return undefined;
    }
  }

  #markBroken(name: TemplateName, signature: string, err: unknown): void {
    this.#loaded.set(name, { signature, template: undefined });
    this.#report(name, signature, join(this.directory ?? '', templateFileName(name)), err);
  }

  readonly #reported = new Map<TemplateName, string>();

  /** Logs a broken template once per version of the file. */
  #report(name: TemplateName, signature: string, file: string, err: unknown): void {
    if (this.#reported.get(name) === signature) return;
    this.#reported.set(name, signature);
    this.logger?.error({ file, err: (err as Error).message }, 'page template is broken: the built-in one is used until the file is fixed');
  }
}

let active = new PageTemplates(undefined);

/**
 * Where the server looks for ejected templates (the authorization server sets
 * `<dataDir>/templates` when it starts). Undefined: built-in templates only.
 */
export function usePageTemplateDirectory(directory: string | undefined, logger?: TemplateLogger): void {
  active = new PageTemplates(directory, logger);
}

/** The template set pages are rendered with now. */
export function pageTemplates(): PageTemplates {
  return active;
}
