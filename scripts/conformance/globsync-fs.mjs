// `node:fs` plus a `globSync` polyfill for Node 20 (see globsync-hook.mjs).
//
// The polyfill covers the subset of Node 22's fs.globSync the conformance CLI
// relies on: string or string[] patterns with `*`, `**`, `?`, `[...]` and
// `{a,b}`; options `cwd` (string or URL) and `exclude` (function or string[]).
// Results are paths relative to `cwd` (or absolute for absolute patterns),
// using the platform separator, like Node's implementation.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export * from 'node:fs';
export default fs;

/** Expand `{a,b}` alternatives (non-nested braces are enough here). */
function expandBraces(pattern) {
  const match = /\{([^{}]*)\}/.exec(pattern);
  if (!match) return [pattern];
  const head = pattern.slice(0, match.index);
  const tail = pattern.slice(match.index + match[0].length);
  return match[1].split(',').flatMap((alt) => expandBraces(head + alt + tail));
}

/** Compile one path segment (no `/`) into an anchored RegExp. */
function segmentToRegExp(segment) {
  let src = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === '*') src += '[^/]*';
    else if (ch === '?') src += '[^/]';
    else if (ch === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end === -1) src += '\\[';
      else {
        let body = segment.slice(i + 1, end);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        src += '[' + body.replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else src += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  // Like shells and Node's glob, wildcards do not match dotfiles implicitly.
  const dotGuard = segment.startsWith('.') ? '' : '(?!\\.)';
  return new RegExp('^' + dotGuard + src + '$');
}

/**
 * Walk `dir` matching the remaining pattern segments.
 * @param {string} root absolute base directory
 * @param {string} rel path of `dir` relative to root ('' for root)
 * @param {string[]} segments remaining pattern segments
 * @param {Set<string>} out collected relative paths
 */
function walk(root, rel, segments, out) {
  if (segments.length === 0) {
    if (rel !== '') out.add(rel);
    return;
  }
  const [head, ...rest] = segments;
  const abs = path.join(root, rel);
  if (head === '**') {
    // `**` matches zero segments...
    walk(root, rel, rest, out);
    // ...or descends into every (non-dot) subdirectory.
    for (const entry of readDir(abs)) {
      if (entry.isDirectory() && !entry.name.startsWith('.')) {
        walk(root, join(rel, entry.name), segments, out);
      }
    }
    return;
  }
  if (!/[*?[]/.test(head)) {
    // Literal segment: no need to list the directory.
    const next = join(rel, head);
    if (fs.existsSync(path.join(root, next))) {
      if (rest.length === 0) out.add(next);
      else walk(root, next, rest, out);
    }
    return;
  }
  const re = segmentToRegExp(head);
  for (const entry of readDir(abs)) {
    if (!re.test(entry.name)) continue;
    const next = join(rel, entry.name);
    if (rest.length === 0) out.add(next);
    else if (entry.isDirectory()) walk(root, next, rest, out);
  }
}

function join(rel, name) {
  return rel === '' ? name : path.join(rel, name);
}

function readDir(abs) {
  try {
    return fs.readdirSync(abs, { withFileTypes: true });
  } catch {
    return [];
  }
}

/**
 * Minimal `fs.globSync` compatible with Node 22's signature.
 * @param {string | string[]} patterns
 * @param {{ cwd?: string | URL, exclude?: ((p: string) => boolean) | string[] }} [options]
 * @returns {string[]}
 */
export function globSync(patterns, options = {}) {
  const cwd =
    options.cwd instanceof URL ? fileURLToPath(options.cwd) : path.resolve(options.cwd ?? process.cwd());
  const out = new Set();
  for (const pattern of [patterns].flat()) {
    for (const expanded of expandBraces(pattern.replace(/\\/g, '/'))) {
      const absolute = path.isAbsolute(expanded);
      const root = absolute ? path.parse(expanded).root : cwd;
      const segments = expanded
        .slice(absolute ? root.length : 0)
        .split('/')
        .filter((s) => s !== '' && s !== '.');
      const found = new Set();
      walk(root, '', segments, found);
      for (const p of found) out.add(absolute ? path.join(root, p) : p);
    }
  }
  let results = [...out];
  const { exclude } = options;
  if (typeof exclude === 'function') results = results.filter((p) => !exclude(p));
  else if (Array.isArray(exclude)) {
    const excluded = new Set(globSync(exclude, { cwd }));
    results = results.filter((p) => !excluded.has(p));
  }
  return results;
}

// Also expose it on the default export / CommonJS object for `fs.globSync(...)`.
if (typeof fs.globSync !== 'function') fs.globSync = globSync;
