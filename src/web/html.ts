/** A piece of markup that is already safe to place in a page. */
export interface SafeHtml {
  readonly __html: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for element content and double- or single-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

/** Marks trusted markup (built only from literals and escaped values) as safe. */
export function raw(markup: string): SafeHtml {
  return { __html: markup };
}

/**
 * Tagged template: every interpolated value is escaped unless it is SafeHtml; arrays are joined.
 * The only way pages are built, so nothing reaches the markup unescaped by accident.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return { __html: out };
}

function render(value: unknown): string {
  if (value === undefined || value === null || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  if (typeof value === 'string') return escapeHtml(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'object' && '__html' in value) return (value as SafeHtml).__html;
  throw new TypeError('html: only strings, numbers, arrays and SafeHtml may be interpolated');
}
