import { pageHref } from '../hosted/ui.tsx';
import type { IdentityProvider } from './config.ts';

/**
 * The "Sign in with …" links of the hosted sign-in page, one per configured provider, each keeping the sealed
 * authorize request. Nothing is rendered when no provider is configured.
 */
export function ProviderLinks(props: { providers: readonly IdentityProvider[]; request?: string | undefined }) {
  if (props.providers.length === 0) return null;
  return (
    <nav aria-label="Sign in with another account">
      {props.providers.map((p) => (
        <p>
          <a href={pageHref('/oauth2/federate', props.request, { identity_provider: p.name })}>Sign in with {p.displayName}</a>
        </p>
      ))}
    </nav>
  );
}
