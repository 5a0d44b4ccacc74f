import type { ToolFilter } from '../config/index.js';
import {
  ErrorCode,
  errorResponse,
  isResponse,
  progressTokenOf,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../jsonrpc/index.js';
import type { Channel, Upstream } from '../upstream/types.js';
import { cancelledRequestId, duplicateIdError, PendingRequests, relatedRequest, type Dispatcher, type OpenDispatcherOptions } from './dispatcher.js';
import { filterToolList, listedToolNames, toolAllowed, type FilterNameAudit } from './tool-filter.js';

/**
 * A session on one server (`/{name}/mcp`): messages pass through as they are; only the
 * tool filter looks inside (tools/list results, tools/call names).
 */
export async function openSingleDispatcher(
  upstream: Upstream,
  filter: ToolFilter | undefined,
  options: OpenDispatcherOptions,
  audit?: FilterNameAudit,
): Promise<Dispatcher> {
  const pending = new PendingRequests();
  /** tools/list requests in flight, and whether each asked for the first page (no cursor). */
  const listRequests = new Map<string | number, boolean>();
  const { sink } = options;

  const onMessage = (message: JsonRpcMessage): void => {
    if (isResponse(message)) {
      const firstPage = filter && message.id !== null ? listRequests.get(message.id) : undefined;
      if (firstPage !== undefined) {
        listRequests.delete(message.id as string | number);
        if ('result' in message) {
          // A one-page list is the server's whole list: the filter's names can be checked against it.
          if (firstPage && audit && message.result.nextCursor === undefined) audit.listed(listedToolNames(message.result));
          message = { ...message, result: filterToolList(filter, message.result) };
        }
      }
      pending.settle(message);
      return;
    }
    sink.deliver(message, relatedRequest(message, pending));
  };

  const channel: Channel = await upstream.open(
    { onMessage, onClose: (reason) => sink.closed?.(reason) },
    options.initialize ? { initialize: options.initialize } : {},
  );

  return {
    initializeResult: channel.initializeResult,
    get inFlight() {
      return pending.size;
    },
    request(request: JsonRpcRequest): Promise<JsonRpcResponse> {
      // A reused pending id never reaches the upstream (its reply would settle the first one).
      if (pending.has(request.id)) return Promise.resolve(duplicateIdError(request.id));
      if (filter) {
        if (request.method === 'tools/call') {
          const name = request.params?.name;
          if (typeof name !== 'string' || !toolAllowed(filter, name)) {
            // A filtered tool does not exist for this client; it never reaches the upstream.
            return Promise.resolve(errorResponse(request.id, ErrorCode.InvalidParams, `Unknown tool: ${String(name)}`));
          }
        } else if (request.method === 'tools/list') {
          listRequests.set(request.id, request.params?.cursor === undefined);
        }
      }
      const reply = pending.add(request.id, progressTokenOf(request));
      channel.send(request);
      return reply;
    },
    notify(notification: JsonRpcNotification): void {
      channel.send(notification);
      const cancelled = cancelledRequestId(notification);
      if (cancelled !== undefined) pending.cancel(cancelled);
    },
    respond(response: JsonRpcResponse): void {
      channel.send(response);
    },
    async close(): Promise<void> {
      pending.failAll((id) => errorResponse(id, ErrorCode.UpstreamUnavailable, 'session closed'));
      await channel.close();
    },
  };
}
