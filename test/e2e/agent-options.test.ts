/** The agent's option parsing (Node-only, no server): values that start with a dash, and usage errors that stay errors. */
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../agent/command.ts';
import { AgentError, EXIT } from '../../agent/errors.ts';

const OPTIONS = { url: { type: 'string' }, otp: { type: 'string' }, force: { type: 'boolean' } } as const;
const USAGE = 'gatehouse-agent enroll --url URL --otp OTP [--force]';

function usageError(args: string[]): AgentError {
  try {
    parseOptions(args, OPTIONS, USAGE);
  } catch (e) {
    if (e instanceof AgentError) return e;
    throw e;
  }
  throw new Error(`expected a usage error for ${args.join(' ')}`);
}

describe('gatehouse-agent options', () => {
  it('takes a value that starts with a dash as the value of a string option (OTPs are base64url)', () => {
    expect(parseOptions(['--otp', '-Xq3_a', '--url', 'http://127.0.0.1:1'], OPTIONS, USAGE)).toEqual({ otp: '-Xq3_a', url: 'http://127.0.0.1:1' });
    expect(parseOptions(['--otp', '--Xq3', '--force'], OPTIONS, USAGE)).toEqual({ otp: '--Xq3', force: true });
    expect(parseOptions(['--otp=-abc'], OPTIONS, USAGE)).toEqual({ otp: '-abc' });
  });

  it('still reports a forgotten value when the next word is one of the command’s own options', () => {
    const e = usageError(['--otp', '--url', 'http://127.0.0.1:1']);
    expect(e.code).toBe(EXIT.USAGE);
    expect(e.message).toContain('--otp');
    expect(e.message).toContain(`usage: ${USAGE}`);
  });

  it('refuses unknown options and stray arguments', () => {
    expect(usageError(['--nope', 'x']).code).toBe(EXIT.USAGE);
    expect(usageError(['stray']).code).toBe(EXIT.USAGE);
  });
});
