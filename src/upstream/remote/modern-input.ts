// The client side of the `input_required` continuation, for ModernAdapterLink
// (docs/decisions/protocol-eras.md section 5b): a 2026-07-28 server asks for client input
// inside a result (`inputRequests`), while the 2025-era session above answers real
// server->client requests. ClientInputs sends each embedded request up with an id of its
// own (`ir-N`), matches the client's replies, and withdraws what a finished call still
// waits for. The rounds themselves (retrying upstream with `inputResponses` and the exact
// `requestState`) stay in the adapter.

import type { JsonRpcMessage, JsonRpcRequest, JsonRpcResponse } from '../../jsonrpc/index.js';
import type { Logger } from '../../observability/index.js';
import { isObject } from './modern-translate.js';

/** The client's answer to one of our server->client requests was an error (or the ask was malformed). */
export class InputFailed extends Error {}

/** The part of a downstream call that waits for the client's input. */
export interface InputWait {
  /** Ids of the server->client requests this call is waiting for. */
  readonly inputs: Set<string>;
  /** Stops a wait for the client's answers (cancellation, link closed). */
  interrupt: ((reason: Error) => void) | undefined;
}

/** What the adapter lends ClientInputs. */
export interface InputHost {
  /** The server's name, for error messages. */
  readonly name: string;
  readonly logger: Logger;
  /** A message for the session above (the server->client requests, their withdrawals). */
  send(message: JsonRpcMessage): void;
  /** The link is closed: withdrawals are not sent any more. */
  closed(): boolean;
}

/** The server->client requests in flight for the calls of one link. */
export class ClientInputs {
  readonly #host: InputHost;
  #next = 0;
  readonly #pending = new Map<string, (reply: JsonRpcResponse) => void>();

  constructor(host: InputHost) {
    this.#host = host;
  }

  /**
   * Sends the embedded requests up as real server->client requests; resolves with key -> result
   * once all are answered, rejects with InputFailed on a malformed ask or an error reply, and with
   * whatever `wait.interrupt` is called with.
   */
  ask(wait: InputWait, asked: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const answers: Record<string, unknown> = {};
      let left = 0;
      const malformed = Object.entries(asked).find(([, embedded]) => !isObject(embedded) || typeof embedded.method !== 'string');
      if (malformed !== undefined) {
        reject(new InputFailed(`upstream "${this.#host.name}" sent a malformed input request "${malformed[0]}"`));
        return;
      }
      wait.interrupt = reject;
      const requests: JsonRpcRequest[] = [];
      for (const [key, embedded] of Object.entries(asked) as [string, { method: string; params?: unknown }][]) {
        const method = embedded.method;
        const id = `ir-${++this.#next}`;
        let params = isObject(embedded.params) ? embedded.params : undefined;
        // 2025-11-25 URL-mode elicitation carries an elicitationId; 2026 dropped it.
        if (method === 'elicitation/create' && params?.mode === 'url' && params.elicitationId === undefined) {
          params = { ...params, elicitationId: id };
        }
        left++;
        wait.inputs.add(id);
        this.#pending.set(id, (reply) => {
          wait.inputs.delete(id);
          if ('error' in reply) {
            reject(new InputFailed(`the client could not answer ${method} for upstream "${this.#host.name}": ${reply.error.message}`));
            return;
          }
          answers[key] = reply.result;
          if (--left === 0) {
            wait.interrupt = undefined;
            resolve(answers);
          }
        });
        requests.push(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
      }
      for (const r of requests) this.#host.send(r);
    });
  }

  /** Takes the client's reply to one of the requests sent up; a reply that matches none is dropped. */
  settle(reply: JsonRpcResponse): void {
    const settle = typeof reply.id === 'string' ? this.#pending.get(reply.id) : undefined;
    if (settle === undefined) {
      this.#host.logger.debug({ id: reply.id }, 'client reply matches no input request; dropped');
      return;
    }
    this.#pending.delete(reply.id as string);
    settle(reply);
  }

  /** Withdraws the server->client requests a call still waits for. */
  drop(wait: InputWait, reason: string): void {
    for (const id of wait.inputs) {
      this.#pending.delete(id);
      if (!this.#host.closed()) this.#host.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason } });
    }
    wait.inputs.clear();
    wait.interrupt = undefined;
  }

  /** Forgets every request in flight (the link closed; the calls were interrupted). */
  clear(): void {
    this.#pending.clear();
  }
}
