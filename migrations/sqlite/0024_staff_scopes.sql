-- Help desks limited to some groups (Duo's "administrative units", issue 16): a help-desk member
-- with rows here acts only on users in one of these groups; without rows, on everyone.

CREATE TABLE staff_scopes (
    staff_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    PRIMARY KEY (staff_id, group_name)
);
CREATE INDEX user_groups_group ON user_groups(group_name, user_id);
