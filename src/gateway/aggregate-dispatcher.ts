import type { ToolFilter } from '../config/index.js';
import {
  ErrorCode,
  errorResponse,
  isResponse,
  progressTokenOf,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../jsonrpc/index.js';
import type { Logger } from '../observability/index.js';
import { failureMessage } from '../upstream/index.js';
import type { Channel, InitializeResult, Upstream } from '../upstream/types.js';
import { VERSION } from '../version.js';
import { cancelledRequestId, duplicateIdError, PendingRequests, REQUEST_CANCELLED, relatedRequest, type Dispatcher, type OpenDispatcherOptions } from './dispatcher.js';
import { filterToolList, listedToolNames, toolAllowed, type FilterNameAudit } from './tool-filter.js';

/** Separates server and tool in aggregate names: `files__read_file` (CONTRACT.md). */
export const NAME_SEPARATOR = '__';

export interface AggregateMember {
  readonly name: string;
  readonly upstream: Upstream;
  readonly filter: ToolFilter | undefined;
  /** Says when the filter names tools the server does not list. */
  readonly audit?: FilterNameAudit | undefined;
}

interface Member extends AggregateMember {
  channel: Channel;
}

type PrefixedList = 'tools' | 'prompts';
type PlainList = 'resources' | 'resourceTemplates';

/**
 * A session on every server the caller may use (`/mcp`). Lists are merged, tool and prompt
 * names get a `server__` prefix, and each call goes to the server its name or URI names.
 */
export async function openAggregateDispatcher(members: readonly AggregateMember[], options: OpenDispatcherOptions, logger?: Logger): Promise<Dispatcher> {
  const { sink } = options;
  const pending = new PendingRequests();
  // Our own ids for requests we send on a channel, so replies from several servers never collide.
  let nextId = 0;
  const internal = new Map<string, (r: JsonRpcResponse) => void>();
  // Server-to-client requests, renamed so that two servers' ids cannot collide downstream.
  const serverRequests = new Map<string, { member: Member; id: JsonRpcId }>();
  const resourceOwner = new Map<string, Member>();
  const list: Member[] = [];

  const onMessageFor = (member: () => Member) => (message: JsonRpcMessage) => {
    if (isResponse(message)) {
      const key = String(message.id);
      const resolve = internal.get(key);
      if (resolve) {
        internal.delete(key);
        resolve(message);
      }
      return;
    }
    if ('id' in message && 'method' in message) {
      const id = `${member().name}:${String(message.id)}`;
      serverRequests.set(id, { member: member(), id: message.id });
      sink.deliver({ ...message, id }, relatedRequest(message, pending));
      return;
    }
    sink.deliver(message, relatedRequest(message, pending));
  };

  const opened = await Promise.allSettled(
    members.map(async (m) => {
      const holder: { self?: Member } = {};
      const channel = await m.upstream.open(
        { onMessage: onMessageFor(() => holder.self!), onClose: () => undefined },
        options.initialize ? { initialize: options.initialize } : {},
      );
      holder.self = { ...m, channel };
      list.push(holder.self);
    }),
  );
  // One server down (a missing command, a remote that refuses) must not take the others away:
  // the session opens without it, and says so in the log. Only when none answers does it fail.
  const failed = opened.flatMap((r, i) => (r.status === 'rejected' ? [{ name: members[i]!.name, reason: r.reason as unknown }] : []));
  if (failed.length > 0 && list.length === 0) throw new NoMemberOpened(failed);
  for (const f of failed) {
    logger?.warn(
      { server: f.name, err: f.reason instanceof Error ? f.reason.message : String(f.reason) },
      'aggregate session opened without this server: it is unavailable, so its tools, prompts and resources are missing until the client opens a new session (a session held for 2026 clients is replaced after a short retry interval)',
    );
  }
  list.sort((a, b) => members.findIndex((m) => m.name === a.name) - members.findIndex((m) => m.name === b.name));
  // Said to the holder, so that a session kept for a long time (held for 2026 clients) can be
  // replaced once the server may be back (held-sessions.ts).
  const missing: readonly string[] = Object.freeze(failed.map((f) => f.name));

  const call = (member: Member, method: string, params: Record<string, unknown> | undefined): Promise<JsonRpcResponse> => {
    const id = `gh-${++nextId}`;
    const reply = new Promise<JsonRpcResponse>((resolve) => internal.set(id, resolve));
    const request: JsonRpcRequest = { jsonrpc: '2.0', id, method };
    if (params) request.params = params;
    member.channel.send(request);
    return reply;
  };

  /** Every page of one list from one server. */
  const listAll = async (member: Member, method: string, key: string): Promise<Record<string, unknown>[]> => {
    const items: Record<string, unknown>[] = [];
    const audited = method === 'tools/list' ? member.audit : undefined;
    const names: string[] = [];
    let cursor: unknown;
    for (let page = 0; page < 100; page++) {
      const r = await call(member, method, cursor === undefined ? undefined : { cursor });
      if (!('result' in r)) return items;
      if (audited) names.push(...listedToolNames(r.result));
      const result = method === 'tools/list' ? filterToolList(member.filter, r.result) : r.result;
      const got = result[key];
      if (Array.isArray(got)) items.push(...(got as Record<string, unknown>[]));
      cursor = r.result.nextCursor;
      if (typeof cursor !== 'string' || cursor === '') {
        audited?.listed(names); // every page read: the server's whole list
        break;
      }
    }
    return items;
  };

  const supports = (m: Member, capability: string): boolean => capability in (m.channel.initializeResult.capabilities ?? {});

  const mergedList = async (method: string, key: PrefixedList | PlainList, capability: string): Promise<Record<string, unknown>> => {
    const parts = await Promise.all(
      list.filter((m) => supports(m, capability)).map(async (m) => ({ m, items: await listAll(m, method, key) })),
    );
    const out: Record<string, unknown>[] = [];
    for (const { m, items } of parts) {
      for (const item of items) {
        if (key === 'tools' || key === 'prompts') {
          out.push({ ...item, name: `${m.name}${NAME_SEPARATOR}${String(item.name)}` });
        } else {
          if (typeof item.uri === 'string') resourceOwner.set(item.uri, m);
          out.push(item);
        }
      }
    }
    return { [key]: out };
  };

  /** `server__name` -> the member and the server's own name. */
  const byPrefixedName = (value: unknown): { member: Member; name: string } | undefined => {
    if (typeof value !== 'string') return undefined;
    const i = value.indexOf(NAME_SEPARATOR);
    if (i <= 0) return undefined;
    const member = list.find((m) => m.name === value.slice(0, i));
    return member ? { member, name: value.slice(i + NAME_SEPARATOR.length) } : undefined;
  };

  /** The server that listed a URI; else the first whose template or scheme could hold it. */
  const byUri = async (uri: unknown): Promise<Member | undefined> => {
    if (typeof uri !== 'string') return undefined;
    if (!resourceOwner.has(uri)) await mergedList('resources/list', 'resources', 'resources');
    const owner = resourceOwner.get(uri);
    if (owner) return owner;
    const candidates = list.filter((m) => supports(m, 'resources'));
    return candidates.length === 1 ? candidates[0] : undefined;
  };

  // Downstream request id -> the server and id it runs under, for cancellation.
  const forwarded = new Map<JsonRpcId, { member: Member; id: string }>();
  const forward = (member: Member, request: JsonRpcRequest, params: Record<string, unknown> | undefined): Promise<JsonRpcResponse> => {
    const reply = call(member, request.method, params);
    forwarded.set(request.id, { member, id: `gh-${nextId}` });
    return reply.then((r) => {
      forwarded.delete(request.id);
      return { ...r, id: request.id };
    });
  };

  const route = async (request: JsonRpcRequest): Promise<JsonRpcResponse> => {
    const params = request.params;
    switch (request.method) {
      case 'ping':
        return { jsonrpc: '2.0', id: request.id, result: {} };
      case 'tools/list':
        return { jsonrpc: '2.0', id: request.id, result: await mergedList('tools/list', 'tools', 'tools') };
      case 'prompts/list':
        return { jsonrpc: '2.0', id: request.id, result: await mergedList('prompts/list', 'prompts', 'prompts') };
      case 'resources/list':
        return { jsonrpc: '2.0', id: request.id, result: await mergedList('resources/list', 'resources', 'resources') };
      case 'resources/templates/list':
        return {
          jsonrpc: '2.0',
          id: request.id,
          result: await mergedList('resources/templates/list', 'resourceTemplates', 'resources'),
        };
      case 'tools/call':
      case 'prompts/get': {
        const target = byPrefixedName(params?.name);
        const kind = request.method === 'tools/call' ? 'tool' : 'prompt';
        if (!target || (kind === 'tool' && !toolAllowed(target.member.filter, target.name))) {
          return errorResponse(request.id, ErrorCode.InvalidParams, `Unknown ${kind}: ${String(params?.name)}`);
        }
        return forward(target.member, request, { ...params, name: target.name });
      }
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe': {
        const member = await byUri(params?.uri);
        if (!member) return errorResponse(request.id, ErrorCode.ResourceNotFound, `Resource not found: ${String(params?.uri)}`);
        return forward(member, request, params);
      }
      case 'completion/complete': {
        const ref = (params?.ref ?? {}) as Record<string, unknown>;
        if (ref.type === 'ref/prompt') {
          const target = byPrefixedName(ref.name);
          if (!target) return errorResponse(request.id, ErrorCode.InvalidParams, `Unknown prompt: ${String(ref.name)}`);
          return forward(target.member, request, { ...params, ref: { ...ref, name: target.name } });
        }
        const member = await byUri(ref.uri);
        if (!member) return { jsonrpc: '2.0', id: request.id, result: { completion: { values: [], hasMore: false } } };
        return forward(member, request, params);
      }
      case 'logging/setLevel': {
        await Promise.all(list.filter((m) => supports(m, 'logging')).map((m) => call(m, request.method, params)));
        return { jsonrpc: '2.0', id: request.id, result: {} };
      }
      default:
        return errorResponse(request.id, ErrorCode.MethodNotFound, `Method not found: ${request.method}`);
    }
  };

  return {
    initializeResult: mergeInitializeResults(list),
    missing,
    get inFlight() {
      return pending.size;
    },
    request(request: JsonRpcRequest): Promise<JsonRpcResponse> {
      // A reused pending id is refused before it is routed (else `forwarded` would lose the first).
      if (pending.has(request.id)) return Promise.resolve(duplicateIdError(request.id));
      // The progress token names the request an upstream's notifications/progress belongs to,
      // so it travels on that request's own response stream (as on `/{name}/mcp`), not the GET
      // stream. The request goes on with its params._meta as it came.
      const reply = pending.add(request.id, progressTokenOf(request));
      route(request).then(
        (r) => pending.settle(r),
        (err: unknown) => pending.settle(errorResponse(request.id, ErrorCode.InternalError, (err as Error).message)),
      );
      return reply;
    },
    notify(notification: JsonRpcNotification): void {
      const cancelled = cancelledRequestId(notification);
      if (cancelled !== undefined) {
        // Tell the one server running it, under the id we gave it there.
        const target = forwarded.get(cancelled);
        if (target) {
          target.member.channel.send({ ...notification, params: { ...notification.params, requestId: target.id } });
          forwarded.delete(cancelled);
          internal.get(target.id)?.(errorResponse(null, REQUEST_CANCELLED, 'Request cancelled'));
          internal.delete(target.id);
        }
        pending.cancel(cancelled);
        return;
      }
      for (const m of list) m.channel.send(notification);
    },
    respond(response: JsonRpcResponse): void {
      const target = response.id === null ? undefined : serverRequests.get(String(response.id));
      if (!target) return;
      serverRequests.delete(String(response.id));
      target.member.channel.send({ ...response, id: target.id });
    },
    async close(): Promise<void> {
      pending.failAll((id) => errorResponse(id, ErrorCode.UpstreamUnavailable, 'session closed'));
      for (const resolve of internal.values()) resolve(errorResponse(null, ErrorCode.UpstreamUnavailable, 'session closed'));
      internal.clear();
      await Promise.all(list.map((m) => m.channel.close()));
    },
  };
}

function mergeInitializeResults(members: readonly Member[]): InitializeResult {
  const caps: Record<string, unknown> = {};
  const has = (k: string) => members.some((m) => k in (m.channel.initializeResult.capabilities ?? {}));
  if (has('tools')) caps.tools = { listChanged: true };
  if (has('prompts')) caps.prompts = { listChanged: true };
  if (has('resources')) {
    const subscribe = members.some((m) => (m.channel.initializeResult.capabilities.resources as { subscribe?: boolean } | undefined)?.subscribe);
    caps.resources = { listChanged: true, ...(subscribe ? { subscribe: true } : {}) };
  }
  if (has('logging')) caps.logging = {};
  if (has('completions')) caps.completions = {};
  const instructions = members
    .filter((m) => m.channel.initializeResult.instructions)
    .map((m) => `## ${m.name}\n${m.channel.initializeResult.instructions}`)
    .join('\n\n');
  return {
    protocolVersion: members[0]?.channel.initializeResult.protocolVersion ?? '2025-11-25',
    capabilities: caps,
    serverInfo: { name: 'gatehouse', version: VERSION },
    instructions:
      `Tools and prompts of ${members.length} servers (${members.map((m) => m.name).join(', ')}), named server${NAME_SEPARATOR}name.` +
      (instructions ? `\n\n${instructions}` : ''),
  };
}

/**
 * No server of the aggregate opened. The message (for the log) has each one's reason in full;
 * clientMessage words each for clients as a named route would (no remote server's URL).
 */
export class NoMemberOpened extends Error {
  readonly #failed: ReadonlyArray<{ readonly name: string; readonly reason: Error }>;

  constructor(failed: ReadonlyArray<{ readonly name: string; readonly reason: unknown }>) {
    const reasons = failed.map((f) => ({ name: f.name, reason: f.reason instanceof Error ? f.reason : new Error(String(f.reason)) }));
    super(reasons.map((f) => failureMessage(f.name, new Error(f.reason.message))).join('; '));
    this.#failed = reasons;
  }

  clientMessage(): string {
    return this.#failed.map((f) => failureMessage(f.name, f.reason)).join('; ');
  }
}
