import { parseMessage, type JsonRpcId, type JsonRpcMessage } from '../../jsonrpc/index.js';

/** A POST answered with `application/json`: its messages, read. */
export interface JsonAnswer {
  /** The well-formed messages, in order (one, or a 2025-03-26 batch). */
  readonly messages: readonly JsonRpcMessage[];
  /** Why each malformed item was passed over. */
  readonly malformed: readonly string[];
  /** One of the messages is the response to the request the POST carried. */
  readonly answers: boolean;
}

/** Reads a JSON answer to the POST of request `id` (undefined for a notification or response); undefined when the body is not JSON. */
export function readJsonAnswer(text: string, id: JsonRpcId | undefined): JsonAnswer | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const messages: JsonRpcMessage[] = [];
  const malformed: string[] = [];
  let answers = false;
  for (const item of Array.isArray(value) ? value : [value]) {
    const parsed = parseMessage(item);
    if (!parsed.ok) {
      malformed.push(parsed.reason);
      continue;
    }
    if (id !== undefined && !('method' in parsed.message) && parsed.message.id === id) answers = true;
    messages.push(parsed.message);
  }
  return { messages, malformed, answers };
}
