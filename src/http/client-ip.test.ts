import { describe, expect, it } from 'vitest';
import { resolveBaseUrl, resolveClientIp } from './client-ip.js';
import { IpSet, isLoopback } from './ip.js';

const trusted = new IpSet(['127.0.0.1/8', '::1', '10.0.0.0/8']);
const h = (o: Record<string, string>) => new Headers(o);

describe('resolveClientIp', () => {
  it('ignores forwarding headers from an untrusted hop', () => {
    expect(resolveClientIp('203.0.113.9', h({ 'x-forwarded-for': '1.2.3.4' }), trusted)).toBe('203.0.113.9');
    expect(resolveClientIp('203.0.113.9', h({ 'x-real-ip': '1.2.3.4' }), trusted, 'x-real-ip')).toBe('203.0.113.9');
  });
  it('walks X-Forwarded-For back to the first untrusted address', () => {
    expect(resolveClientIp('127.0.0.1', h({ 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.1.1.1' }), trusted)).toBe('198.51.100.7');
  });
  it('reads RFC 7239 Forwarded, IPv6 in brackets, when clientIpHeader names it', () => {
    expect(resolveClientIp('::1', h({ forwarded: 'for="[2001:db8::1]:4711";proto=https' }), trusted, 'Forwarded')).toBe('2001:db8::1');
  });

  it('does not believe a Forwarded header the client wrote itself (the proxy appends X-Forwarded-For)', () => {
    const spoofed = h({ forwarded: 'for=10.0.0.5', 'x-forwarded-for': '203.0.113.7' });
    expect(resolveClientIp('127.0.0.1', spoofed, trusted)).toBe('203.0.113.7');
    expect(resolveClientIp('127.0.0.1', h({ forwarded: 'for=10.0.0.5' }), trusted)).toBe('127.0.0.1');
  });
  it('ignores X-Real-IP, True-Client-IP and CF-Connecting-IP unless clientIpHeader names one', () => {
    // nginx that appends X-Forwarded-For passes the client's own X-Real-IP through.
    const spoofed = h({ 'x-real-ip': '192.0.2.10', 'true-client-ip': '192.0.2.11', 'cf-connecting-ip': '192.0.2.12', 'x-forwarded-for': '192.0.2.10, 203.0.113.5' });
    expect(resolveClientIp('127.0.0.1', spoofed, trusted)).toBe('203.0.113.5');
    expect(resolveClientIp('127.0.0.1', h({ 'x-real-ip': '192.0.2.10' }), trusted)).toBe('127.0.0.1');
    // Opted in: the named header only, from a trusted hop only, and only when it holds an address.
    expect(resolveClientIp('::ffff:127.0.0.1', h({ 'cf-connecting-ip': '198.51.100.1' }), trusted, 'CF-Connecting-IP')).toBe('198.51.100.1');
    expect(resolveClientIp('127.0.0.1', spoofed, trusted, 'cf-connecting-ip')).toBe('192.0.2.12');
    expect(resolveClientIp('203.0.113.9', h({ 'cf-connecting-ip': '198.51.100.1' }), trusted, 'cf-connecting-ip')).toBe('203.0.113.9');
    expect(resolveClientIp('127.0.0.1', h({ 'true-client-ip': 'not-an-ip', 'x-forwarded-for': '203.0.113.5' }), trusted, 'true-client-ip')).toBe('203.0.113.5');
  });
  it('matches IPv4-mapped IPv6 and loopback', () => {
    expect(new IpSet(['192.0.2.0/24']).has('::ffff:192.0.2.5')).toBe(true);
    expect(new IpSet(['2001:db8::/32']).has('2001:db8::42')).toBe(true);
    expect(new IpSet(['2001:db8::/32']).has('2001:db9::1')).toBe(false);
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopback('192.168.1.1')).toBe(false);
  });
});

describe('resolveBaseUrl', () => {
  it('prefers publicUrl, then trusted proxy headers, then Host', () => {
    expect(resolveBaseUrl('https://mcp.example.com', 'http://127.0.0.1:8080/x', h({ host: 'evil' }), true)).toBe('https://mcp.example.com');
    expect(resolveBaseUrl(undefined, 'http://127.0.0.1:8080/x', h({ host: '127.0.0.1:8080', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'gw.example.org' }), true)).toBe('https://gw.example.org');
    expect(resolveBaseUrl(undefined, 'http://127.0.0.1:8080/x', h({ host: 'localhost:8080', 'x-forwarded-host': 'gw.example.org' }), false)).toBe('http://localhost:8080');
    expect(resolveBaseUrl(undefined, 'http://127.0.0.1:8080/x', h({ host: 'a/b"c' }), false)).toBe('http://127.0.0.1:8080');
  });
});
