-- bench/growth: bulk-fills a Twofold PostgreSQL database with filler users :from .. :to - 1 (psql
-- variables), server-side and in one transaction. Each filler user has 3 devices (a default
-- mobile phone with an app seed, a tablet with an app seed, and a third device: every 10th user a
-- hardware token from the inventory, every other user a landline with a phone number), and the
-- rows a year of use leaves: audit entries, Auth API requests, a session for every 10th user,
-- backup codes for every 4th user, a group for every user. Sealed values (seeds, hashes) are
-- random text of the real length: filler users are never verified. Ids are 32 hex digits like
-- `new_id()`, so index inserts land all over the B-trees as in production. Every NOT NULL,
-- unique and foreign key holds. Needs :app (the bench application's id).
\set ON_ERROR_STOP on
BEGIN;
SET LOCAL synchronous_commit = off;

CREATE TEMP TABLE fill ON COMMIT DROP AS
SELECT i, md5('user' || i) AS id, 'fill' || lpad(i::text, 7, '0') AS username,
       (extract(epoch FROM now())::bigint - 86400 * 365 + (i % (86400 * 300))) AS t
FROM generate_series(:from, :to - 1) AS i;

INSERT INTO users (id, username, email, display_name, password_hash, role, status, failed_attempts,
                   created_at, last_login_at, enrolled_at)
SELECT id, username, username || '@example.edu', 'Filler User ' || i,
       '$argon2id$v=19$m=19456,t=2,p=1$' || encode(sha256(('salt' || i)::bytea), 'base64') || '$'
           || encode(sha256(('hash' || i)::bytea), 'base64'),
       'user', CASE WHEN i % 500 = 0 THEN 'disabled' ELSE 'active' END, i % 3, t, t + 86400 * 30, t + 60
FROM fill;

INSERT INTO devices (id, user_id, kind, platform, name, login_action, totp_secret, totp_last_step,
                     created_at, last_used_at, is_default, phone)
SELECT md5('device' || f.i || '-' || k), f.id,
       CASE k WHEN 1 THEN 'mobile' WHEN 2 THEN 'tablet'
              ELSE CASE WHEN f.i % 10 = 0 THEN 'hardware_token' ELSE 'landline' END END,
       CASE k WHEN 1 THEN CASE WHEN f.i % 2 = 0 THEN 'android' ELSE 'ios' END WHEN 2 THEN 'android' ELSE 'other' END,
       CASE k WHEN 1 THEN 'Phone' WHEN 2 THEN 'Tablet' ELSE CASE WHEN f.i % 10 = 0 THEN 'Token' ELSE 'Desk phone' END END,
       'ask',
       -- App seeds are sealed (nonce + 20-byte seed + tag, base64); tokens and landlines have none.
       CASE WHEN k < 3 THEN encode(sha256(('seed' || f.i || '-' || k)::bytea) || sha256(('n' || f.i)::bytea), 'base64')
            ELSE '' END,
       CASE WHEN k < 3 THEN (f.t + 86400 * 30) / 30 END,
       f.t + 60 * k, f.t + 86400 * 30, CASE WHEN k = 1 THEN 1 ELSE 0 END,
       CASE WHEN k = 3 AND f.i % 10 <> 0 THEN '+1555' || lpad(f.i::text, 7, '0') END
FROM fill f CROSS JOIN generate_series(1, 3) AS k;

INSERT INTO hardware_tokens (id, serial, kind, secret, digits, period, counter, status, user_id, device_id,
                             imported_at, imported_by, assigned_at, last_used_at)
SELECT md5('token' || i), 'FILL' || lpad(i::text, 8, '0'), 'hotp',
       encode(sha256(('tok' || i)::bytea) || sha256(('tn' || i)::bytea), 'base64'), 6, 30, i % 1000,
       'assigned', id, md5('device' || i || '-3'), t, 'bench', t + 120, t + 86400 * 30
FROM fill WHERE i % 10 = 0;

INSERT INTO backup_codes (id, user_id, salt, code_hash, created_at, used_at)
SELECT md5('backup' || f.i || '-' || c), f.id, md5('salt' || f.i || '-' || c),
       encode(sha256(('code' || f.i || '-' || c)::bytea), 'hex'), f.t + 3600, CASE WHEN c = 1 THEN f.t + 7200 END
FROM fill f CROSS JOIN generate_series(1, 10) AS c WHERE f.i % 4 = 0;

INSERT INTO sessions (id_hash, user_id, state, created_at, expires_at)
SELECT encode(sha256(('session' || i)::bytea), 'hex'), id, '{"stage":"done"}',
       extract(epoch FROM now())::bigint, extract(epoch FROM now())::bigint + 43200
FROM fill WHERE i % 10 = 0;

INSERT INTO user_groups (user_id, group_name)
SELECT id, 'group' || (i % 50) FROM fill;

-- A year of sign-ins: 5 audit entries per user (enrolment, passcodes, a failure, a sign-in).
INSERT INTO audit_log (at, event, outcome, actor_id, user_id, username, ip, detail, application)
SELECT f.t + 86400 * e, (ARRAY['enroll.complete', 'mfa.passcode', 'mfa.passcode', 'login.password', 'api.auth'])[e],
       CASE WHEN e = 3 THEN 'failure' ELSE 'success' END, NULL, f.id, f.username,
       '10.' || (f.i % 256) || '.' || (e * 7 % 256) || '.1', 'device ' || md5('device' || f.i || '-1'),
       CASE WHEN e >= 4 THEN 'bench' END
FROM fill f CROSS JOIN generate_series(1, 5) AS e;

-- Auth API requests (kept for async auth_status): 2 per user.
INSERT INTO auth_requests (txid, application_id, user_id, factor, result, status, status_msg, created_at, expires_at)
SELECT md5('txid' || f.i || '-' || r), :'app', f.id, 'passcode', 'allow', 'allow', 'Success. Logging you in...',
       f.t + 86400 * r, f.t + 86400 * r + 300
FROM fill f CROSS JOIN generate_series(1, 2) AS r;

COMMIT;
-- VACUUM as well: a measurement right after the fill must not share the machine with autovacuum
-- working through the new rows (and a database in service is vacuumed).
VACUUM (ANALYZE);
