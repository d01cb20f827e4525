/**
 * Where the embedded EHR's authorization server keeps its sessions, interactions, grants, codes and tokens: in this
 * process's memory, each entry until it expires. Like the rest of the embedded EHR it is lost on restart (SMART apps
 * launch again) and not shared between processes (EMBEDDED_FHIR refuses WORKERS > 1). oidc-provider's own quick-start
 * store would do the same but drops entries not used for a thousand writes, expired or not, so an idle app's token
 * could vanish early on a busy development server.
 */
import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  /** Epoch ms; Infinity when the model has no lifetime. */
  readonly expiresAt: number;
}

/** Models whose entries a grant's revocation removes (what oidc-provider issues under a grant). */
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);

/** Expired entries are swept at most this often (each lookup ignores expired entries anyway). */
const SWEEP_INTERVAL_MS = 60_000;

/** Entries of every model of one authorization server, with the lookups oidc-provider needs. */
class ProviderMemory {
  readonly entries = new Map<string, Entry>();
  /** Session uid -> entry key. */
  readonly byUid = new Map<string, string>();
  /** Device-flow user code -> entry key. */
  readonly byUserCode = new Map<string, string>();
  /** Grant id -> keys of the codes and tokens issued under it. */
  readonly byGrant = new Map<string, Set<string>>();
  private lastSweep: number;

  constructor(readonly now: () => number) {
    this.lastSweep = now();
  }

  get(key: string | undefined): AdapterPayload | undefined {
    if (key === undefined) return undefined;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  set(model: string, key: string, payload: AdapterPayload, expiresInS: number | undefined): void {
    this.delete(key);
    this.entries.set(key, { payload, expiresAt: expiresInS === undefined ? Infinity : this.now() + expiresInS * 1000 });
    if (model === 'Session' && payload.uid) this.byUid.set(payload.uid, key);
    if (payload.userCode) this.byUserCode.set(payload.userCode, key);
    if (GRANTABLE.has(model) && payload.grantId) {
      const keys = this.byGrant.get(payload.grantId) ?? new Set<string>();
      keys.add(key);
      this.byGrant.set(payload.grantId, keys);
    }
    this.sweep();
  }

  delete(key: string): void {
    const payload = this.entries.get(key)?.payload;
    if (!payload) return;
    this.entries.delete(key);
    if (payload.uid && this.byUid.get(payload.uid) === key) this.byUid.delete(payload.uid);
    if (payload.userCode && this.byUserCode.get(payload.userCode) === key) this.byUserCode.delete(payload.userCode);
    if (payload.grantId && this.byGrant.has(payload.grantId)) {
      const keys = this.byGrant.get(payload.grantId);
      keys?.delete(key);
      if (keys?.size === 0) this.byGrant.delete(payload.grantId);
    }
  }

  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.delete(key);
  }
}

/**
 * A store for one authorization server, as oidc-provider's `adapter` option takes it (one adapter per model name).
 * @param now - the clock, epoch ms (tests move it).
 * @returns the adapter factory.
 */
export function providerMemoryStore(now: () => number = Date.now): AdapterFactory {
  const memory = new ProviderMemory(now);
  return (model: string): Adapter => {
    const key = (id: string): string => `${model}:${id}`;
    // oidc-provider awaits every call; this store answers at once.
    return {
      upsert: (id, payload, expiresIn) => Promise.resolve(memory.set(model, key(id), payload, expiresIn)),
      find: (id) => Promise.resolve(memory.get(key(id))),
      findByUid: (uid) => Promise.resolve(memory.get(memory.byUid.get(uid))),
      findByUserCode: (userCode) => Promise.resolve(memory.get(memory.byUserCode.get(userCode))),
      consume: (id) => {
        const payload = memory.get(key(id));
        if (payload) payload.consumed = Math.floor(memory.now() / 1000);
        return Promise.resolve();
      },
      destroy: (id) => Promise.resolve(memory.delete(key(id))),
      revokeByGrantId: (grantId) => {
        for (const k of [...(memory.byGrant.get(grantId) ?? [])]) memory.delete(k);
        return Promise.resolve();
      },
    };
  };
}
