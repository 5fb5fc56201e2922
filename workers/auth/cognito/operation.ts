/**
 * What every Cognito operation shares: the request context, the zod-validated input, and how a validation failure reads
 * (`InvalidParameterException` in AWS's "N validation errors detected" wording). Common field schemas live here too.
 */
import { z } from 'zod';
import type { MultiFernet } from '../../../lib/fernet.ts';
import type { Database } from '../../db.ts';
import type { Logger } from '../../middleware/logger.ts';
import type { AuthConfig } from '../config.ts';
import type { AdminActor } from '../store/client-admin.ts';
import type { CognitoConfig } from './config.ts';
import { invalidParameter } from './errors.ts';

/** Everything an operation needs from the request. `admin` is set once SigV4 verified an admin operation's signature. */
export type CognitoContext = {
  env: Env;
  db: Database;
  auth: AuthConfig;
  cognito: CognitoConfig;
  fernet: MultiFernet;
  log: Logger;
  requestId: string;
  ip: string | undefined;
  admin: AdminActor | undefined;
};

/** One operation: whether it needs SigV4, and its handler over the parsed body. */
export type Operation = { admin: boolean; handle: (ctx: CognitoContext, body: unknown) => Promise<object> };

/** Builds an operation whose body is parsed with `input` before `run` sees it. */
export function defineOperation<S extends z.ZodType>(op: { admin?: boolean; input: S; run: (ctx: CognitoContext, input: z.output<S>) => Promise<object> }): Operation {
  return {
    admin: op.admin ?? false,
    handle: async (ctx, body) => {
      const parsed = op.input.safeParse(body);
      if (!parsed.success) throw validationError(parsed.error);
      return op.run(ctx, parsed.data);
    },
  };
}

/** AWS's wording for request validation failures, naming each member with its first letter lower-cased. */
export function validationError(error: z.ZodError) {
  const lines = error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'string' ? p.charAt(0).toLowerCase() + p.slice(1) : String(p))).join('.') || 'body';
    const constraint = issue.code === 'invalid_type' && issue.message.includes('undefined') ? 'Member must not be null' : issue.message;
    return `Value at '${path}' failed to satisfy constraint: ${constraint}`;
  });
  const n = lines.length;
  return invalidParameter(`${n} validation error${n === 1 ? '' : 's'} detected: ${lines.join('; ')}`);
}

/** Cognito's field shapes. */
export const fields = {
  // Cognito's pattern is [\w+]+; operator-chosen Gatehouse client ids may also hold '-' and '.'.
  clientId: z.string().min(1).max(128).regex(/^[\w+.-]+$/, 'Member must satisfy regular expression pattern: [\\w+.-]+'),
  userPoolId: z.string().min(1).max(55).regex(/^[\w-]+_[0-9a-zA-Z]+$/, 'Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+'),
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(256),
  secretHash: z.string().min(1).max(128).optional(),
  token: z.string().min(1).max(16_384),
  code: z.string().min(1).max(2048),
  attributes: z.array(z.object({ Name: z.string().min(1).max(32), Value: z.string().max(2048).optional() })).max(100),
  metadata: z.record(z.string(), z.string()).optional(),
};
