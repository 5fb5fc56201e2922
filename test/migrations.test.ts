import { getTableConfig, type SQLiteTable } from 'drizzle-orm/sqlite-core';
import { env } from 'cloudflare:workers';
import { is } from 'drizzle-orm';
import { SQLiteTable as SQLiteTableClass } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import * as schema from '../schema/index.ts';

const tables = Object.values(schema as Record<string, unknown>).filter((v): v is SQLiteTable => is(v, SQLiteTableClass));

describe('migrations', () => {
  it('create every table and column the schema declares', async () => {
    expect(tables.length).toBeGreaterThanOrEqual(17);
    for (const table of tables) {
      const config = getTableConfig(table);
      const { results } = await env.DB.prepare(`SELECT name FROM pragma_table_info(?)`).bind(config.name).all<{ name: string }>();
      expect(results.map((r) => r.name).sort(), config.name).toEqual(config.columns.map((c) => c.name).sort());
    }
  });

  it('create the declared indexes', async () => {
    for (const table of tables) {
      const config = getTableConfig(table);
      const { results } = await env.DB.prepare(`SELECT name FROM pragma_index_list(?)`).bind(config.name).all<{ name: string }>();
      const names = results.map((r) => r.name);
      for (const index of config.indexes) expect(names, config.name).toContain(index.config.name);
    }
  });

  it('enforce foreign keys', async () => {
    await expect(
      env.DB.prepare(`INSERT INTO user_claims (user_id, ciphertext, updated_at) VALUES ('nobody', 'x', 0)`).run(),
    ).rejects.toThrow(/FOREIGN KEY/);
  });
});
