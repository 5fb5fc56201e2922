/**
 * The connector's bindings for its workerd tests: fresh organisation keys (two encryption keys, so rotation can be
 * tested, and a signing key), authentication off (the tests exercise auth separately), and a platform URL where
 * nothing listens, so the Replicator's background sync fails fast instead of reaching a real server.
 */
import { newEncryptionKey, newSigningKey } from '../../scripts/connector-keys.ts';

/** Bindings for vitest.config.ts. */
export async function connectorTestBindings(): Promise<Record<string, string>> {
  const enc = [await newEncryptionKey('test-enc-1'), await newEncryptionKey('test-enc-2')];
  return {
    ORG_ID: '00000000-0000-4000-8000-00000000c0de',
    GATEHOUSE_URL: 'http://127.0.0.1:9',
    CONNECTOR_AUTH: 'none',
    ORG_ENCRYPTION_KEYS: JSON.stringify(enc),
    /** A key the connector does NOT hold, to encrypt undecryptable records with. */
    TEST_FOREIGN_KEY: JSON.stringify(await newEncryptionKey('test-enc-foreign')),
    ORG_SIGNING_KEY: JSON.stringify(await newSigningKey('test-sig-1')),
    GATEHOUSE_CLIENT_ID: 'connector-test',
    GATEHOUSE_CLIENT_SECRET: 'not-used',
  };
}
