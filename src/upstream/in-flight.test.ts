import { describe, expect, it, vi } from 'vitest';
import type { JsonRpcMessage } from '../jsonrpc/index.js';
import { silentLogger } from '../observability/index.js';
import { InFlight } from './in-flight.js';
import { MuxChannel, type ChannelHost } from './mux-channel.js';
import { FORWARD, INTERNAL, Pending, SUBSCRIBE } from './pending.js';
import { SubscriptionTable } from './subscriptions.js';
import type { InitializeResult } from './types.js';

// The multiplexer's table of requests in flight, alone. The multiplexer's own tests drive
// it end to end (replies, timeouts, cancellation, a link that goes away).

const HOST: ChannelHost = { fromChannel: () => undefined, releaseChannel: () => undefined };
const INIT: InitializeResult = { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 'mem', version: '1' } };

function channel(received: JsonRpcMessage[]): MuxChannel {
  return new MuxChannel(HOST, { onMessage: (m) => void received.push(m) }, { initializeResult: () => INIT }, silentLogger());
}

/** Delivery to a channel goes through a microtask; wait for it. */
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

describe('InFlight', () => {
  it('gives each request its own upstream id and hands it back once', () => {
    const table = new InFlight(new SubscriptionTable());
    const a = new Pending(undefined, 'a', 'tools/call', undefined, FORWARD, undefined, undefined);
    const b = new Pending(undefined, 'b', 'tools/call', undefined, FORWARD, undefined, undefined);
    const ua = table.add(a);
    const ub = table.add(b);
    expect(ua).not.toBe(ub);
    expect(table.size).toBe(2);
    expect(table.get(ua)).toBe(a);
    expect(table.get(String(ua))).toBeUndefined(); // upstream ids are numbers; a string id is someone else's
    expect(table.take(ua)).toBe(a);
    expect(table.take(ua)).toBeUndefined();
    expect(table.size).toBe(1);
  });

  it('stops the timer of a request taken out', () => {
    vi.useFakeTimers();
    try {
      const table = new InFlight(new SubscriptionTable());
      const fired = vi.fn();
      const p = new Pending(undefined, 1, 'tools/call', undefined, FORWARD, undefined, undefined);
      const uid = table.add(p);
      p.timer = setTimeout(fired, 1000);
      table.take(uid);
      const q = new Pending(undefined, 2, 'tools/call', undefined, FORWARD, undefined, undefined);
      table.add(q);
      q.timer = setTimeout(fired, 1000);
      expect(table.takeAll()).toEqual([q]);
      vi.advanceTimersByTime(5000);
      expect(fired).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });

  it("finds a channel's request by the channel's own id, not another channel's with the same id", () => {
    const table = new InFlight(new SubscriptionTable());
    const one = channel([]);
    const two = channel([]);
    const mine = new Pending(one, 7, 'tools/call', undefined, FORWARD, undefined, undefined);
    const theirs = new Pending(two, 7, 'tools/call', undefined, FORWARD, undefined, undefined);
    table.add(theirs);
    const uid = table.add(mine);
    expect(table.takeClientRequest(one, 7)).toEqual({ uid, p: mine });
    expect(table.takeClientRequest(one, 7)).toBeUndefined();
    expect(table.size).toBe(1);
  });

  it("takes every request of one channel and leaves the others'", () => {
    const table = new InFlight(new SubscriptionTable());
    const one = channel([]);
    const two = channel([]);
    const u1 = table.add(new Pending(one, 1, 'tools/call', undefined, FORWARD, undefined, undefined));
    table.add(new Pending(two, 1, 'tools/call', undefined, FORWARD, undefined, undefined));
    const u3 = table.add(new Pending(one, 2, 'tools/call', undefined, FORWARD, undefined, undefined));
    expect(table.takeChannel(one)).toEqual([u1, u3]);
    expect(table.size).toBe(1);
  });

  it("fails a channel's request with an error reply under the channel's id and drops its pending subscription", async () => {
    const subscriptions = new SubscriptionTable();
    const table = new InFlight(subscriptions);
    const received: JsonRpcMessage[] = [];
    const ch = channel(received);
    subscriptions.join('file:///a', ch);
    const p = new Pending(ch, 'sub-1', 'resources/subscribe', undefined, SUBSCRIBE, 'file:///a', undefined);
    ch.inFlight = 1;
    table.take(table.add(p));
    table.fail(p, new Error('gone'), -32001, 'upstream "x" is gone');
    await settle();
    expect(ch.inFlight).toBe(0);
    expect(received).toEqual([{ jsonrpc: '2.0', id: 'sub-1', error: { code: -32001, message: 'upstream "x" is gone' } }]);
    expect(subscriptions.subscribers('file:///a') ?? new Set()).not.toContain(ch);
  });

  it("rejects an internal request's waiter with the error itself", async () => {
    const table = new InFlight(new SubscriptionTable());
    let settled: unknown;
    const waiter = { resolve: () => undefined, reject: (e: Error) => void (settled = e) };
    const p = new Pending(undefined, 0, 'initialize', undefined, INTERNAL, undefined, waiter);
    const error = new Error('timed out');
    table.fail(p, error, -32001, 'unused');
    await settle();
    expect(settled).toBe(error);
  });
});
