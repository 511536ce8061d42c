// A real OpenID Connect provider (the `oidc-provider` package) for Twofold's integration tests,
// on loopback only. Started by a test: `node provider.js [port]` (0 or absent: any free port);
// prints `READY <port>` once listening. The issuer is http://127.0.0.1:<port>.
//
// Sign-in uses oidc-provider's development login page: any login name, any password; consent is
// granted automatically. Accounts get default claims (sub = login name, preferred_username,
// name, email) that a test can override.
//
// The test steers it with JSON POSTs to /__control/…:
//   client   {redirect_uris}            register the `twofold` client (secret `twofold-secret`)
//   account  {login, claims}            claims for a login name (sub stays the login unless given)
//   rotate   {}                         replace the signing key (new kid); old tokens' key is gone
//   tamper   {mode}                     next ID tokens are re-signed with a change:
//            aud | iss | nonce | expired | unknown_kid | future (issued 10 minutes ahead)
//            | slightly_expired (20 s ago: inside Twofold's clock-skew tolerance) | none (normal)
import http from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

// Only `READY <port>` goes to stdout (the test stops reading after it); notices go to stderr.
console.log = console.error;
console.info = console.error;
process.stdout.on('error', () => {});

const port = Number(process.argv[2] || process.env.PORT || 0);
let issuer = '';
let redirectUris = [];
let signingKey; // private JWK (with kid)
let tamper = 'none';
const accounts = new Map();
let provider;

async function newKey() {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  return { ...jwk, kid: `key-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`, alg: 'RS256', use: 'sig' };
}

function claimsFor(login) {
  const defaults = {
    sub: login,
    preferred_username: login,
    name: `Test ${login}`,
    email: `${login}@example.edu`,
  };
  return { ...defaults, ...(accounts.get(login) || {}) };
}

function build() {
  const p = new Provider(issuer, {
    clients: redirectUris.length
      ? [{
        client_id: 'twofold',
        client_secret: 'twofold-secret',
        redirect_uris: redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      }]
      : [],
    jwks: { keys: [signingKey] },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
      groups: ['groups'],
    },
    scopes: ['openid', 'profile', 'email', 'groups'],
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['twofold-test-cookie-key'] },
    async findAccount(ctx, id) {
      const claims = claimsFor(id);
      return { accountId: id, async claims() { return claims; } };
    },
    // Consent is implied: the test user always agrees (a test cancels with the page's link).
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile email groups');
      await grant.save();
      return grant;
    },
  });
  p.proxy = false;
  // Re-signs the ID token in the token response when a test asked for a broken one.
  p.use(async (ctx, next) => {
    await next();
    if (tamper === 'none' || ctx.path !== '/token' || ctx.status !== 200 || !ctx.body?.id_token) return;
    const claims = jose.decodeJwt(ctx.body.id_token);
    const now = Math.floor(Date.now() / 1000);
    let key = signingKey;
    if (tamper === 'aud') claims.aud = 'someone-else';
    if (tamper === 'iss') claims.iss = 'http://127.0.0.1:1/not-the-issuer';
    if (tamper === 'nonce') claims.nonce = 'not-the-nonce';
    if (tamper === 'expired') { claims.iat = now - 3600; claims.exp = now - 1800; }
    if (tamper === 'slightly_expired') { claims.iat = now - 300; claims.exp = now - 20; }
    if (tamper === 'future') { claims.iat = now + 600; claims.exp = now + 1200; }
    if (tamper === 'unknown_kid') key = await newKey();
    const privateKey = await jose.importJWK(key, 'RS256');
    ctx.body = {
      ...ctx.body,
      id_token: await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(privateKey),
    };
  });
  return p;
}

async function readJson(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : {};
}

async function control(req, res) {
  const body = await readJson(req);
  const what = req.url.slice('/__control/'.length);
  if (what === 'client') redirectUris = body.redirect_uris;
  else if (what === 'account') accounts.set(body.login, body.claims);
  else if (what === 'rotate') signingKey = await newKey();
  else if (what === 'tamper') tamper = body.mode;
  else { res.writeHead(404).end(); return; }
  provider = build();
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, kid: signingKey.kid }));
}

signingKey = await newKey();
const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url.startsWith('/__control/')) {
    control(req, res).catch((e) => { res.writeHead(500).end(String(e)); });
    return;
  }
  provider.callback()(req, res);
});
server.listen(port, '127.0.0.1', () => {
  const actual = server.address().port;
  issuer = `http://127.0.0.1:${actual}`;
  provider = build();
  process.stdout.write(`READY ${actual}\n`);
});
// Stop with the test: when stdin closes (the test process ended), exit.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
