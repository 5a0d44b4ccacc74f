import type { JsonRpcId } from '../jsonrpc/index.js';
import type { MuxChannel } from './mux-channel.js';

/**
 * Server-to-client requests handed to channels. Each gets an id of ours (the channel sees
 * that one), so a channel's reply finds the server's id, and ids reused by a restarted
 * server cannot be confused. URL-mode elicitations also remember their channel, for the
 * completion notification that comes later.
 */
export class ServerRequestTable {
  #nextId = 1;
  readonly #byId = new Map<number, { readonly channel: MuxChannel; readonly serverId: JsonRpcId }>();
  readonly #elicitations = new Map<string, MuxChannel>();

  /** Records the request; returns the id the channel is to see. */
  add(channel: MuxChannel, serverId: JsonRpcId, elicitationId?: string): number {
    const id = this.#nextId++;
    this.#byId.set(id, { channel, serverId });
    if (elicitationId !== undefined) this.#elicitations.set(elicitationId, channel);
    return id;
  }

  /** The channel answered: the server's id, once, if the request is that channel's. */
  take(id: JsonRpcId | null, channel: MuxChannel): JsonRpcId | undefined {
    const entry = typeof id === 'number' ? this.#byId.get(id) : undefined;
    if (entry === undefined || entry.channel !== channel) return undefined;
    this.#byId.delete(id as number);
    return entry.serverId;
  }

  /** The server withdrew its request: which channel holds it, under which id of ours. */
  withdraw(serverId: unknown): { id: number; channel: MuxChannel } | undefined {
    for (const [id, entry] of this.#byId) {
      if (entry.serverId !== serverId) continue;
      this.#byId.delete(id);
      return { id, channel: entry.channel };
    }
    return undefined;
  }

  /** How many of its requests the channel has not answered yet. */
  heldBy(channel: MuxChannel): number {
    let n = 0;
    for (const entry of this.#byId.values()) if (entry.channel === channel) n++;
    return n;
  }

  /** The channel that started a URL-mode elicitation, once. */
  takeElicitation(elicitationId: string): MuxChannel | undefined {
    const channel = this.#elicitations.get(elicitationId);
    if (channel !== undefined) this.#elicitations.delete(elicitationId);
    return channel;
  }

  /** Forgets everything of the channel; returns the server ids it left unanswered. */
  release(channel: MuxChannel): JsonRpcId[] {
    const unanswered: JsonRpcId[] = [];
    for (const [id, entry] of this.#byId) {
      if (entry.channel !== channel) continue;
      this.#byId.delete(id);
      unanswered.push(entry.serverId);
    }
    for (const [eid, owner] of this.#elicitations) if (owner === channel) this.#elicitations.delete(eid);
    return unanswered;
  }

  clear(): void {
    this.#byId.clear();
    this.#elicitations.clear();
  }
}
