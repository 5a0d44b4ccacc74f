import { describe, expect, it } from 'vitest';
import { LineSplitter } from './line-splitter.js';

function collect(max = 1024): { splitter: LineSplitter; lines: string[] } {
  const lines: string[] = [];
  const splitter = new LineSplitter(max, (buf, start, end) => lines.push(buf.toString('utf8', start, end)));
  return { splitter, lines };
}

describe('LineSplitter', () => {
  it('hands out several lines of one chunk', () => {
    const { splitter, lines } = collect();
    expect(splitter.push(Buffer.from('a\nbb\n\nccc\n'))).toBe(true);
    expect(lines).toEqual(['a', 'bb', '', 'ccc']);
    expect(splitter.pendingBytes).toBe(0);
  });

  it('joins a line spread over chunks, including a character cut in two', () => {
    const { splitter, lines } = collect();
    const bytes = Buffer.from('{"x":"ü"}\n{"y":1}\n');
    const cut = bytes.indexOf(0xbc); // second byte of ü
    splitter.push(bytes.subarray(0, cut));
    splitter.push(bytes.subarray(cut, cut + 3));
    expect(lines).toEqual([]);
    splitter.push(bytes.subarray(cut + 3));
    expect(lines).toEqual(['{"x":"ü"}', '{"y":1}']);
  });

  it('refuses a line longer than the limit, whether it ends or not', () => {
    const a = collect(8);
    expect(a.splitter.push(Buffer.from('123456789\n'))).toBe(false);
    const b = collect(8);
    expect(b.splitter.push(Buffer.from('12345'))).toBe(true);
    expect(b.splitter.push(Buffer.from('6789'))).toBe(false);
    const c = collect(8);
    expect(c.splitter.push(Buffer.from('1234'))).toBe(true);
    expect(c.splitter.push(Buffer.from('56789\n'))).toBe(false);
    const d = collect(8);
    expect(d.splitter.push(Buffer.from('12345678\n'))).toBe(true);
    expect(d.lines).toEqual(['12345678']);
  });

  it('gives back an unterminated last line', () => {
    const { splitter, lines } = collect();
    splitter.push(Buffer.from('done\npartial'));
    expect(lines).toEqual(['done']);
    expect(splitter.takeRest()?.toString()).toBe('partial');
    expect(splitter.takeRest()).toBeUndefined();
  });
});
