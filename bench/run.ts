/**
 * `npm run bench [-- name …]`: runs the named benchmarks (every bench/*.bench.ts when none is named). Each one
 * measures its subject and a baseline in the same run and prints a table of figures and their ratio.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

const dir = import.meta.dirname;
const available = readdirSync(dir).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace(/\.bench\.ts$/, '')).sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : available;
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark "${name}"; available: ${available.join(', ')}`);
    process.exit(2);
  }
}
for (const name of names) {
  console.log(`\n=== ${name} ===`);
  const mod = (await import(path.join(dir, `${name}.bench.ts`))) as { default: () => Promise<void> };
  await mod.default();
}
