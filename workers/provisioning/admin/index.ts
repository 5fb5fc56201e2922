import { Hono } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { provAdminAuth } from './auth.ts';
import { deviceAdmin } from './devices.ts';
import { otpAdmin } from './otp.ts';

/** The provisioning admin API under `/admin/api/`, every route behind the PROV-ADMIN guard (allow-list, lock-out, key). */
export const admin = new Hono<AppEnv>().use('/admin/api/*', provAdminAuth()).route('/', otpAdmin).route('/', deviceAdmin);
