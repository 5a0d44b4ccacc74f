import { describe, expect, it } from 'vitest';
import { silentLogger } from '../observability/index.js';
import { MuxChannel, type ChannelHost } from './mux-channel.js';
import { AMBIGUOUS_TARGET, ASKING_METHODS, soleTarget, type CallInFlight, type RoutingView } from './sole-target.js';
import type { InitializeResult } from './types.js';

// The rule alone, over a view built by hand: which calls are in flight (and when each went
// upstream), which channels are open, which server requests each holds unanswered, and the
// number of the message being routed. The multiplexer's own tests drive it end to end.

const HOST: ChannelHost = { fromChannel: () => undefined, releaseChannel: () => undefined };
const INIT: InitializeResult = { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 'mem', version: '1' } };

function channel(): MuxChannel {
  return new MuxChannel(HOST, { onMessage: () => undefined }, { initializeResult: () => INIT }, silentLogger());
}

/** A view the tests change step by step. */
class View implements RoutingView {
  readonly pending = new Map<number, CallInFlight>();
  readonly channels = new Set<MuxChannel>();
  readonly held = new Map<MuxChannel, number>();
  seq = 0;
  #nextId = 1;
  readonly serverRequests = { heldBy: (ch: MuxChannel): number => this.held.get(ch) ?? 0 };

  open(): MuxChannel {
    const ch = channel();
    this.channels.add(ch);
    return ch;
  }

  /** A link message arrives (the one being routed is the last one counted). */
  message(): void {
    this.seq++;
  }

  /** The channel's call goes upstream now; returns its upstream id. */
  call(ch: MuxChannel | undefined, method = 'tools/call'): number {
    const id = this.#nextId++;
    this.pending.set(id, { channel: ch, method, sentSeq: this.seq });
    return id;
  }

  /** The message being routed (a server request) was handed to the channel, unanswered. */
  asked(ch: MuxChannel): void {
    ch.askedSeq = this.seq;
    this.held.set(ch, (this.held.get(ch) ?? 0) + 1);
  }

  answered(ch: MuxChannel): void {
    this.held.set(ch, (this.held.get(ch) ?? 0) - 1);
  }

  /** The next link message is a server request (`asking`) or a log line: where may it go? */
  next(asking = true): MuxChannel | null | undefined {
    this.message();
    return soleTarget(this, asking);
  }
}

describe('soleTarget: nothing in flight', () => {
  it('has no target when no channel is open', () => {
    const v = new View();
    expect(v.next(true)).toBeUndefined();
    expect(v.next(false)).toBeUndefined();
  });

  it('picks the only channel open, and refuses with several', () => {
    const v = new View();
    const a = v.open();
    expect(v.next(true)).toBe(a);
    expect(v.next(false)).toBe(a);
    v.open();
    expect(v.next(true)).toBeNull();
    expect(v.next(false)).toBeNull();
  });

  it('does not count the multiplexer\'s own requests (no channel) as anyone\'s call', () => {
    const v = new View();
    const a = v.open();
    v.call(undefined, 'initialize');
    v.call(undefined, 'resources/subscribe');
    expect(v.next()).toBe(a);
    v.open();
    expect(v.next()).toBeNull();
  });
});

describe('soleTarget: one channel busy', () => {
  it('gives a server request to the only channel with an asking call in flight, however many it has', () => {
    const v = new View();
    const a = v.open();
    const b = v.open();
    v.open();
    v.call(a);
    v.call(a, 'prompts/get');
    v.call(b, 'tools/list'); // cannot ask the client for anything
    v.call(b, 'completion/complete');
    expect(v.next()).toBe(a);
  });

  it('counts exactly tools/call, prompts/get and resources/read as asking calls', () => {
    expect([...ASKING_METHODS].sort()).toEqual(['prompts/get', 'resources/read', 'tools/call']);
    for (const method of ASKING_METHODS) {
      const v = new View();
      const a = v.open();
      const b = v.open();
      v.call(a, method);
      v.call(b, 'resources/list');
      expect(v.next(), method).toBe(a);
    }
  });

  it('gives a log line to the only channel with any request in flight', () => {
    const v = new View();
    const a = v.open();
    v.open();
    v.call(a, 'tools/list');
    expect(v.next(false)).toBe(a);
    // A server request needs an asking call: none, and two channels are open.
    expect(v.next(true)).toBeNull();
  });

  it('sees each request in flight as it is now: a reply makes the other channel the sole busy one', () => {
    const v = new View();
    const a = v.open();
    const b = v.open();
    const ra = v.call(a);
    v.call(b);
    expect(v.next()).toBeNull();
    v.pending.delete(ra);
    expect(v.next()).toBe(b);
  });
});

describe('soleTarget: several channels busy (ambiguous)', () => {
  it('refuses a server request and drops a log line when two channels have live calls', () => {
    const v = new View();
    const a = v.open();
    const b = v.open();
    v.call(a);
    v.call(b, 'resources/read');
    expect(v.next(true)).toBeNull();
    expect(v.next(false)).toBeNull();
  });

  it('lets log lines count any request, so a non-asking call makes a log line ambiguous', () => {
    const v = new View();
    const a = v.open();
    const b = v.open();
    v.call(a);
    v.call(b, 'tools/list');
    expect(v.next(true)).toBe(a);
    expect(v.next(false)).toBeNull();
  });

  it('the refusal text points to sharing: per-session', () => {
    expect(AMBIGUOUS_TARGET).toContain('cannot tell which client');
    expect(AMBIGUOUS_TARGET).toContain('sharing: per-session');
  });
});

describe('soleTarget: parked channels', () => {
  // A channel is parked when every call it has in flight waits on server requests it holds.
  function parkedA() {
    const v = new View();
    const a = v.open();
    const b = v.open();
    v.call(a);
    expect(v.next()).toBe(a);
    v.asked(a); // a holds its question: parked
    return { v, a, b };
  }

  it('leaves out a parked channel, so the one live channel gets the next request', () => {
    const { v, a, b } = parkedA();
    v.message(); // something else came between: not a burst
    v.call(b);
    expect(v.next()).toBe(b);
    expect(v.next(false)).toBe(b);
    expect(a.askedSeq).toBe(1);
  });

  it('does not count the multiplexer\'s own requests when sorting busy channels either', () => {
    const { v, b } = parkedA();
    v.message();
    v.call(b);
    v.call(undefined, 'resources/unsubscribe');
    expect(v.next()).toBe(b);
    expect(v.next(false)).toBe(b);
  });

  it('still gives a lone busy channel what comes, parked or not (its call may ask again)', () => {
    const { v, a } = parkedA();
    v.message();
    expect(v.next()).toBe(a);
    expect(v.next(false)).toBe(a);
  });

  it('counts a channel live again once it answered, or when it has more calls than questions held', () => {
    const { v, a, b } = parkedA();
    v.message();
    v.call(b);
    v.call(a); // a second call of a: one question held for two calls
    expect(v.next()).toBeNull();
    const { v: w, a: a2, b: b2 } = parkedA();
    w.message();
    w.call(b2);
    w.answered(a2);
    expect(w.next()).toBeNull();
  });

  it('refuses when every busy channel is parked and none just asked', () => {
    const { v, b } = parkedA();
    v.message();
    v.call(b);
    expect(v.next()).toBe(b);
    v.asked(b);
    v.message(); // neither question is directly before the next message
    expect(v.next()).toBeNull();
  });
});

describe('soleTarget: bursts to a parked channel', () => {
  it('gives the rest of a burst to the parked channel that was just asked, when no channel is live', () => {
    const v = new View();
    const a = v.open();
    const b = v.open();
    v.call(b);
    expect(v.next()).toBe(b);
    v.asked(b); // b parked, long before
    v.message();
    v.call(a);
    expect(v.next()).toBe(a);
    v.asked(a); // a parked, by the message just before the next one
    expect(v.next()).toBe(a); // directly after: the rest of a's burst
    v.asked(a);
    expect(v.next()).toBe(a); // and the one after that
    v.asked(a);
    v.message(); // a message between ends the burst
    expect(v.next()).toBeNull();
  });

  it('refuses the rest of a burst when a live channel\'s call is older than the burst\'s request', () => {
    const v = new View();
    const x = v.open();
    const y = v.open();
    v.call(y);
    expect(v.next()).toBe(y);
    v.asked(y); // y waits on its answer
    v.message();
    v.call(x); // x's call starts after y's question
    expect(v.next()).toBe(x); // y parked, x the one live channel
    v.asked(x);
    expect(v.next()).toBe(x); // both parked; directly after x's question: x's burst
    v.asked(x);
    v.answered(y); // y live again, with a call older than x's last question
    expect(v.next()).toBeNull(); // directly after x's question: x's or y's, nobody can tell
    v.message(); // not directly after: x is left out, y is the one live channel
    expect(v.next()).toBe(y);
  });

  it('gives the rest of a burst to the live channel whose call went upstream after the burst began (residual guess)', () => {
    const v = new View();
    const a = v.open();
    const b = v.open();
    v.call(a);
    expect(v.next()).toBe(a);
    v.asked(a); // a parked by this message
    v.call(b); // b's call goes upstream right after it, before the rest of the burst is read
    const target = v.next();
    expect(a.askedSeq).toBe(v.seq - 1); // it does directly follow a's request...
    expect(target).toBe(b); // ...but b's call is not older than it: b is taken as the one live channel
  });

  it('does not treat the message right after a question as a burst for a channel that is not parked', () => {
    const v = new View();
    const a = v.open();
    const b = v.open();
    v.call(a);
    v.call(a);
    expect(v.next()).toBe(a);
    v.asked(a); // one question for two calls: a stays live
    v.call(b);
    expect(v.next()).toBeNull();
  });
});
