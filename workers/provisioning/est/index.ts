import { Hono } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { cacerts } from './cacerts.ts';
import { csrattrs } from './csrattrs.ts';
import { simpleenroll } from './enroll.ts';
import { simplereenroll } from './reenroll.ts';

/** EST (RFC 7030) under `/.well-known/est/`: cacerts, simpleenroll, simplereenroll and csrattrs. */
export const est = new Hono<AppEnv>().route('/', cacerts).route('/', simpleenroll).route('/', simplereenroll).route('/', csrattrs);
