// A real OpenID provider (oidc-provider) for the directory crate's tests, started by them.
// Settings come as JSON in the first argument:
//   port, issuer, redirect_uri, post_logout_redirect_uri,
//   alg ("RS256" | "PS256" | "ES256" | "EdDSA"), kid (the signing key's id, a fresh key each start),
//   id_token_ttl (seconds), claims_in_id_token (false: email, name and groups only from userinfo),
//   logout (false: no end_session_endpoint), accounts { id: { email, email_verified, name, groups } },
//   tls (optional { cert, key }: PEM files; the provider then speaks HTTPS only).
// The login page is this script's: GET /interaction/<uid>?login=<account> logs that account in,
// as a person submitting a login form would (consent is implied). Unknown accounts are refused.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import Provider from 'oidc-provider';

const settings = JSON.parse(process.argv[2]);

function signingKey(alg, kid) {
  const kinds = {
    RS256: ['rsa', { modulusLength: 2048 }],
    PS256: ['rsa', { modulusLength: 2048 }],
    ES256: ['ec', { namedCurve: 'P-256' }],
    EdDSA: ['ed25519', {}],
  };
  const [type, options] = kinds[alg];
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

const client = (client_id, client_secret) => ({
  client_id,
  client_secret,
  redirect_uris: [settings.redirect_uri],
  post_logout_redirect_uris: [settings.post_logout_redirect_uri],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: settings.alg,
});

const accounts = settings.accounts;

const provider = new Provider(settings.issuer, {
  clients: [client('dialogue', 'dialogue-secret'), client('other', 'other-secret')],
  jwks: { keys: [signingKey(settings.alg, settings.kid)] },
  enabledJWA: { idTokenSigningAlgValues: [settings.alg] },
  cookies: { keys: ['directory-tests-cookie-key'] },
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'groups'],
  },
  conformIdTokenClaims: !settings.claims_in_id_token,
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 120,
    Grant: 600,
    IdToken: settings.id_token_ttl,
    Interaction: 600,
    Session: 600,
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: settings.logout },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
  // Consent is implied: every login grants what the client asked for.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope);
    await grant.save();
    return grant;
  },
});

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!match || ctx.method !== 'GET') return next();
  await provider.interactionDetails(ctx.req, ctx.res);
  const login = ctx.query.login;
  const result = accounts[login]
    ? { login: { accountId: login } }
    : { error: 'access_denied', error_description: 'unknown account' };
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(returnTo);
});

const listening = () => console.log(`listening on ${settings.port}`);
if (settings.tls) {
  const tls = { cert: readFileSync(settings.tls.cert), key: readFileSync(settings.tls.key) };
  createServer(tls, provider.callback()).listen(settings.port, '127.0.0.1', listening);
} else {
  provider.listen(settings.port, '127.0.0.1', listening);
}
