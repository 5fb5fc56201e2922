import { defineConfig } from 'drizzle-kit';

/** drizzle-kit reads the tables in schema/ and writes SQL migrations that wrangler applies (`migrations_dir`). */
export default defineConfig({
  dialect: 'sqlite',
  schema: './schema/index.ts',
  out: './schema/migrations',
});
