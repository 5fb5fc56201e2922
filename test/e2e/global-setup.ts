import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalServer } from '../../scripts/lib/local-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    secrets: Record<string, string>;
  }
}

/** Starts one real local Gatehouse for the e2e project and stops it afterwards. */
export default async function setup(project: TestProject) {
  const server = await startLocalServer({ root: path.resolve(import.meta.dirname, '../..') });
  project.provide('baseUrl', server.url);
  project.provide('secrets', server.secrets);
  return async () => {
    await server.stop();
  };
}
