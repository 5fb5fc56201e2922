import { describe, expect, it } from 'vitest';
import { CLAIMS_PUBLIC_MESSAGE, ClaimsError, InvalidHookResponse, InvalidTokenTiming, NoRolesError } from './errors.ts';

describe('claims errors', () => {
  const errors = [new NoRolesError('u-1'), new InvalidHookResponse(['response.x: bad', 'response.y: bad']), new InvalidTokenTiming('ttl')];

  it('are all ClaimsError, so a handler maps them to one answer, with the same public sentence', () => {
    for (const error of errors) {
      expect(error).toBeInstanceOf(ClaimsError);
      expect(error).toBeInstanceOf(Error);
      expect(error.publicMessage).toBe(CLAIMS_PUBLIC_MESSAGE);
    }
    expect(errors.map((error) => error.name)).toEqual(['NoRolesError', 'InvalidHookResponse', 'InvalidTokenTiming']);
  });

  it('keep the internal reason in message, for the logs only', () => {
    expect(errors[0]?.message).toBe('no Hasura roles for user u-1: no stored x-hasura-allowed-roles and no group maps to a role');
    expect(errors[1]?.message).toBe('invalid pre-token hook response: response.x: bad; response.y: bad');
    expect((errors[1] as InvalidHookResponse).issues).toEqual(['response.x: bad', 'response.y: bad']);
    expect(errors[0]?.message).not.toContain(CLAIMS_PUBLIC_MESSAGE);
  });
});
