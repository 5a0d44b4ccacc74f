import { describe, expect, it } from 'vitest';
import { createMemoryAdapter } from './memory-adapter.js';
import { withRefreshGrace } from './refresh-grace.js';

describe('withRefreshGrace', () => {
  it('hides a refresh token consumption for the grace window only, and only for refresh tokens', async () => {
    let skew = 0;
    const factory = withRefreshGrace(createMemoryAdapter(), 10, () => Date.now() / 1000 + skew);
    const refresh = factory('RefreshToken');
    await refresh.upsert('rt1', { grantId: 'g1', kind: 'RefreshToken' }, 3600);
    await refresh.consume('rt1');
    expect(await refresh.find('rt1')).toMatchObject({ grantId: 'g1' });
    expect((await refresh.find('rt1'))?.consumed).toBeUndefined(); // inside the window
    skew = 11;
    expect((await refresh.find('rt1'))?.consumed).toBeTypeOf('number'); // after it: reuse is detected
    // A reuse does not move the first use's time (as in the SQL stores), so it cannot stretch the window.
    const plain = createMemoryAdapter()('RefreshToken');
    await plain.upsert('rt2', { grantId: 'g2', kind: 'RefreshToken', consumed: 1 }, 3600);
    await plain.consume('rt2');
    expect((await plain.find('rt2'))?.consumed).toBe(1);

    const code = factory('AuthorizationCode');
    await code.upsert('c1', { grantId: 'g1', kind: 'AuthorizationCode' }, 60);
    await code.consume('c1');
    skew = 0;
    expect((await code.find('c1'))?.consumed).toBeTypeOf('number'); // codes never get a grace
  });
});
