import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { admin } from './admin/index.ts';
import { crl } from './crl.ts';
import { est } from './est/index.ts';

/**
 * The provisioning sub-app (ARCHITECTURE.md route map): the admin API (OTPs, revocation), EST enrolment under
 * `/.well-known/est/`, and the CRL at `/pki/crl`.
 */
export const provisioning = new Hono<AppEnv>().route('/', admin).route('/', est).route('/', crl);
