import type { MuxChannel } from './mux-channel.js';

// Who gets a server-to-client request or a log line on a shared link (decision 0012).
//
// Server-to-client requests and log lines carry no marker of the call they belong to (stdio
// has none), and the channels of a shared link may belong to different principals. Guessing
// (the oldest call in flight, say) handed one session's sampling prompt to another session,
// which could answer it and so write into the first one's tool result. So they are
// delivered only when the target is unambiguous (see `soleTarget`); otherwise a request is
// refused to the server and a log line dropped. `sharing: per-session` routes exactly.

/** Calls during which servers ask the client for something (sampling, elicitation, roots). */
export const ASKING_METHODS: ReadonlySet<string> = new Set(['tools/call', 'prompts/get', 'resources/read']);

/** The error text a server request gets when `soleTarget` says null. */
export const AMBIGUOUS_TARGET =
  'the gateway cannot tell which client this request is for (several sessions share this upstream); ' +
  'use sharing: per-session for servers that ask clients for sampling/elicitation/roots';

/** What the rule reads of a request in flight upstream (the multiplexer's `Pending`). */
export interface CallInFlight {
  /** undefined for the multiplexer's own requests (initialize and the like): never a target. */
  readonly channel: MuxChannel | undefined;
  readonly method: string;
  /** The view's `seq` when the request went upstream. */
  readonly sentSeq: number;
}

/**
 * What the rule reads of the multiplexer: nothing else. Channels are read too, for
 * `askedSeq` (the view's `seq` when a server request was last handed to the channel).
 */
export interface RoutingView {
  /** Requests in flight upstream, all channels together. */
  readonly pending: ReadonlyMap<number, CallInFlight>;
  /** The channels open. */
  readonly channels: ReadonlySet<MuxChannel>;
  /** Server requests handed to channels: how many a channel has not answered yet. */
  readonly serverRequests: { heldBy(channel: MuxChannel): number };
  /** Messages received from links so far; the message being routed is number `seq`. */
  readonly seq: number;
}

/**
 * The one channel a server request (`asking`) or a log line may go to: the only channel
 * with a call in flight that could have caused it (for requests a tools/call, prompts/get
 * or resources/read; for log lines any request); with none in flight anywhere, the only
 * channel open. `null` when several channels qualify (ambiguous: refuse or drop, never
 * guess, as a guess can cross sessions and principals); `undefined` when none is open.
 */
export function soleTarget(view: RoutingView, asking: boolean): MuxChannel | null | undefined {
  let busy: MuxChannel | undefined;
  for (const p of view.pending.values()) {
    if (p.channel === undefined || (asking && !ASKING_METHODS.has(p.method))) continue;
    if (busy === undefined) busy = p.channel;
    else if (busy !== p.channel) return soleActive(view, asking);
  }
  if (busy !== undefined) return busy;
  if (view.channels.size > 1) return null;
  for (const channel of view.channels) return channel;
  return undefined;
}

/**
 * Several channels are busy. A client slow to answer (a person reading an elicitation, a
 * 2026 client that never retries its input_required) must not block every other session,
 * so a channel whose calls are all waiting on server requests it holds ("parked") is left
 * out, unless the message may be the rest of a burst to it. Servers ask several things at
 * once in one go, so a burst comes without other messages between; it counts as the
 * parked channel's when it follows that channel's last request directly and either no
 * other channel is live or a live one has a call older than that request (then nobody
 * can tell: refused). What remains must be one channel, else null. Residual guesses: a
 * parked call asking again later, on its own (not in a burst), goes to the one live
 * channel; so does the rest of a burst when a live channel's call went upstream between
 * its first request and the rest.
 */
function soleActive(view: RoutingView, asking: boolean): MuxChannel | null {
  const calls = new Map<MuxChannel, { count: number; firstSent: number }>();
  for (const p of view.pending.values()) {
    if (p.channel === undefined || (asking && !ASKING_METHODS.has(p.method))) continue;
    const c = calls.get(p.channel);
    if (c === undefined) calls.set(p.channel, { count: 1, firstSent: p.sentSeq });
    else {
      c.count++;
      c.firstSent = Math.min(c.firstSent, p.sentSeq);
    }
  }
  const parked: MuxChannel[] = [];
  const live: MuxChannel[] = [];
  for (const [channel, c] of calls) (view.serverRequests.heldBy(channel) >= c.count ? parked : live).push(channel);
  // The message being handled is seq; the one before it, seq - 1.
  const seq = view.seq;
  const burstOf = (channel: MuxChannel): boolean =>
    channel.askedSeq === seq - 1 &&
    (live.length === 0 || live.some((other) => (calls.get(other) as { firstSent: number }).firstSent < channel.askedSeq));
  const targets = live.concat(parked.filter(burstOf));
  return targets.length === 1 ? (targets[0] as MuxChannel) : null;
}
