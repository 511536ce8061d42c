//! The `twofold` command line: user management with clear errors and non-zero exit codes, and
//! configuration that fails at start with the key and the reason.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::helpers::fresh_database_url;

struct Cli {
    dir: tempfile::TempDir,
    database_url: Option<String>,
    key: String,
}

impl Cli {
    async fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            database_url: fresh_database_url().await,
            key: twofold::secrets::MasterKey::generate().to_base64(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_twofold"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("TWOFOLD_DATA_DIR", self.dir.path().join("data"))
            .env("TWOFOLD_MASTER_KEY", &self.key)
            .env("TWOFOLD_LOG", "warn")
            .env_remove("TWOFOLD_DATABASE_URL");
        if let Some(url) = &self.database_url {
            cmd.env("TWOFOLD_DATABASE_URL", url);
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child =
            self.command(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[tokio::test]
async fn an_administrator_adds_lists_shows_disables_and_deletes_users() {
    let cli = Cli::new().await;
    let add = cli.run_with_stdin(
        &["user", "add", "ada", "--email", "ada@example.edu", "--display-name", "Ada Lovelace", "--password-stdin"],
        "a fine password\n",
    );
    assert!(add.status.success(), "{}", stderr(&add));
    assert!(stdout(&add).contains("Added user ada"));

    let list = cli.run(&["user", "list"]);
    assert!(list.status.success());
    assert!(stdout(&list).contains("ada\tAda Lovelace\tada@example.edu\tactive"));

    let show = cli.run(&["user", "show", "ada"]);
    assert!(stdout(&show).contains("Display name:  Ada Lovelace"));
    assert!(stdout(&show).contains("Password:      set"));
    assert!(stdout(&show).contains("Devices:       0"));

    let disable = cli.run(&["user", "disable", "ada"]);
    assert!(disable.status.success());
    assert!(stdout(&cli.run(&["user", "show", "ada"])).contains("Status:        disabled"));

    let delete = cli.run(&["user", "delete", "ada"]);
    assert!(delete.status.success());
    let gone = cli.run(&["user", "show", "ada"]);
    assert!(!gone.status.success());
    assert!(stderr(&gone).contains("no user named ada"));
}

#[tokio::test]
async fn duplicates_and_bad_input_are_refused_with_a_non_zero_exit() {
    let cli = Cli::new().await;
    assert!(cli.run(&["user", "add", "ada", "--email", "ada@example.edu", "--display-name", "Ada"]).status.success());
    let duplicate = cli.run(&["user", "add", "ADA", "--email", "other@example.edu", "--display-name", "Other"]);
    assert!(!duplicate.status.success());
    assert!(stderr(&duplicate).contains("a user named ada already exists"), "{}", stderr(&duplicate));

    let bad_email = cli.run(&["user", "add", "bob", "--email", "not-an-email", "--display-name", "Bob"]);
    assert!(!bad_email.status.success());
    assert!(stderr(&bad_email).contains("Enter an email address"));

    let bad_name = cli.run(&["user", "add", "bob smith", "--email", "bob@example.edu", "--display-name", "Bob"]);
    assert!(!bad_name.status.success());
    assert!(stderr(&bad_name).contains("username can contain only"));

    let short_password = cli.run_with_stdin(
        &["user", "add", "carol", "--email", "c@example.edu", "--display-name", "Carol", "--password-stdin"],
        "short\n",
    );
    assert!(!short_password.status.success());
    assert!(stderr(&short_password).contains("at least 8 characters"));
    assert!(!stdout(&cli.run(&["user", "list"])).contains("carol"), "nothing half-created");

    let missing = cli.run(&["user", "add", "dave"]);
    assert_eq!(missing.status.code(), Some(2), "usage error from the argument parser");
}

#[tokio::test]
async fn bad_configuration_fails_at_start_with_the_key_and_the_reason() {
    let cli = Cli::new().await;
    let out = cli.command(&["migrate"]).env("TWOFOLD_BIND", "nonsense").output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("`bind`"), "{}", stderr(&out));

    let out = cli.command(&["migrate"]).env("TWOFOLD_LOCKOUT__MAX_FAILURES", "many").output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).to_lowercase().contains("max_failures"), "{}", stderr(&out));

    std::fs::write(cli.dir.path().join("custom.toml"), "bogus_key = 1\n").unwrap();
    let out = cli.run(&["--config", "custom.toml", "migrate"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("bogus_key"), "{}", stderr(&out));
}

#[tokio::test]
async fn unknown_environment_variables_are_warned_about_not_fatal_but_file_keys_are() {
    let cli = Cli::new().await;
    // What Kubernetes injects for a Service named "twofold".
    let out = cli
        .command(&["migrate"])
        .env("TWOFOLD_PORT", "tcp://10.96.0.12:8080")
        .env("TWOFOLD_SERVICE_HOST", "10.96.0.12")
        .env("TWOFOLD_LOCKOUT__COLOUR", "blue")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for name in ["TWOFOLD_PORT", "TWOFOLD_SERVICE_HOST", "TWOFOLD_LOCKOUT__COLOUR"] {
        assert!(stderr(&out).contains(name), "warned about {name}: {}", stderr(&out));
    }
    // A known key with a bad value still stops the program, without figment's internal prefix.
    let out = cli
        .command(&["migrate"])
        .env("TWOFOLD_PORT", "x")
        .env("TWOFOLD_LOCKOUT__MAX_FAILURES", "many")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("key `lockout.max_failures`") && !stderr(&out).contains("default."),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn secrets_come_from_files_and_a_bad_log_filter_is_refused() {
    let cli = Cli::new().await;
    let key_file = cli.dir.path().join("master.key.secret");
    std::fs::write(&key_file, format!("{}\n", cli.key)).unwrap();
    let out = cli
        .command(&["migrate"])
        .env_remove("TWOFOLD_MASTER_KEY")
        .env("TWOFOLD_MASTER_KEY_FILE", &key_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // The same database opens with the key from the file and from the variable alike.
    let out = cli.run(&["user", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli.command(&["migrate"]).env("TWOFOLD_MASTER_KEY_FILE", &key_file).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("master_key_file") && stderr(&out).contains("not both"), "{}", stderr(&out));
    let out = cli
        .command(&["migrate"])
        .env_remove("TWOFOLD_MASTER_KEY")
        .env("TWOFOLD_MASTER_KEY_FILE", "/nonexistent/key")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cannot read /nonexistent/key"), "{}", stderr(&out));

    let out = cli.command(&["migrate"]).env("TWOFOLD_LOG", "twofold=loud").output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("`twofold=loud` is not a log filter"), "{}", stderr(&out));
}

#[tokio::test]
async fn an_unreachable_postgresql_is_named_with_the_cause() {
    let cli = Cli::new().await;
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = cli
        .command(&["migrate"])
        .env("TWOFOLD_DATABASE_URL", format!("postgres://postgres@127.0.0.1:{port}/none"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(&format!("cannot connect to PostgreSQL at 127.0.0.1:{port}")), "{err}");
    assert!(err.to_lowercase().contains("refused"), "{err}");
    // A missing database is named once.
    let url =
        std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let base = url.rsplit_once('/').unwrap().0;
    let out = cli
        .command(&["migrate"])
        .env("TWOFOLD_DATABASE_URL", format!("{base}/no_such_database_here"))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success());
    assert_eq!(err.matches("no_such_database_here").count(), 1, "{err}");
}

#[tokio::test]
async fn healthcheck_says_whether_the_configured_server_answers() {
    let cli = Cli::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bind = format!("0.0.0.0:{port}");
    let out = cli.command(&["healthcheck"]).env("TWOFOLD_BIND", &bind).output().unwrap();
    assert!(!out.status.success(), "nothing listens yet: {}", stdout(&out));
    let mut server = cli.command(&["serve"]).env("TWOFOLD_BIND", &bind).stdout(Stdio::null()).spawn().unwrap();
    let started = std::time::Instant::now();
    let ok = loop {
        let out = cli.command(&["healthcheck"]).env("TWOFOLD_BIND", &bind).output().unwrap();
        if out.status.success() || started.elapsed() > std::time::Duration::from_secs(15) {
            break out;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let _ = server.kill();
    let _ = server.wait();
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(stdout(&ok).trim(), "ok");
}

#[tokio::test]
async fn a_configuration_file_is_read_and_the_environment_overrides_it() {
    let cli = Cli::new().await;
    std::fs::write(cli.dir.path().join("twofold.toml"), "[lockout]\nmax_failures = 0\n").unwrap();
    let out = cli.run(&["migrate"]);
    assert!(stderr(&out).contains("lockout.max_failures"), "the file is read: {}", stderr(&out));
    let out = cli.command(&["migrate"]).env("TWOFOLD_LOCKOUT__MAX_FAILURES", "5").output().unwrap();
    assert!(out.status.success(), "the environment wins: {}", stderr(&out));
}

#[tokio::test]
async fn the_server_refuses_to_start_with_a_different_master_key() {
    let cli = Cli::new().await;
    assert!(cli.run(&["migrate"]).status.success());
    let other_key = twofold::secrets::MasterKey::generate().to_base64();
    let out = cli.command(&["migrate"]).env("TWOFOLD_MASTER_KEY", other_key).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("master key does not match"), "{}", stderr(&out));
}

#[tokio::test]
async fn without_a_configured_key_one_is_generated_privately_in_the_data_directory() {
    let cli = Cli::new().await;
    let out = cli.command(&["migrate"]).env_remove("TWOFOLD_MASTER_KEY").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let key_file = cli.dir.path().join("data").join("master.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    let again = cli.command(&["migrate"]).env_remove("TWOFOLD_MASTER_KEY").output().unwrap();
    assert!(again.status.success(), "the same key is read back: {}", stderr(&again));
}

#[tokio::test]
async fn unlock_clears_a_lockout() {
    let cli = Cli::new().await;
    cli.run(&["user", "add", "ada", "--email", "ada@example.edu", "--display-name", "Ada"]);
    let out = cli.run(&["user", "unlock", "ada"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("Unlocked ada"));
}

#[tokio::test]
async fn console_roles_are_granted_and_revoked_from_the_command_line() {
    let cli = Cli::new().await;
    cli.run(&["user", "add", "grace", "--email", "grace@example.edu", "--display-name", "Grace"]);
    let grant = cli.run(&["admin", "grant", "grace", "--role", "helpdesk"]);
    assert!(grant.status.success(), "{}", stderr(&grant));
    assert!(stdout(&cli.run(&["user", "show", "grace"])).contains("Role:          helpdesk"));
    let bad = cli.run(&["admin", "grant", "grace", "--role", "root"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("unknown role `root`"));
    let nobody = cli.run(&["admin", "grant", "nobody", "--role", "admin"]);
    assert!(!nobody.status.success());
    assert!(cli.run(&["admin", "revoke", "grace"]).status.success());
    assert!(stdout(&cli.run(&["user", "show", "grace"])).contains("Role:          user"));
}

#[tokio::test]
async fn a_help_desk_is_limited_to_imported_groups_from_the_command_line() {
    let cli = Cli::new().await;
    let csv = "username,display_name,email,groups,date_of_birth,id_last4\n\
               ada,Ada,ada@example.edu,physics,,\n\
               grace,Grace,grace@example.edu,,,\n";
    std::fs::write(cli.dir.path().join("people.csv"), csv).unwrap();
    assert!(cli.run(&["user", "import", "people.csv"]).status.success());
    let unknown = cli.run(&["admin", "grant", "grace", "--role", "helpdesk", "--groups", "physics,nosuch"]);
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("no group `nosuch`") && stderr(&unknown).contains("physics"));
    let admin = cli.run(&["admin", "grant", "grace", "--role", "admin", "--groups", "physics"]);
    assert!(!admin.status.success() && stderr(&admin).contains("only a help desk"));
    let out = cli.run(&["admin", "grant", "grace", "--role", "helpdesk", "--groups", " physics "]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("helpdesk role for the users of physics"), "{}", stdout(&out));
}

#[tokio::test]
async fn a_user_import_reports_every_bad_line_and_writes_nothing_or_everything() {
    let cli = Cli::new().await;
    let bad = "username,display_name,email,groups,date_of_birth,id_last4\n\
               ada,Ada,ada@example.edu,staff,1995-12-10,AB12\n\
               bob,Bob,bob-at-example,,,\n\
               ada,Ada again,a2@example.edu,,,\n";
    std::fs::write(cli.dir.path().join("bad.csv"), bad).unwrap();
    let out = cli.run(&["user", "import", "bad.csv"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("line 3: Enter an email address"), "{}", stderr(&out));
    assert!(stderr(&out).contains("line 4: ada is already on line 2"), "{}", stderr(&out));
    assert!(stdout(&cli.run(&["user", "list"])).contains("No users yet."), "all or nothing");

    let good = "\u{feff}username,display_name,email,groups,date_of_birth,id_last4\r\n\
                ada,\"Lovelace, Ada\",ada@example.edu,staff;math,1995-12-10,AB12\r\n\
                bob,Bob,bob@example.edu,,,\r\n";
    std::fs::write(cli.dir.path().join("good.csv"), good).unwrap();
    let dry = cli.run(&["user", "import", "good.csv", "--dry-run"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(stdout(&dry).contains("Would create 2 user(s) and update 0"));
    assert!(stdout(&cli.run(&["user", "list"])).contains("No users yet."));
    let real = cli.run(&["user", "import", "good.csv"]);
    assert!(stdout(&real).contains("Created 2 user(s) and updated 0"), "{}", stderr(&real));
    assert!(stdout(&cli.run(&["user", "show", "ada"])).contains("Lovelace, Ada"));
    let again = cli.run(&["user", "import", "good.csv"]);
    assert!(stdout(&again).contains("Created 0 user(s) and updated 2"));
}

#[tokio::test]
async fn ten_thousand_users_import_in_one_go() {
    let cli = Cli::new().await;
    let mut text = String::from("username,display_name,email,date_of_birth,id_last4\n");
    for i in 0..10_000 {
        text.push_str(&format!("user{i},User {i},user{i}@example.edu,2000-01-01,{:04}\n", i % 10_000));
    }
    std::fs::write(cli.dir.path().join("many.csv"), text).unwrap();
    let out = cli.run(&["user", "import", "many.csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Created 10000 user(s)"));
}
