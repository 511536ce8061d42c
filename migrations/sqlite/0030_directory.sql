-- Where an account comes from (issue 18): 'local' (console, CLI, CSV import), 'directory'
-- (LDAP/Active Directory sync), 'scim' (SCIM provisioning), 'oidc' (created at the first OpenID
-- Connect sign-in). The source owns the name, email and groups of its accounts; the console
-- refuses local edits of them. `external_id` is the source's stable identifier (the directory's
-- objectGUID/entryUUID or the configured attribute, SCIM's externalId); `source_fingerprint` is a
-- hash of what the source last said, so a sync with no changes writes nothing.

ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN source_fingerprint TEXT;
CREATE UNIQUE INDEX users_source_external ON users(source, external_id);

-- A mobile number a source knows, offered when the user enrols a phone (never trusted as verified).
-- Sealed to the account like every stored number.
CREATE TABLE phone_suggestions (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    phone TEXT NOT NULL,
    source TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row per background job that only one instance may run at a time (the directory sync): the
-- instance holding the lease until `until`, and what the last run did.
CREATE TABLE job_leases (
    name TEXT NOT NULL PRIMARY KEY,
    holder TEXT NOT NULL,
    until BIGINT NOT NULL,
    last_started_at BIGINT,
    last_finished_at BIGINT,
    last_summary TEXT NOT NULL DEFAULT ''
);
