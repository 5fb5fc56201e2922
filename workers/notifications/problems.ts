import type { z } from 'zod';
import { Problem } from '../../lib/errors.ts';

/** The problems the notifications API answers with, so each reads the same wherever it is raised. */

/** 400 listing each invalid field, the shape `validate()` gives. */
export const invalid = (errors: { path: string; message: string }[], detail = 'The request json is invalid.') =>
  new Problem(400, 'Bad Request', { detail, errors, type: 'urn:gatehouse:problem:validation' });

/** Parses a value with a schema or throws `invalid()` with zod's issues. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw invalid(result.error.issues.map((i) => ({ path: i.path.map(String).join('.') || 'json', message: i.message })));
}

/** 404 for a subscription the caller does not have. */
export const noSubscription = (id: string) => new Problem(404, 'Not Found', { detail: `You have no subscription ${id}.`, type: 'urn:gatehouse:problem:not-found' });

/** 409 when a channel is not configured on this deployment. */
export const channelUnavailable = (channel: string, setting: string) =>
  new Problem(409, 'Conflict', { detail: `${channel} is not configured on this server (${setting} is not set).`, type: 'urn:gatehouse:problem:channel-unavailable' });

/** 409 when the user is at the subscription limit. */
export const tooManySubscriptions = (max: number) =>
  new Problem(409, 'Conflict', { detail: `You already have ${max} subscriptions, the most allowed; delete one first.`, type: 'urn:gatehouse:problem:limit' });
