import type { CognitoIdentity } from '../claims/tokens.ts';

/** A user's stored link to an upstream account (a `user_identities` row, as far as the claim needs it). */
export type IdentityLink = { provider: string; subject: string; createdAt: number };

/**
 * Cognito's `identities` ID token claim for a user's upstream links: one object per link, oldest first, the oldest
 * marked primary. As Cognito writes it for OIDC providers: `providerType` "OIDC", `issuer` null, and `primary` and
 * `dateCreated` (epoch milliseconds) as strings. Empty for a user without links (the claim is then left out).
 */
export function identitiesClaim(links: readonly IdentityLink[]): CognitoIdentity[] {
  return [...links]
    .sort((a, b) => a.createdAt - b.createdAt || a.provider.localeCompare(b.provider))
    .map((link, i) => ({
      userId: link.subject,
      providerName: link.provider,
      providerType: 'OIDC',
      issuer: null,
      primary: i === 0 ? 'true' : 'false',
      dateCreated: String(link.createdAt),
    }));
}
