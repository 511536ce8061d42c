-- The OpenID provider (issue 19). Signing keys (RSA, PKCS#1 PEM sealed with the data key under
-- `openid-key:<kid>`), newest first in use; access tokens for userinfo (keyed hashes); PKCE and
-- scope on the authorization codes the Universal Prompt already keeps.

CREATE TABLE openid_signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE openid_access_tokens (
    token_hash TEXT PRIMARY KEY,
    application_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

ALTER TABLE universal_codes ADD COLUMN code_challenge TEXT;
ALTER TABLE universal_codes ADD COLUMN scope TEXT;
