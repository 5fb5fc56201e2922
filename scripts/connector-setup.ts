/**
 * `npm run connector:setup -- --org ORG_ID --token ADMIN_ACCESS_TOKEN [options]`: generates the organisation's key
 * pairs locally, registers their public halves with the platform (PUT /api/orgs/:orgId/keys), creates the connector's
 * app client bound to the organisation (POST /api/orgs/:orgId/clients: client_credentials only, role member unless
 * --client-role admin), and writes the connector's workers/connector/.dev.vars (private keys, GATEHOUSE_CLIENT_ID and
 * GATEHOUSE_CLIENT_SECRET, ORG_ID, GATEHOUSE_URL). Both platform calls need an access token of an admin (or the owner)
 * of the organisation. Run again with --rotate to add a new encryption key in front (old ones keep decrypting history);
 * the client already in the file is kept unless --new-client.
 *
 * Options:
 *   --url URL               the platform (default http://127.0.0.1:8787)
 *   --org ID                the organisation (required)
 *   --token TOKEN           an org admin's access token (or GATEHOUSE_TOKEN in the environment)
 *   --client-name NAME      the name of the app client to create (default "connector")
 *   --client-role ROLE      member (default: read the log, append signed records) or admin (also change the organisation and its keys)
 *   --new-client            create a new app client even if the file already has one (revoke the old one with
 *                           DELETE /api/orgs/:orgId/clients/:clientId)
 *   --client-id ID --client-secret SECRET   use an existing bound client instead (secret also as GATEHOUSE_CLIENT_SECRET)
 *   --rotate                new encryption key first, existing ones kept; signing key kept unless --rotate-signing
 *   --rotate-signing        also a new signing key
 *   --out PATH              where to write (default workers/connector/.dev.vars)
 *   --no-register           write the keys without registering them or creating a client
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readDotenv, writeDotenv } from './lib/dotenv.ts';
import { createBoundClient, newEncryptionKey, newSigningKey, registerKeys, type PrivateJwk } from './connector-keys.ts';

const CLIENT_ROLES = ['member', 'admin'] as const;

/** Runs the setup; returns the values written. */
export async function connectorSetup(o: {
  url: string;
  orgId: string;
  token?: string;
  clientId?: string;
  clientSecret?: string;
  clientName?: string;
  clientRole?: string;
  newClient?: boolean;
  rotate?: boolean;
  rotateSigning?: boolean;
  out: string;
  register?: boolean;
}): Promise<Record<string, string>> {
  if (!o.orgId) throw new Error('--org is required: the id of the organisation (see GET /api/orgs)');
  const role = o.clientRole ?? 'member';
  if (!(CLIENT_ROLES as readonly string[]).includes(role)) throw new Error(`--client-role must be member or admin, not ${role}`);
  if (o.clientId !== undefined && !o.clientSecret) throw new Error('--client-id needs --client-secret (or GATEHOUSE_CLIENT_SECRET)');
  const needToken = () => {
    if (!o.token) throw new Error('--token (or GATEHOUSE_TOKEN) is required to register the public keys and create the app client: an access token of an admin of the organisation');
    return o.token;
  };
  const existing = readDotenv(o.out);
  const oldEnc = existing.ORG_ENCRYPTION_KEYS ? (JSON.parse(existing.ORG_ENCRYPTION_KEYS) as PrivateJwk[]) : [];
  const oldSig = existing.ORG_SIGNING_KEY ? (JSON.parse(existing.ORG_SIGNING_KEY) as PrivateJwk) : undefined;
  const newEnc = oldEnc.length === 0 || o.rotate ? await newEncryptionKey() : undefined;
  const newSig = !oldSig || o.rotateSigning ? await newSigningKey() : undefined;
  if (o.register !== false && (newEnc || newSig)) {
    await registerKeys(o.url, o.orgId, needToken(), { encryptionKey: newEnc, signingKey: newSig });
  }
  let client = o.clientId ? { clientId: o.clientId, clientSecret: o.clientSecret ?? '' } : undefined;
  if (!client && existing.GATEHOUSE_CLIENT_ID && existing.GATEHOUSE_CLIENT_SECRET && existing.ORG_ID === o.orgId && !o.newClient) client = { clientId: existing.GATEHOUSE_CLIENT_ID, clientSecret: existing.GATEHOUSE_CLIENT_SECRET };
  if (!client && o.register !== false) client = await createBoundClient(o.url, o.orgId, needToken(), { name: o.clientName ?? 'connector', role: role as (typeof CLIENT_ROLES)[number] });
  const values: Record<string, string> = {
    ...existing,
    GATEHOUSE_URL: o.url.replace(/\/+$/, ''),
    ORG_ID: o.orgId,
    ORG_ENCRYPTION_KEYS: JSON.stringify(newEnc ? [newEnc, ...oldEnc] : oldEnc),
    ORG_SIGNING_KEY: JSON.stringify(newSig ?? oldSig),
    GATEHOUSE_CLIENT_ID: client?.clientId ?? '',
    GATEHOUSE_CLIENT_SECRET: client?.clientSecret ?? '',
  };
  // The service-member sign-in of earlier versions is gone: its settings would only mislead.
  delete values.GATEHOUSE_USERNAME;
  delete values.GATEHOUSE_PASSWORD;
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
        'client-name': { type: 'string' },
        'client-role': { type: 'string' },
        'new-client': { type: 'boolean' },
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
      clientName: values['client-name'],
      clientRole: values['client-role'],
      newClient: values['new-client'],
      rotate: values.rotate,
      rotateSigning: values['rotate-signing'],
      out: path.resolve(values.out ?? path.join(import.meta.dirname, '../workers/connector/.dev.vars')),
      register: !values['no-register'],
    });
    const kids = (JSON.parse(written.ORG_ENCRYPTION_KEYS ?? '[]') as { kid: string }[]).map((k) => k.kid);
    console.log(`✓ connector keys ready: encryption ${kids.join(', ')} (first is current), signing ${(JSON.parse(written.ORG_SIGNING_KEY ?? '{}') as { kid?: string }).kid}`);
    console.log(written.GATEHOUSE_CLIENT_ID ? `✓ app client ${written.GATEHOUSE_CLIENT_ID} (client_credentials, bound to the organisation)` : '! no app client: GATEHOUSE_CLIENT_ID is empty (--no-register)');
  } catch (err) {
    console.error(`✗ connector setup failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
