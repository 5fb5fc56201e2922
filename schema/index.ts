/** Every table of the platform database; see schema/README.md for what each holds and how rows expire. */
export * from './users.ts';
export * from './user-identities.ts';
export * from './groups.ts';
export * from './user-claims.ts';
export * from './app-clients.ts';
export * from './auth-codes.ts';
export * from './refresh-tokens.ts';
export * from './login-sessions.ts';
export * from './devices.ts';
export * from './device-users.ts';
export * from './device-certificates.ts';
export * from './otps.ts';
export * from './claim-codes.ts';
export * from './device-connections.ts';
export * from './notifications.ts';
export * from './audit-log.ts';
