import { sValidator } from '@hono/standard-validator';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { ValidationTargets } from 'hono';
import { Problem } from '../lib/errors.ts';

/** Validates one part of a request against a schema; a failure is a 400 problem listing each invalid field (STYLE.md rule 5). */
export const validate = <Target extends keyof ValidationTargets, Schema extends StandardSchemaV1>(target: Target, schema: Schema) =>
  sValidator(target, schema, (result) => {
    if (!result.success) {
      const errors = result.error.map((issue) => ({
        path: (issue.path ?? []).map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.') || target,
        message: issue.message,
      }));
      throw new Problem(400, 'Bad Request', { detail: `The request ${target} is invalid.`, errors, type: 'urn:gatehouse:problem:validation' });
    }
  });
