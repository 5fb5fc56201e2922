/**
 * Firebase Cloud Messaging HTTP v1: `POST {FCM_ENDPOINT}/v1/projects/{project}/messages:send` with an OAuth bearer
 * token from the service account (fcm-token.ts). Errors follow FCM's `FcmError` codes: `UNREGISTERED` (or 404) means
 * the token is gone; 429 and 5xx are retried honouring `Retry-After`; 401 drops the cached token and retries.
 */
import { fcmServiceAccountSecret } from '../config.ts';
import { parseRetryAfter, type Outcome } from '../outcome.ts';
import { fcmMessage } from '../payload.ts';
import type { NotificationMessage } from '../schemas.ts';
import type { SubscriptionRow } from '../subscription-store.ts';
import { drain, post, type SendContext } from './http.ts';
import { FcmAuthError, fcmAccessToken, forgetFcmAccessToken, GOOGLE_TOKEN_URL, parseServiceAccount, type ServiceAccount } from './fcm-token.ts';

/** Everything needed to call FCM, or undefined when FCM_SERVICE_ACCOUNT is not set. */
export type FcmSettings = { account: ServiceAccount; projectId: string; tokenUrl: string; sendUrl: string };

const parsed = new Map<string, ServiceAccount>();

/** Reads the FCM settings; a service account that is set but malformed throws (naming the setting). */
export function fcmSettings(env: Env, config: { fcmEndpoint: string; fcmTokenUrl: string | undefined; fcmProjectId: string | undefined }): FcmSettings | undefined {
  const secret = fcmServiceAccountSecret(env);
  if (!secret) return undefined;
  let account = parsed.get(secret);
  if (!account) {
    account = parseServiceAccount(secret);
    parsed.set(secret, account);
  }
  const projectId = config.fcmProjectId ?? account.project_id;
  return {
    account,
    projectId,
    tokenUrl: config.fcmTokenUrl ?? account.token_uri ?? GOOGLE_TOKEN_URL,
    sendUrl: `${config.fcmEndpoint}/v1/projects/${encodeURIComponent(projectId)}/messages:send`,
  };
}

type FcmErrorBody = { error?: { status?: unknown; message?: unknown; details?: { errorCode?: unknown }[] } };

/** The `FcmError.errorCode` of an error body (google.firebase.fcm.v1.FcmError), else its `status`. */
export function fcmErrorCode(body: unknown): string | undefined {
  const error = (body as FcmErrorBody | null)?.error;
  const code = error?.details?.find((d) => typeof d?.errorCode === 'string')?.errorCode ?? error?.status;
  return typeof code === 'string' ? code.slice(0, 64) : undefined;
}

/** Classifies an FCM answer (FCM HTTP v1 `ErrorCode`s); `unauthorized` tells the caller to drop its cached token. */
export function classifyFcm(status: number, body: unknown, retryAfter: string | null, latencyMs: number, now = Date.now()): Outcome & { unauthorized?: boolean } {
  if (status === 200) return { kind: 'delivered', latencyMs };
  const code = fcmErrorCode(body);
  const error = `HTTP ${status}${code ? ` ${code}` : ''}`;
  if (code === 'UNREGISTERED' || status === 404) return { kind: 'gone', error, latencyMs };
  if (status === 401) return { kind: 'retry', error, latencyMs, unauthorized: true };
  if (status === 429 || status >= 500) {
    const seconds = parseRetryAfter(retryAfter, now);
    return seconds === undefined ? { kind: 'retry', error, latencyMs } : { kind: 'retry', error, latencyMs, retryAfterSeconds: seconds };
  }
  return { kind: 'failed', error, latencyMs };
}

/** Sends one notification to one FCM registration token and says what came of it. */
export async function sendFcm(ctx: SendContext, sub: SubscriptionRow, message: NotificationMessage, deviceName: string | null): Promise<Outcome> {
  const settings = fcmSettings(ctx.env, ctx.config);
  if (!settings) return { kind: 'failed', error: 'FCM is not configured (FCM_SERVICE_ACCOUNT)', latencyMs: 0 };
  let token: string;
  try {
    token = await fcmAccessToken(settings.account, settings.tokenUrl, ctx.fetch, ctx.now());
  } catch (err) {
    if (!(err instanceof FcmAuthError)) throw err;
    return { kind: err.retryable ? 'retry' : 'failed', error: `FCM auth: ${err.message}`, latencyMs: 0 };
  }
  const exchange = await post(ctx, settings.sendUrl, {
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(fcmMessage(sub.target, message, deviceName)),
  });
  if (!exchange.ok) return { kind: 'retry', error: exchange.error, latencyMs: exchange.latencyMs };
  const { response } = exchange;
  const body: unknown = response.status === 200 ? (await drain(response), null) : await response.json().catch(() => null);
  const { unauthorized, ...outcome } = classifyFcm(response.status, body, response.headers.get('retry-after'), exchange.latencyMs, ctx.now());
  if (unauthorized) forgetFcmAccessToken(settings.account, settings.tokenUrl);
  return outcome;
}
