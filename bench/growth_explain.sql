-- bench/growth: the query plans of the Auth API passcode path (and of the heavier neighbours a
-- large database makes slow) as the server runs them: prepared statements with generic plans,
-- which is what a long-lived sqlx connection ends up with. Writes run inside a transaction that
-- is rolled back. psql variables: :user (a bench user's id), :username, :ikey, :app, :device.
\set ON_ERROR_STOP on
SET plan_cache_mode = force_generic_plan;
\pset pager off

\echo '### users by username (find_user)'
PREPARE q1(text) AS SELECT id, username, email, display_name, password_hash, role, status, failed_attempts,
  locked_at, created_at, last_login_at, enrolled_at FROM users WHERE username = $1;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE q1(:'username');

\echo '### application by integration key (signed::verify)'
PREPARE q2(text) AS SELECT id, name, kind, integration_key, secret_key, created_at FROM applications WHERE integration_key = $1;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE q2(:'ikey');

\echo '### devices for user (devices::list_for_user)'
PREPARE q3(text) AS SELECT id, user_id, kind, platform, name, login_action, totp_secret, totp_last_step, created_at,
  last_used_at, is_default FROM devices WHERE user_id = $1 AND removed_at IS NULL ORDER BY is_default DESC, created_at, id;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE q3(:'user');

\echo '### hardware tokens usable for user (tokens::usable_for_user)'
PREPARE q4(text, text) AS SELECT id, serial, kind, secret, digits, period, counter, public_id, status, user_id, device_id
  FROM hardware_tokens WHERE user_id = $1 AND status = 'assigned' AND device_id IN
  (SELECT id FROM devices WHERE user_id = $2 AND removed_at IS NULL) ORDER BY serial;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE q4(:'user', :'user');

BEGIN;
\echo '### TOTP step advance (devices::advance_totp_step)'
PREPARE w1(bigint, bigint, text, bigint) AS UPDATE devices SET totp_last_step = $1, last_used_at = $2
  WHERE id = $3 AND removed_at IS NULL AND (totp_last_step IS NULL OR totp_last_step < $4);
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE w1(99999999999, 1, :'device', 99999999999);

\echo '### users failure update (users::record_failure)'
PREPARE w2(text) AS UPDATE users SET failed_attempts = failed_attempts + 1 WHERE id = $1 RETURNING failed_attempts;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE w2(:'user');

\echo '### audit insert (audit::record)'
PREPARE w3(bigint, text, text, text, text, text, text, text, text) AS INSERT INTO audit_log
  (at, event, outcome, actor_id, user_id, username, ip, detail, application) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE w3(1, 'mfa.passcode', 'failure', NULL, :'user', :'username', '127.0.0.1', 'x', 'bench');

\echo '### auth_requests insert (applications::insert_request)'
PREPARE w4(text, text, text, text, text, text, text, bigint, bigint) AS INSERT INTO auth_requests
  (txid, application_id, user_id, factor, result, status, status_msg, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE w4(md5(random()::text), :'app', :'user', 'passcode', 'deny', 'deny', 'x', 1, 2);
ROLLBACK;

\echo '### neighbours: Recent activity on My Settings & Devices (audit::for_user)'
PREPARE n1(text, bigint) AS SELECT at, event, outcome, actor_id, user_id, username, ip, detail, application FROM audit_log
  WHERE user_id = $1 ORDER BY id DESC LIMIT $2;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE n1(:'user', 10);

\echo '### neighbours: admin dashboard (audit::times_of)'
PREPARE n2(text, bigint) AS SELECT at FROM audit_log WHERE event = $1 AND at > $2;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE n2('enroll.complete', extract(epoch FROM now())::bigint - 86400 * 30);

\echo '### neighbours: auth_status (applications request by txid)'
PREPARE n3(text) AS SELECT txid, application_id, user_id, result, status, status_msg FROM auth_requests WHERE txid = $1;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE n3('00000000000000000000000000000000');

BEGIN;
\echo '### neighbours: deleting a user (foreign keys cascade into every table)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) DELETE FROM users WHERE id = md5('user' || 20);
ROLLBACK;
