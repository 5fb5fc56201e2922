import path from 'node:path';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { readFileSync } from 'node:fs';

/** The `database_id` of the `DB` binding in a wrangler.toml: local D1 data is stored under it. */
export function databaseIdOf(configPath: string): string {
  const match = /binding\s*=\s*"DB"[\s\S]*?database_id\s*=\s*"([^"]+)"/.exec(readFileSync(configPath, 'utf8'));
  if (!match?.[1]) throw new Error(`no D1 binding "DB" with a database_id in ${configPath}`);
  return match[1];
}

/**
 * Opens the local D1 database that `wrangler dev --persist-to <stateDir>` uses, through a minimal Miniflare that has
 * only that binding, so operator scripts and tests read and write the same data as the local Worker.
 */
export async function openLocalD1(opts: { configPath: string; stateDir: string }): Promise<{ db: D1Database; dispose: () => Promise<void> }> {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: 'export default {}',
      d1Databases: { DB: databaseIdOf(opts.configPath) },
      // wrangler keeps its local resources under <persist-to>/v3.
      resourcePersistencePath: path.join(opts.stateDir, 'v3'),
    }),
  );
  const db = (await mf.getD1Database('DB')) as unknown as D1Database;
  return { db, dispose: () => mf.dispose() };
}
