import type { TestProject } from 'vitest/node';
import { startLocalServer } from '../../scripts/lib/local-server.ts';
import { ROOT, seedFixtures, type E2eFixtures } from './fixtures.ts';
import { TUNNEL_TEST_VARS } from './util/tunnel-vars.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    secrets: Record<string, string>;
    fixtures: E2eFixtures;
  }
}

/** Starts one real local Gatehouse for the e2e project, seeded with shared fixtures, and stops it afterwards. */
export default async function setup(project: TestProject) {
  let fixtures: E2eFixtures | undefined;
  const server = await startLocalServer({
    root: ROOT,
    // Every e2e request comes from 127.0.0.1: keep the per-IP lock-out from spilling between tests.
    // Short tunnel timeouts, so the device-tunnel tests need not wait 30 s for a 504.
    vars: { LOGIN_MAX_FAILURES: '50', ...TUNNEL_TEST_VARS },
    prepare: async (ctx) => {
      fixtures = await seedFixtures(ctx);
    },
  });
  project.provide('baseUrl', server.url);
  project.provide('secrets', server.secrets);
  project.provide('fixtures', fixtures!);
  return async () => {
    await server.stop();
  };
}
