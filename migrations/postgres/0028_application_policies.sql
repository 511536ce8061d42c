-- Access rules of one application, and of a group at that application (issue 23). The global
-- level stays in `policies`. `application` is the policy scope: `app:<applications.id>` or
-- `radius:<client name>`; `group_name` is '' for the application's own rules.

CREATE TABLE application_policies (
    application TEXT NOT NULL,
    group_name TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (application, group_name, key)
);
