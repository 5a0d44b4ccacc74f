// oidc-provider 9 wants Node 22: evaluating its module on Node 20 prints
// `oidc-provider WARNING: Unsupported runtime. Use Node.js v22.x LTS, or a later LTS release.`
// with console.warn (lib/index.js, lib/helpers/attention.js), a line of plain text among the
// JSON log lines on stderr. It has no switch. Evaluating this module starts holding that one
// line back; oidc-provider-module.ts stops right after the provider's module has run, and the
// authorization server logs what was held as JSON (event unsupported_runtime). Any other
// console output passes through untouched, and console.warn is ours only for that moment.

const PREFIX = 'oidc-provider WARNING: ';

/** The notice in a console.warn argument, without the prefix and the colour codes a terminal gets. */
function unsupportedRuntime(line: unknown): string | undefined {
  if (typeof line !== 'string') return undefined;
  const at = line.indexOf(`${PREFIX}Unsupported runtime`);
  if (at === -1) return undefined;
  const text = line.slice(at + PREFIX.length);
  const reset = text.indexOf('\u001b');
  return reset === -1 ? text : text.slice(0, reset);
}

let held: string | undefined;
/* eslint-disable no-console -- the library writes with console.warn; this is the one place that stands in its way */
const original = console.warn;
const holding: typeof console.warn = (...args: unknown[]) => {
  const notice = held === undefined ? unsupportedRuntime(args[0]) : undefined;
  if (notice !== undefined) held = notice;
  else original.apply(console, args);
};
console.warn = holding;

/** Called once oidc-provider's module has been evaluated. */
export function stopHoldingRuntimeNotice(): void {
  // Only if nobody replaced it since (a test runner's console, say).
  if (console.warn === holding) console.warn = original;
}
/* eslint-enable no-console */

/** The held notice ("Unsupported runtime. ..."), once; undefined when there was none (Node 22+). */
export function takeRuntimeNotice(): string | undefined {
  const notice = held;
  held = undefined;
  return notice;
}
