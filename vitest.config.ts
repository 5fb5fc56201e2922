import path from 'node:path';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { connectorTestBindings } from './test/connector/bindings.test-fixture.ts';
import { generateDevSecrets } from './scripts/lib/secrets.ts';

/**
 * Two projects, run in this order by `npm test`:
 * - `workerd`: unit tests next to their modules and integration tests in test/, inside workerd with real D1, DOs and Queues;
 * - `connector`: the connector Worker's tests (test/connector/), inside workerd with its own wrangler config, D1 and DO;
 * - `e2e`: Node tests in test/e2e/ against a real local Worker started by test/e2e/global-setup.ts.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, 'schema/migrations'));
  const secrets = await generateDevSecrets();
  const connectorMigrations = await readD1Migrations(path.join(import.meta.dirname, 'workers/connector/migrations'));
  return {
    test: {
      // The Worker's one-line JSON request logs would drown the report; warnings and errors still show.
      onConsoleLog: (log: string) => !log.startsWith('{"level":"info"'),
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                bindings: { ...secrets, DEV_MODE: 'true', TEST_MIGRATIONS: migrations },
              },
            }),
          ],
          test: {
            name: 'workerd',
            include: ['lib/**/*.test.ts', 'workers/**/*.test.ts', 'schema/**/*.test.ts', 'test/**/*.test.ts'],
            exclude: ['test/e2e/**', 'test/connector/**', 'node_modules/**'],
            setupFiles: ['./test/apply-migrations.ts'],
            // One workerd for all files: each test seeds its own uniquely named data, so files need not be isolated.
            isolate: false,
          },
        },
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: './workers/connector/wrangler.toml' },
              miniflare: { bindings: { ...(await connectorTestBindings()), TEST_MIGRATIONS: connectorMigrations } },
            }),
          ],
          test: {
            name: 'connector',
            include: ['test/connector/**/*.test.ts'],
            setupFiles: ['./test/connector/apply-migrations.ts'],
            isolate: false,
          },
        },
        {
          test: {
            name: 'e2e',
            environment: 'node',
            include: ['test/e2e/**/*.test.ts'],
            globalSetup: ['./test/e2e/global-setup.ts'],
            testTimeout: 60_000,
            hookTimeout: 120_000,
            // One file at a time: the operator-CLI tests spawn many processes, and on two cores running them beside the
            // server-starting files made both time out under load.
            fileParallelism: false,
          },
        },
      ],
    },
  };
});
