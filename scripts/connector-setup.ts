/**
 * `npm run connector:setup -- --org ORG_ID --token ADMIN_ACCESS_TOKEN [options]`: generates the organisation's key
 * pairs locally, registers their public halves with the platform (PUT /api/orgs/:orgId/keys, which needs an org admin's
 * access token), and writes the connector's workers/connector/.dev.vars (private keys, service credentials, ORG_ID,
 * GATEHOUSE_URL). Run again with --rotate to add a new encryption key in front (old ones keep decrypting history).
 *
 * Options:
 *   --url URL               the platform (default http://127.0.0.1:8787)
 *   --org ID                the organisation (required)
 *   --token TOKEN           an org admin's access token (or GATEHOUSE_TOKEN in the environment)
 *   --client-id ID          the app client the connector gets platform tokens from (client_credentials)
 *   --client-secret SECRET  its secret (or GATEHOUSE_CLIENT_SECRET in the environment)
 *   --username U --password P   sign in as a service member with USER_PASSWORD_AUTH instead
 *   --rotate                new encryption key first, existing ones kept; signing key kept unless --rotate-signing
 *   --rotate-signing        also a new signing key
 *   --out PATH              where to write (default workers/connector/.dev.vars)
 *   --no-register           write the keys without registering them
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readDotenv, writeDotenv } from './lib/dotenv.ts';
import { newEncryptionKey, newSigningKey, registerKeys, type PrivateJwk } from './connector-keys.ts';

/** Runs the setup; returns the values written. */
export async function connectorSetup(o: {
  url: string;
  orgId: string;
  token?: string;
  clientId?: string;
  clientSecret?: string;
  username?: string;
  password?: string;
  rotate?: boolean;
  rotateSigning?: boolean;
  out: string;
  register?: boolean;
}): Promise<Record<string, string>> {
  if (!o.orgId) throw new Error('--org is required: the id of the organisation (see GET /api/orgs)');
  const existing = readDotenv(o.out);
  const oldEnc = existing.ORG_ENCRYPTION_KEYS ? (JSON.parse(existing.ORG_ENCRYPTION_KEYS) as PrivateJwk[]) : [];
  const oldSig = existing.ORG_SIGNING_KEY ? (JSON.parse(existing.ORG_SIGNING_KEY) as PrivateJwk) : undefined;
  const newEnc = oldEnc.length === 0 || o.rotate ? await newEncryptionKey() : undefined;
  const newSig = !oldSig || o.rotateSigning ? await newSigningKey() : undefined;
  if (o.register !== false && (newEnc || newSig)) {
    if (!o.token) throw new Error('--token (or GATEHOUSE_TOKEN) is required to register the public keys: an access token of an admin of the organisation');
    await registerKeys(o.url, o.orgId, o.token, { encryptionKey: newEnc, signingKey: newSig });
  }
  const values: Record<string, string> = {
    ...existing,
    GATEHOUSE_URL: o.url.replace(/\/+$/, ''),
    ORG_ID: o.orgId,
    ORG_ENCRYPTION_KEYS: JSON.stringify(newEnc ? [newEnc, ...oldEnc] : oldEnc),
    ORG_SIGNING_KEY: JSON.stringify(newSig ?? oldSig),
    GATEHOUSE_CLIENT_ID: o.clientId ?? existing.GATEHOUSE_CLIENT_ID ?? '',
    GATEHOUSE_CLIENT_SECRET: o.clientSecret ?? existing.GATEHOUSE_CLIENT_SECRET ?? '',
  };
  if (o.username !== undefined) values.GATEHOUSE_USERNAME = o.username;
  values.GATEHOUSE_PASSWORD = o.password ?? existing.GATEHOUSE_PASSWORD ?? '';
  writeDotenv(o.out, values, 'Gatehouse connector secrets (npm run connector:setup). Private keys: never commit this file.');
  return values;
}

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      options: {
        url: { type: 'string', default: 'http://127.0.0.1:8787' },
        org: { type: 'string' },
        token: { type: 'string' },
        'client-id': { type: 'string' },
        'client-secret': { type: 'string' },
        username: { type: 'string' },
        password: { type: 'string' },
        rotate: { type: 'boolean' },
        'rotate-signing': { type: 'boolean' },
        out: { type: 'string' },
        'no-register': { type: 'boolean' },
      },
    });
    const written = await connectorSetup({
      url: values.url,
      orgId: values.org ?? '',
      token: values.token ?? process.env.GATEHOUSE_TOKEN,
      clientId: values['client-id'],
      clientSecret: values['client-secret'] ?? process.env.GATEHOUSE_CLIENT_SECRET,
      username: values.username,
      password: values.password,
      rotate: values.rotate,
      rotateSigning: values['rotate-signing'],
      out: path.resolve(values.out ?? path.join(import.meta.dirname, '../workers/connector/.dev.vars')),
      register: !values['no-register'],
    });
    const kids = (JSON.parse(written.ORG_ENCRYPTION_KEYS ?? '[]') as { kid: string }[]).map((k) => k.kid);
    console.log(`✓ connector keys ready: encryption ${kids.join(', ')} (first is current), signing ${(JSON.parse(written.ORG_SIGNING_KEY ?? '{}') as { kid?: string }).kid}`);
  } catch (err) {
    console.error(`✗ connector setup failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
