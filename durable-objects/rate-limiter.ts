import { DurableObject } from 'cloudflare:workers';

/** Fallback rate limiter (one object per limit key); the gateway issue gives it its behaviour. */
export class RateLimiter extends DurableObject<Env> {}
