/**
 * The agent's Device Gateway client: `GET /device-api/v1/config` and `POST /device-api/v1/events`, each request
 * authenticated by a fresh device JWT (x5c, `aud` = `<url>/device-api`, single-use `jti`). Network failures, 429 and
 * 5xx are retried with exponential backoff (honouring `Retry-After`); the same request body is sent again, so event
 * ids do not change and the server's exactly-once rule makes retries safe. Answers are validated with the same schemas
 * the server uses.
 */
import type { z } from 'zod';
import { deviceConfig, eventsResponse, type DeviceConfig, type EventResult } from '../../lib/records/event.ts';
import { importPrivateKeyPem } from '../csr.ts';
import { createDeviceJwt, x5cFor } from '../device-jwt.ts';
import { AgentError, EXIT } from '../errors.ts';
import type { AgentState } from '../state.ts';

const TIMEOUT_MS = 30_000;
const MAX_RETRY_AFTER_S = 30;

/** Retry settings: how many retries after the first attempt, and the first backoff delay. */
export type RetryPolicy = { retries: number; baseDelayMs: number; sleep?: (ms: number) => Promise<void> };

/** A Device Gateway client for one device. */
export type GatewayClient = { config(): Promise<DeviceConfig>; send(events: unknown[]): Promise<EventResult[]> };

class Retryable extends Error {
  readonly retryAfterMs: number | undefined;
  readonly final: AgentError;
  constructor(final: AgentError, retryAfterMs?: number) {
    super(final.message);
    this.final = final;
    this.retryAfterMs = retryAfterMs;
  }
}

async function detailOf(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const problem = JSON.parse(text) as { detail?: unknown; title?: unknown };
    return String(problem.detail ?? problem.title ?? `HTTP ${res.status}`);
  } catch {
    return text.split('\n')[0]?.slice(0, 200) || `HTTP ${res.status}`;
  }
}

/** Makes a client for the enrolled device in `state`, talking to `baseUrl`. */
export async function gatewayClient(state: AgentState, baseUrl: string, policy: RetryPolicy): Promise<GatewayClient> {
  const privateKey = await importPrivateKeyPem(state.keyPem);
  const x5c = x5cFor(state.certPem, state.chainPem);
  const base = baseUrl.replace(/\/+$/, '');
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));

  async function once<S extends z.ZodType>(path: string, init: RequestInit, schema: S, what: string): Promise<z.output<S>> {
    const jwt = await createDeviceJwt({ privateKey, x5c, deviceId: state.deviceId, audience: `${base}/device-api` });
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { ...init, headers: { ...init.headers, Authorization: `Bearer ${jwt}` }, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e);
      throw new Retryable(new AgentError(EXIT.UNREACHABLE, `cannot reach ${new URL(base).origin}: ${cause}`));
    }
    if (res.status === 429 || res.status >= 500) {
      const after = Number(res.headers.get('retry-after'));
      throw new Retryable(new AgentError(EXIT.REJECTED, `${what} refused (HTTP ${res.status}): ${await detailOf(res)}`), Number.isFinite(after) && after > 0 ? Math.min(after, MAX_RETRY_AFTER_S) * 1000 : undefined);
    }
    if (res.status === 401 || res.status === 403) throw new AgentError(EXIT.DEVICE_AUTH, `${what} refused: ${await detailOf(res)}`);
    if (res.status !== 200) throw new AgentError(EXIT.REJECTED, `${what} refused (HTTP ${res.status}): ${await detailOf(res)}`);
    const parsed = schema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) throw new AgentError(EXIT.REJECTED, `${what}: the server's answer is not what the Device Gateway sends`);
    return parsed.data;
  }

  async function request<S extends z.ZodType>(path: string, init: RequestInit, schema: S, what: string): Promise<z.output<S>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await once(path, init, schema, what);
      } catch (e) {
        if (!(e instanceof Retryable)) throw e;
        if (attempt >= policy.retries) throw e.final;
        const backoff = policy.baseDelayMs * 2 ** attempt * (0.5 + Math.random() / 2);
        await sleep(e.retryAfterMs ?? backoff);
      }
    }
  }

  return {
    config: () => request('/device-api/v1/config', {}, deviceConfig, 'fetching the device config'),
    send: async (events) => {
      const body = JSON.stringify({ events });
      const { results } = await request('/device-api/v1/events', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }, eventsResponse, 'sending events');
      if (results.length !== events.length) throw new AgentError(EXIT.REJECTED, 'sending events: the server answered for a different number of events');
      return results;
    },
  };
}
