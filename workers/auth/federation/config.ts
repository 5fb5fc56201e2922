import { z } from 'zod';

/**
 * Upstream OpenID Connect identity providers (federation), configured by two optional env values:
 * - `IDENTITY_PROVIDERS` (a var): a JSON list of providers, see `providerSchema`;
 * - `IDENTITY_PROVIDER_SECRETS` (a secret): a JSON object of provider name to client secret.
 * A mistake throws with the var's name and the offending field (a 500 the logs explain), never a secret's value.
 */

/** The vars this module reads, beyond the generated `Env`. */
export type FederationVars = { IDENTITY_PROVIDERS?: string; IDENTITY_PROVIDER_SECRETS?: string };

/**
 * What a provider may do with an upstream account whose email matches a local account:
 * - `never`: never link; the upstream account always gets its own user `<provider>_<sub>`;
 * - `verified_email`: link when the upstream says `email_verified: true`, else give it its own user;
 * - `verified_email_required`: link when verified, and refuse any sign-in whose email the upstream has not verified.
 */
export const LINKING_POLICIES = ['never', 'verified_email', 'verified_email_required'] as const;

/** Where upstream claims may go: the OIDC standard attributes Cognito keeps, and `custom:*`. */
const LOCAL_ATTRIBUTE =
  /^(email|email_verified|name|given_name|family_name|middle_name|nickname|preferred_username|profile|picture|website|gender|birthdate|zoneinfo|locale|phone_number|address|custom:[\w.:-]{1,20})$/;

/** Claims copied when a provider has no `attributeMapping` (upstream claim → local attribute). */
export const DEFAULT_ATTRIBUTE_MAPPING: Readonly<Record<string, string>> = {
  email: 'email',
  email_verified: 'email_verified',
  name: 'name',
  given_name: 'given_name',
  family_name: 'family_name',
};

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** HTTPS, or plain HTTP to a loopback host (local development and tests). */
export const isSafeUpstreamUrl = (value: string): boolean => {
  try {
    const u = new URL(value);
    return u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.has(u.hostname));
  } catch {
    return false;
  }
};

const providerSchema = z.strictObject({
  // No underscore: usernames are `<name>_<sub>` and must split unambiguously.
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,31}$/, 'must be 1-32 letters, digits, dots or hyphens (no underscore)')
    .refine((n) => n.toUpperCase() !== 'COGNITO', 'COGNITO names the user pool itself'),
  issuer: z.url().refine(isSafeUpstreamUrl, 'must be an https URL (http only for loopback hosts)'),
  clientId: z.string().min(1),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'is not a valid scope token (RFC 6749 §3.3)'))
    .default(['openid', 'email', 'profile'])
    .refine((s) => s.includes('openid'), 'must include openid'),
  attributeMapping: z.record(z.string().min(1), z.string().regex(LOCAL_ATTRIBUTE, 'is not a local attribute')).default({ ...DEFAULT_ATTRIBUTE_MAPPING }),
  allowedEmailDomains: z
    .array(z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'must be a domain name like example.com'))
    .min(1)
    .transform((ds) => ds.map((d) => d.toLowerCase()))
    .optional(),
  linking: z.enum(LINKING_POLICIES).default('never'),
  displayName: z.string().trim().min(1).max(64).optional(),
  /** How to authenticate at the token endpoint; by default basic, or post when the IdP's discovery lists only post. */
  tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post', 'none']).optional(),
});

/** One upstream identity provider, with its client secret (undefined for `tokenEndpointAuthMethod: none`). */
export type IdentityProvider = z.output<typeof providerSchema> & { displayName: string; clientSecret: string | undefined };

/** The linking policy of a provider. */
export type LinkingPolicy = IdentityProvider['linking'];

const explain = (name: string, error: z.ZodError) =>
  `${name} is invalid: ${error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ')}`;

function parseJson(name: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${name} is not valid JSON`);
  }
}

/** Parses and checks the two values; throws a clear Error for the operator on any mistake. */
export function parseIdentityProviders(providersJson: string | undefined, secretsJson: string | undefined): IdentityProvider[] {
  const list = z.array(providerSchema).safeParse(providersJson?.trim() ? parseJson('IDENTITY_PROVIDERS', providersJson) : []);
  if (!list.success) throw new Error(explain('IDENTITY_PROVIDERS', list.error));
  const secrets = z.record(z.string(), z.string().min(1)).safeParse(secretsJson?.trim() ? parseJson('IDENTITY_PROVIDER_SECRETS', secretsJson) : {});
  if (!secrets.success) throw new Error(explain('IDENTITY_PROVIDER_SECRETS', secrets.error));
  const names = new Set<string>();
  const providers = list.data.map((p) => {
    if (names.has(p.name)) throw new Error(`IDENTITY_PROVIDERS names ${p.name} twice`);
    names.add(p.name);
    const clientSecret = Object.hasOwn(secrets.data, p.name) ? secrets.data[p.name] : undefined;
    if (p.tokenEndpointAuthMethod !== 'none' && clientSecret === undefined) {
      throw new Error(`IDENTITY_PROVIDER_SECRETS has no client secret for ${p.name} (or set its tokenEndpointAuthMethod to none)`);
    }
    return { ...p, displayName: p.displayName ?? p.name, clientSecret: p.tokenEndpointAuthMethod === 'none' ? undefined : clientSecret };
  });
  const unknown = Object.keys(secrets.data).filter((n) => !names.has(n));
  if (unknown.length) throw new Error(`IDENTITY_PROVIDER_SECRETS names providers that IDENTITY_PROVIDERS does not: ${unknown.join(', ')}`);
  return providers;
}

const cache = new WeakMap<object, IdentityProvider[]>();

/** The configured providers (none when the vars are unset), parsed once per env. */
export function identityProviders(env: Env): IdentityProvider[] {
  const cached = cache.get(env);
  if (cached) return cached;
  const vars = env as Env & FederationVars;
  const providers = parseIdentityProviders(vars.IDENTITY_PROVIDERS, vars.IDENTITY_PROVIDER_SECRETS);
  cache.set(env, providers);
  return providers;
}

/** The provider with this exact name (names are case-sensitive, as Cognito's `identity_provider` is). */
export const findProvider = (env: Env, name: string): IdentityProvider | undefined => identityProviders(env).find((p) => p.name === name);
