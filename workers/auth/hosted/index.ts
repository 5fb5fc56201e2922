import { Hono } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { federation } from '../federation/index.ts';
import { mailbox } from '../mail/mailbox.tsx';
import { authorize } from './authorize.ts';
import { confirm } from './confirm.tsx';
import { forgotPassword } from './forgot-password.tsx';
import { login } from './login.tsx';
import { logout } from './logout.tsx';
import { newPassword } from './new-password.tsx';
import { signup } from './signup.tsx';

/** Hosted pages and the browser side of the code flow: /oauth2/authorize, /login, /signup, /confirm, /forgot-password, logout, and federation (/oauth2/federate, /oauth2/idpresponse). */
export const hosted = new Hono<AppEnv>()
  .route('/', authorize)
  .route('/', login)
  .route('/', federation)
  .route('/', newPassword)
  .route('/', signup)
  .route('/', confirm)
  .route('/', forgotPassword)
  .route('/', logout)
  .route('/', mailbox);
