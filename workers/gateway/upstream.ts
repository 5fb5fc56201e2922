import { Problem } from '../../lib/errors.ts';
import { gatewayConfig } from './config.ts';

/** The Hasura upstream: where to send, and with what `fetch`. */
export type Upstream = { url: URL; fetch: (request: Request) => Promise<Response>; timeoutMs: number };

/**
 * Resolves the Hasura upstream: a service binding named `HASURA` (e.g. a Worker in front of a private Hasura) wins over
 * the URL, as PRE_TOKEN_HOOK does for the hook; otherwise `HASURA_GRAPHQL_URL` over the network. Neither: 503.
 */
export function hasuraUpstream(env: Env): Upstream {
  const config = gatewayConfig(env);
  const binding = (env as Env & { HASURA?: Fetcher }).HASURA;
  if (binding) return { url: new URL(config.hasuraUrl ?? 'http://hasura/v1/graphql'), fetch: (req) => binding.fetch(req), timeoutMs: config.hasuraTimeoutMs };
  if (!config.hasuraUrl) {
    throw new Problem(503, 'Service Unavailable', { detail: 'The GraphQL upstream is not configured.', type: 'urn:gatehouse:problem:upstream-unavailable' });
  }
  return { url: new URL(config.hasuraUrl), fetch: (req) => fetch(req), timeoutMs: config.hasuraTimeoutMs };
}

/**
 * Sends a request upstream and waits for its response head, at most `timeoutMs` (connect included): a refused or failed
 * connection is a 502 problem, no answer in time a 504, never a hang. The body streams afterwards, unbounded in time.
 */
export async function sendUpstream(upstream: Upstream, request: Request): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), upstream.timeoutMs);
  // The race also bounds fetchers that ignore the signal (a service binding's peer may).
  const timedOut = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(new Error('timed out'))));
  try {
    return await Promise.race([upstream.fetch(new Request(request, { signal: controller.signal })), timedOut]);
  } catch (err) {
    const internal = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    if (controller.signal.aborted) {
      throw new Problem(504, 'Gateway Timeout', { detail: `The GraphQL upstream did not answer within ${upstream.timeoutMs} ms.`, type: 'urn:gatehouse:problem:upstream-timeout', internal });
    }
    throw new Problem(502, 'Bad Gateway', { detail: 'The GraphQL upstream cannot be reached.', type: 'urn:gatehouse:problem:upstream-unavailable', internal });
  } finally {
    clearTimeout(timer);
  }
}
