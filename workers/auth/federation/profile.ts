import type { IdentityProvider } from './config.ts';
import { FederationError } from './errors.ts';
import type { UpstreamClaims } from './id-token.ts';

/** What a verified upstream ID token says about the person, after the provider's attribute mapping. */
export type UpstreamProfile = {
  subject: string;
  /** Lower-cased. */
  email: string;
  /** Only a literal `true` (or the string "true", as some IdPs send it) counts as verified. */
  emailVerified: boolean;
  /** The other mapped attributes (`name`, `given_name`, `custom:*`, …), as strings. */
  attributes: Record<string, string>;
};

const MAX_VALUE = 2048;

/** A claim value as a Cognito attribute string: strings as they are, numbers and booleans printed, anything else dropped. */
function asAttribute(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length <= MAX_VALUE ? value : undefined;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * Applies a provider's attribute mapping (upstream claim → local attribute) to verified claims. When several claims map
 * to one attribute, the first present in mapping order wins, so `{"email": "email", "preferred_username": "email"}`
 * reads Entra's optional `email` claim and falls back to the sign-in name.
 */
export function mapClaims(claims: UpstreamClaims, mapping: Readonly<Record<string, string>>): { email: string | undefined; emailVerified: boolean; attributes: Record<string, string> } {
  const local: Record<string, string> = {};
  for (const [claim, attribute] of Object.entries(mapping)) {
    if (Object.hasOwn(local, attribute) || !Object.hasOwn(claims, claim)) continue;
    const value = asAttribute(claims[claim]);
    if (value !== undefined && value !== '') local[attribute] = value;
  }
  const { email, email_verified: verified, ...attributes } = local;
  return { email: email?.trim().toLowerCase(), emailVerified: verified === 'true', attributes };
}

const EMAIL = /^[^\s@]+@([^\s@]+\.[^\s@]+)$/;

/**
 * Builds the profile and applies the provider's admission rules, in this order: an email is required (every Gatehouse
 * token carries one), its domain must be allowed (exact match, case-insensitive), and under `verified_email_required`
 * the IdP must have said it is verified. Each refusal is a FederationError the user sees in plain words.
 */
export function admitProfile(provider: IdentityProvider, claims: UpstreamClaims): UpstreamProfile {
  const mapped = mapClaims(claims, provider.attributeMapping);
  const domain = mapped.email === undefined ? undefined : EMAIL.exec(mapped.email)?.[1];
  if (!mapped.email || domain === undefined || mapped.email.length > 254) throw new FederationError('email_missing', 'no usable email in the mapped claims');
  if (provider.allowedEmailDomains && !provider.allowedEmailDomains.includes(domain)) throw new FederationError('email_domain', `domain ${domain} is not allowed`);
  if (provider.linking === 'verified_email_required' && !mapped.emailVerified) throw new FederationError('email_unverified', 'email_verified is not true');
  return { subject: claims.sub, email: mapped.email, emailVerified: mapped.emailVerified, attributes: mapped.attributes };
}
