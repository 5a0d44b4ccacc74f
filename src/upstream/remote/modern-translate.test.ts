// The 2026 -> 2025 translations of ModernAdapterLink, alone.
import { LATEST_PROTOCOL_VERSION, SERVER_INFO_META_KEY } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';

import { ErrorCode } from '../../jsonrpc/index.js';
import { initializeResult, legacyError, legacyResult } from './modern-translate.js';

describe('initializeResult', () => {
  const discover = {
    capabilities: { tools: { listChanged: true }, tasks: { list: {} } },
    _meta: { [SERVER_INFO_META_KEY]: { name: 'upstream', version: '2.0.0' } },
    instructions: 'be nice',
  };

  it('echoes a supported revision, drops tasks, and takes serverInfo from _meta', () => {
    expect(initializeResult(discover, discover.capabilities, '2025-06-18', 'srv')).toEqual({
      protocolVersion: '2025-06-18',
      capabilities: { tools: { listChanged: true } },
      serverInfo: { name: 'upstream', version: '2.0.0' },
      instructions: 'be nice',
    });
  });

  it('answers an unknown revision with the newest, and names the server when discover does not', () => {
    expect(initializeResult({ capabilities: {} }, {}, '1999-01-01', 'srv')).toEqual({
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: {},
      serverInfo: { name: 'srv', version: '' },
    });
  });
});

describe('legacyResult and legacyError', () => {
  it('drops resultType, cache hints and the serverInfo _meta, keeping other _meta keys', () => {
    const result = { resultType: 'complete', ttlMs: 0, cacheScope: 'private', tools: [], _meta: { [SERVER_INFO_META_KEY]: {}, keep: 1 } };
    expect(legacyResult(result)).toEqual({ tools: [], _meta: { keep: 1 } });
    expect(legacyResult({ resultType: 'complete', _meta: { [SERVER_INFO_META_KEY]: {} } })).toEqual({});
  });

  it('maps resources/read -32602 {uri} back to -32002, and nothing else', () => {
    const read = { jsonrpc: '2.0' as const, id: 1, method: 'resources/read', params: { uri: 'file:///x' } };
    const notFound = { code: ErrorCode.InvalidParams, message: 'no such resource', data: { uri: 'file:///x' } };
    expect(legacyError(read, notFound)).toMatchObject({ id: 1, error: { code: ErrorCode.ResourceNotFound, data: { uri: 'file:///x' } } });
    expect(legacyError({ ...read, method: 'tools/call' }, notFound)).toMatchObject({ error: { code: ErrorCode.InvalidParams } });
  });
});
