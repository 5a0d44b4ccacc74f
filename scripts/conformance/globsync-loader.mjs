// Module resolve hook registered by globsync-hook.mjs (runs on the loader thread).
// Redirects `fs` and `node:fs` to the wrapper module globsync-fs.mjs, except for
// imports made by that wrapper itself (it needs the real builtin).

const wrapperUrl = new URL('./globsync-fs.mjs', import.meta.url).href;

/**
 * @param {string} specifier
 * @param {{ parentURL?: string }} context
 * @param {(specifier: string, context: object) => Promise<{ url: string }>} nextResolve
 */
export async function resolve(specifier, context, nextResolve) {
  if ((specifier === 'fs' || specifier === 'node:fs') && context.parentURL !== wrapperUrl) {
    return { url: wrapperUrl, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
