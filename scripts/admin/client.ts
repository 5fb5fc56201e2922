/** `admin client …`: register, list, show, update, rotate the secret of and delete app clients. */
import type { ParseArgsOptionsConfig } from 'node:util';
import type { AppClient } from '../../workers/auth/store/clients.ts';
import {
  deleteClient,
  getClient,
  listClients,
  registerClient,
  rotateClientSecret,
  updateClient,
  type ClientUpdate,
} from '../../workers/auth/store/client-admin.ts';
import { CliError, fields, flag, int, list, many, str, table, time, type Command, type OptionValues } from './cli.ts';

const SETTINGS = {
  name: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  'logout-uri': { type: 'string', multiple: true },
  scopes: { type: 'string' },
  'grant-types': { type: 'string' },
  'id-token-ttl': { type: 'string' },
  'access-token-ttl': { type: 'string' },
  'refresh-token-ttl': { type: 'string' },
  'refresh-grace': { type: 'string' },
  'allow-plain-pkce': { type: 'boolean' },
} as const satisfies ParseArgsOptionsConfig;

const SETTINGS_USAGE =
  '[--redirect-uri URI]… [--logout-uri URI]… [--scopes "openid email profile"] [--grant-types authorization_code,refresh_token,client_credentials] ' +
  '[--id-token-ttl S] [--access-token-ttl S] [--refresh-token-ttl S] [--refresh-grace S] [--allow-plain-pkce | --no-allow-plain-pkce]';

/** The settings given on the command line; absent flags stay undefined so an update leaves them alone. */
function settings(values: OptionValues): ClientUpdate {
  const uris = (name: string) => (values[name] === undefined ? undefined : many(values, name));
  return {
    name: str(values, 'name'),
    redirectUris: uris('redirect-uri'),
    logoutUris: uris('logout-uri'),
    allowedScopes: list(values, 'scopes'),
    grantTypes: list(values, 'grant-types') as ClientUpdate['grantTypes'],
    idTokenTtl: int(values, 'id-token-ttl'),
    accessTokenTtl: int(values, 'access-token-ttl'),
    refreshTokenTtl: int(values, 'refresh-token-ttl'),
    refreshGraceSeconds: int(values, 'refresh-grace'),
    allowPlainPkce: typeof values['allow-plain-pkce'] === 'boolean' ? values['allow-plain-pkce'] : undefined,
  };
}

/** A client as the CLI shows it: never the secret hash, only whether there is one. */
const view = ({ secretHash, ...client }: AppClient) => ({ ...client, type: secretHash === null ? 'public' : 'confidential' });

const details = (client: AppClient): string[] => {
  const v = view(client);
  return fields([
    ['client_id', v.id],
    ['name', v.name],
    ['type', v.type],
    ['redirect_uris', v.redirectUris.join(' ') || '-'],
    ['logout_uris', v.logoutUris.join(' ') || '-'],
    ['scopes', v.allowedScopes.join(' ')],
    ['grant_types', v.grantTypes.join(',')],
    ['token_ttls', `id ${v.idTokenTtl}s, access ${v.accessTokenTtl}s, refresh ${v.refreshTokenTtl}s`],
    ['refresh_grace', `${v.refreshGraceSeconds}s`],
    ['plain_pkce', v.allowPlainPkce ? 'allowed' : 'refused'],
    ['created', time(v.createdAt)],
    ['updated', time(v.updatedAt)],
  ]);
};

const secretLines = (secret: string) => [`client_secret: ${secret}`, '(shown once: store it now; `client rotate-secret` replaces it)'];

/** The `client` command group. */
export const clientCommands: Record<string, Command> = {
  create: {
    summary: 'register an app client; prints its id and, for a confidential client, its secret once',
    usage: `client create --name NAME [--public] [--id ID] ${SETTINGS_USAGE}`,
    options: { ...SETTINGS, public: { type: 'boolean' }, id: { type: 'string' } },
    run: async (ctx, values) => {
      const given = settings(values);
      if (given.name === undefined) throw new CliError('client create needs --name NAME');
      const id = str(values, 'id');
      const { client, secret } = await registerClient(ctx.db, { ...given, name: given.name, confidential: !flag(values, 'public'), ...(id ? { id } : {}) }, ctx.by, ctx.maybeFernet());
      ctx.out.result({ client: view(client), clientSecret: secret }, () => [...details(client), ...(secret ? ['', ...secretLines(secret)] : [])]);
    },
  },
  list: {
    summary: 'list app clients',
    usage: 'client list',
    run: async (ctx) => {
      const clients = await listClients(ctx.db);
      const rows = clients.map((c) => ({
        client_id: c.id,
        name: c.name,
        type: c.secretHash === null ? 'public' : 'confidential',
        grant_types: c.grantTypes.join(','),
        redirect_uris: c.redirectUris.join(' ') || '-',
        created: time(c.createdAt),
      }));
      ctx.out.result(clients.map(view), () => table(rows, ['client_id', 'name', 'type', 'grant_types', 'redirect_uris', 'created']));
    },
  },
  show: {
    summary: 'show one app client',
    usage: 'client show CLIENT_ID',
    args: ['CLIENT_ID'],
    run: async (ctx, _values, [id = '']) => {
      const client = await getClient(ctx.db, id);
      ctx.out.result(view(client), () => details(client));
    },
  },
  update: {
    summary: 'change settings of an app client (a list flag replaces the whole list)',
    usage: `client update CLIENT_ID [--name NAME] ${SETTINGS_USAGE}`,
    args: ['CLIENT_ID'],
    options: SETTINGS,
    run: async (ctx, values, [id = '']) => {
      const patch = settings(values);
      if (Object.values(patch).every((v) => v === undefined)) throw new CliError('client update needs at least one setting to change');
      const client = await updateClient(ctx.db, id, patch, ctx.by);
      ctx.out.result(view(client), () => details(client));
    },
  },
  'rotate-secret': {
    summary: 'replace the secret of a confidential client; prints the new secret once (the old one stops working)',
    usage: 'client rotate-secret CLIENT_ID',
    args: ['CLIENT_ID'],
    run: async (ctx, _values, [id = '']) => {
      const { client, secret } = await rotateClientSecret(ctx.db, id, ctx.by, ctx.maybeFernet());
      ctx.out.result({ clientId: client.id, clientSecret: secret }, () => [`client_id:     ${client.id}`, ...secretLines(secret)]);
    },
  },
  delete: {
    summary: 'delete an app client, its codes and refresh tokens (its token families are revoked)',
    usage: 'client delete CLIENT_ID',
    args: ['CLIENT_ID'],
    run: async (ctx, _values, [id = '']) => {
      ctx.confirm(`delete app client ${id}`);
      const { revokedFamilies } = await deleteClient(ctx.db, id, ctx.by);
      ctx.out.result({ deleted: id, revokedFamilies }, () => [`deleted app client ${id} (${revokedFamilies} token families revoked)`]);
    },
  },
};
