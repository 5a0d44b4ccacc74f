import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../observability/index.js';
import { gateFor, providerContextGate } from './provider-context.js';

describe('provider context gate', () => {
  it('finds the storage oidc-provider enters for its requests', async () => {
    // Fails when an oidc-provider upgrade moves it: the gateway then pays for async hooks again.
    expect((await providerContextGate(silentLogger())).gating).toBe(true);
  });

  it('switches the storage off only when no request is left, and the store still works inside requests', async () => {
    const storage = new AsyncLocalStorage<string>();
    const disable = vi.spyOn(storage, 'disable');
    const gate = gateFor(storage);
    let finishA: () => void = () => undefined;
    const seen: (string | undefined)[] = [];
    const a = gate.around(() =>
      storage.run('a', async () => {
        await new Promise<void>((resolve) => (finishA = resolve));
        seen.push(storage.getStore());
      }),
    );
    await gate.around(() =>
      storage.run('b', async () => {
        await Promise.resolve();
        seen.push(storage.getStore());
      }),
    );
    expect(disable).not.toHaveBeenCalled();
    finishA();
    await a;
    expect(disable).toHaveBeenCalledTimes(1);
    expect(seen).toEqual(['b', 'a']);
    // The next request turns it on again by itself.
    expect(await gate.around(() => storage.run('c', () => Promise.resolve(storage.getStore())))).toBe('c');
    expect(disable).toHaveBeenCalledTimes(2);
  });

  it('lets a failing request go and still counts it', async () => {
    const storage = new AsyncLocalStorage<string>();
    const disable = vi.spyOn(storage, 'disable');
    const gate = gateFor(storage);
    await expect(gate.around(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(
      gate.around(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(disable).toHaveBeenCalledTimes(2);
  });
});
