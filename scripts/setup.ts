/**
 * `npm run setup`: generates missing dev secrets into .dev.vars, applies D1 migrations locally and seeds a demo
 * client and user. Safe to run again: existing secrets and data are kept.
 *
 * Options (for tests and unusual layouts): --dev-vars PATH, --persist-to DIR, --no-seed.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setup } from './lib/setup.ts';

const root = path.resolve(import.meta.dirname, '..');
try {
  const { values } = parseArgs({
    options: { 'dev-vars': { type: 'string' }, 'persist-to': { type: 'string' }, 'no-seed': { type: 'boolean' } },
  });
  await setup({
    root,
    devVarsPath: values['dev-vars'] && path.resolve(values['dev-vars']),
    persistTo: values['persist-to'] && path.resolve(values['persist-to']),
    seed: !values['no-seed'],
  });
  console.log('✓ setup done');
} catch (err) {
  console.error(`✗ setup failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
