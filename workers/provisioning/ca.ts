import { loadCa, type LoadedCa } from '../../lib/pki/ca.ts';
import { CaInvalid } from '../../lib/pki/errors.ts';

let cached: { key: string; ca: Promise<LoadedCa> } | undefined;

/**
 * The issuing CA from the `CA_CERT` / `CA_KEY` / `CA_CHAIN` secrets, loaded once per isolate and reloaded only when
 * the secrets change (a new deployment after rotation). A failed load is not cached, so a fixed secret takes effect.
 * Throws `CaInvalid` on bad secrets; the one onError answers it with a generic 500.
 */
export function currentCa(env: Env): Promise<LoadedCa> {
  const key = `${env.CA_CERT}\u0000${env.CA_KEY}\u0000${env.CA_CHAIN ?? ''}`;
  if (cached?.key === key) return cached.ca;
  const ca = loadCa({ certPem: env.CA_CERT, keyPem: env.CA_KEY, chainPem: env.CA_CHAIN || undefined });
  const entry = { key, ca };
  cached = entry;
  ca.catch((e: unknown) => {
    if (cached === entry) cached = undefined;
    // The detail names what is wrong (never key material), which the generic 500 cannot say.
    const detail = e instanceof CaInvalid ? e.detail : e instanceof Error ? e.message : String(e);
    console.error(JSON.stringify({ level: 'error', msg: 'CA secrets unusable', detail, time: new Date().toISOString() }));
  });
  return ca;
}
