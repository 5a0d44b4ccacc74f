// A small logic-less template language for the pages (a subset of Mustache), with escaping
// that a template cannot switch off:
//
//   {{name}} {{a.b}} {{.}}   a value, always HTML-escaped (html.ts escapeHtml); missing: nothing
//   {{#name}}…{{/name}}      a list: once per item (the item's fields come into scope);
//                            any other truthy value: once (an object's fields come into scope)
//   {{^name}}…{{/name}}      when the value is missing, false, '' or an empty list
//   {{! comment }}           nothing
//
// There is no triple mustache, `{{& }}`, partial, lambda or delimiter change: nothing in a
// template can emit a value unescaped. The one exception is SafeHtml, which only our own
// code can make (the layout's `content` is the already-rendered page). Escaping covers
// element content and quoted attribute values; templates must not put values inside
// <script>, <style> or unquoted attributes (the pages' CSP forbids scripts anyway).
import { escapeHtml, type SafeHtml } from './html.js';

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

type Node =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'value'; readonly path: readonly string[] }
  | { readonly kind: 'section'; readonly path: readonly string[]; readonly inverted: boolean; readonly body: readonly Node[] };

export interface CompiledTemplate {
  /** Every name the template uses, dotted (`link.href`), for checks at load time. */
  readonly names: ReadonlySet<string>;
  render(view: object): string;
}

const TAG = /\{\{\s*([#^/!]?)\s*([\s\S]*?)\s*\}\}/g;
const NAME = /^(?:\.|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)$/;

/** Parses `source`; a syntax error names the line (TemplateError). */
export function compileTemplate(source: string, label = 'template'): CompiledTemplate {
  const names = new Set<string>();
  const root: Node[] = [];
  const open: { path: string[]; inverted: boolean; body: Node[]; line: number; name: string }[] = [];
  const lineAt = (index: number) => source.slice(0, index).split('\n').length;
  const current = () => open.at(-1)?.body ?? root;
  let last = 0;
  for (const match of source.matchAll(TAG)) {
    const [whole, sigil, rawName] = match as unknown as [string, string, string];
    const at = match.index;
    if (at > last) current().push({ kind: 'text', text: source.slice(last, at) });
    last = at + whole.length;
    if (sigil === '!') continue;
    if (!NAME.test(rawName)) {
      throw new TemplateError(`${label}, line ${lineAt(at)}: ${JSON.stringify(whole)} is not a tag this renderer knows ({{name}}, {{#name}}, {{^name}}, {{/name}}, {{! comment}})`);
    }
    const path = rawName === '.' ? [] : rawName.split('.');
    if (rawName !== '.') names.add(rawName);
    if (sigil === '#' || sigil === '^') {
      open.push({ path, inverted: sigil === '^', body: [], line: lineAt(at), name: rawName });
    } else if (sigil === '/') {
      const section = open.pop();
      if (!section) throw new TemplateError(`${label}, line ${lineAt(at)}: {{/${rawName}}} closes nothing`);
      if (section.name !== rawName) throw new TemplateError(`${label}, line ${lineAt(at)}: {{/${rawName}}} closes {{${section.inverted ? '^' : '#'}${section.name}}} of line ${section.line}`);
      current().push({ kind: 'section', path: section.path, inverted: section.inverted, body: section.body });
    } else {
      current().push({ kind: 'value', path });
    }
  }
  const unclosed = open.at(-1);
  if (unclosed) throw new TemplateError(`${label}, line ${unclosed.line}: {{${unclosed.inverted ? '^' : '#'}${unclosed.name}}} is never closed`);
  if (source.indexOf('{{', last) !== -1) throw new TemplateError(`${label}, line ${lineAt(source.indexOf('{{', last))}: a tag is never closed with }}`);
  if (last < source.length) root.push({ kind: 'text', text: source.slice(last) });
  return { names, render: (view) => renderNodes(root, [view]) };
}

function lookup(stack: readonly unknown[], path: readonly string[]): unknown {
  if (path.length === 0) return stack.at(-1);
  const [first, ...rest] = path as [string, ...string[]];
  for (let i = stack.length - 1; i >= 0; i--) {
    const scope = stack[i];
    if (isRecord(scope) && Object.hasOwn(scope, first)) {
      let value: unknown = scope[first];
      for (const key of rest) value = isRecord(value) && Object.hasOwn(value, key) ? value[key] : undefined;
      return value;
    }
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSafeHtml(value: unknown): value is SafeHtml {
  return isRecord(value) && typeof value.__html === 'string';
}

function truthy(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : Boolean(value);
}

function renderValue(value: unknown): string {
  if (typeof value === 'string') return escapeHtml(value);
  if (typeof value === 'number') return String(value);
  if (isSafeHtml(value)) return value.__html;
  // Lists, plain objects, booleans and missing values print nothing.
  return '';
}

function renderNodes(nodes: readonly Node[], stack: readonly unknown[]): string {
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') out += node.text;
    else if (node.kind === 'value') out += renderValue(lookup(stack, node.path));
    else {
      const value = lookup(stack, node.path);
      if (node.inverted) {
        if (!truthy(value)) out += renderNodes(node.body, stack);
      } else if (Array.isArray(value)) {
        for (const item of value) out += renderNodes(node.body, [...stack, item]);
      } else if (truthy(value)) {
        out += renderNodes(node.body, isRecord(value) && !isSafeHtml(value) ? [...stack, value] : stack);
      }
    }
  }
  return out;
}
