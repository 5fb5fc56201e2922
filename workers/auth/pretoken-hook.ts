import type { AuthConfig } from './config.ts';
import { applyPreTokenResponse, buildPreTokenEvent, parsePreTokenResponse, type PreTokenEventInput, type PreTokenResult, type PreTokenState } from './claims/pretoken.ts';

/** The external pre-token hook failed (timeout, error status, bad answer): sign-in fails closed. */
export class PreTokenHookFailed extends Error {
  override name = 'PreTokenHookFailed';
}

/** Hook input without the deployment settings, which come from config. */
export type HookCall = Omit<PreTokenEventInput, 'version' | 'region' | 'userPoolId'>;

/** The optional service binding a deployment may add under [[services]] (not in the generated Env because it is optional). */
const hookBinding = (env: Env): Fetcher | undefined => (env as Env & { PRE_TOKEN_HOOK?: Fetcher }).PRE_TOKEN_HOOK;

/** Whether a hook is configured (a PRE_TOKEN_HOOK service binding or PRE_TOKEN_HOOK_URL). */
export const hasPreTokenHook = (env: Env, config: AuthConfig): boolean => hookBinding(env) !== undefined || config.hookUrl !== undefined;

/**
 * Sends the Cognito-shaped event to the hook and applies its answer with Cognito's rules. The hook must answer within
 * the deadline (3 s by default, the seed system's documented limit); anything else throws PreTokenHookFailed.
 */
export async function runPreTokenHook(env: Env, config: AuthConfig, call: HookCall, state: PreTokenState): Promise<PreTokenResult> {
  const event = buildPreTokenEvent({ ...call, version: config.hookVersion, region: config.region, userPoolId: config.userPoolId });
  const binding = hookBinding(env);
  const url = config.hookUrl;
  let res: Response;
  try {
    const init: RequestInit = {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(event),
      signal: AbortSignal.timeout(config.hookTimeoutMs),
    };
    res = binding ? await binding.fetch('https://pre-token-hook.internal/', init) : await fetch(url ?? '', init);
  } catch (err) {
    const timedOut = err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError');
    throw new PreTokenHookFailed(timedOut ? `the pre-token hook did not answer within ${config.hookTimeoutMs} ms` : 'the pre-token hook could not be reached');
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new PreTokenHookFailed(`the pre-token hook answered HTTP ${res.status}`);
  }
  let answer: unknown;
  try {
    answer = await res.json();
  } catch {
    throw new PreTokenHookFailed('the pre-token hook answered something that is not JSON');
  }
  try {
    return applyPreTokenResponse(state, parsePreTokenResponse(answer));
  } catch (err) {
    throw new PreTokenHookFailed(`the pre-token hook's answer is invalid${err instanceof Error ? `: ${err.message}` : ''}`);
  }
}
