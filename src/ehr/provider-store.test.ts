import { describe, expect, it } from 'vitest';
import { providerMemoryStore } from './provider-store.js';

describe("the embedded authorization server's store", () => {
  it('keeps an entry until it expires, however many entries are written meanwhile', async () => {
    let now = 1_000_000;
    const store = providerMemoryStore(() => now);
    const tokens = store('AccessToken');
    await tokens.upsert('idle', { grantId: 'g1', accountId: 'u' }, 3600);
    for (let i = 0; i < 5000; i++) await store('Interaction').upsert(`i${i}`, { uid: `i${i}` }, 600);
    expect(await tokens.find('idle')).toMatchObject({ grantId: 'g1' });
    now += 3599_000;
    expect(await tokens.find('idle')).toBeDefined();
    now += 2_000;
    expect(await tokens.find('idle')).toBeUndefined();
    expect(await store('Interaction').find('i0')).toBeUndefined();
  });

  it('keeps models apart, finds sessions by uid, consumes codes, destroys entries', async () => {
    let now = 5_000_000;
    const store = providerMemoryStore(() => now);
    await store('Session').upsert('s1', { uid: 'uid-1', accountId: 'u' }, 3600);
    await store('Interaction').upsert('s1', { uid: 'uid-interaction' }, 600);
    expect(await store('Session').findByUid('uid-1')).toMatchObject({ accountId: 'u' });
    expect(await store('Session').findByUid('uid-interaction')).toBeUndefined();
    expect(await store('Interaction').find('s1')).toMatchObject({ uid: 'uid-interaction' });
    const codes = store('AuthorizationCode');
    await codes.upsert('c1', { grantId: 'g1' }, 60);
    now += 5_000;
    await codes.consume('c1');
    expect(await codes.find('c1')).toMatchObject({ consumed: 5_005 });
    await store('Session').destroy('s1');
    expect(await store('Session').find('s1')).toBeUndefined();
    expect(await store('Session').findByUid('uid-1')).toBeUndefined();
  });

  it("revoking a grant removes its codes and tokens, not another grant's nor the grant itself", async () => {
    const store = providerMemoryStore(() => 0);
    await store('Grant').upsert('g1', { jti: 'g1', accountId: 'u' }, 3600);
    await store('AccessToken').upsert('t1', { grantId: 'g1' }, 3600);
    await store('AuthorizationCode').upsert('c1', { grantId: 'g1' }, 60);
    await store('AccessToken').upsert('t2', { grantId: 'g2' }, 3600);
    await store('AccessToken').revokeByGrantId('g1');
    expect(await store('AccessToken').find('t1')).toBeUndefined();
    expect(await store('AuthorizationCode').find('c1')).toBeUndefined();
    expect(await store('AccessToken').find('t2')).toBeDefined();
    expect(await store('Grant').find('g1')).toBeDefined();
  });
});
