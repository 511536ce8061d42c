//! A real OpenLDAP `slapd` for the directory tests (Debian's `slapd` and `ldap-utils`, installed by
//! scripts/test): a temporary slapd.conf with the ppolicy overlay, a CA and server certificate made
//! with the `openssl` command for StartTLS, the LDIF loaded with `slapadd`, a free port on the
//! loopback, and the process killed when the guard is dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use twofold::config::Settings;

pub const BASE: &str = "dc=example,dc=edu";
pub const SERVICE_DN: &str = "cn=twofold,ou=services,dc=example,dc=edu";
pub const SERVICE_PASSWORD: &str = "service-secret";
const ROOT_DN: &str = "cn=admin,dc=example,dc=edu";
const ROOT_PASSWORD: &str = "root-secret";

pub struct Slapd {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/test installs slapd, ldap-utils)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it (P-256).
fn certificates(dir: &Path) {
    let at = |name: &str| dir.join(name).to_string_lossy().to_string();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run(Command::new("openssl")
        .args(["req", "-x509"])
        .args(ec)
        .args(["-keyout", &at("ca.key"), "-out", &at("ca.pem")])
        .args(["-days", "2", "-subj", "/CN=Twofold test CA"]));
    run(Command::new("openssl")
        .arg("req")
        .args(ec)
        .args(["-keyout", &at("server.key"), "-out", &at("server.csr")])
        .args(["-subj", "/CN=localhost"]));
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-in", &at("server.csr"), "-CA", &at("ca.pem"), "-CAkey", &at("ca.key")])
        .args(["-CAcreateserial", "-out", &at("server.pem"), "-days", "2", "-extfile", &at("ext.cnf")]));
}

fn config(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "include /etc/ldap/schema/core.schema\n\
         include /etc/ldap/schema/cosine.schema\n\
         include /etc/ldap/schema/inetorgperson.schema\n\
         include /etc/ldap/schema/nis.schema\n\
         modulepath /usr/lib/ldap\nmoduleload back_mdb\nmoduleload ppolicy\n\
         pidfile {d}/slapd.pid\n\
         TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\nTLSCertificateKeyFile {d}/server.key\n\
         sizelimit unlimited\n\
         database mdb\nmaxsize 1073741824\nsuffix \"{BASE}\"\nrootdn \"{ROOT_DN}\"\nrootpw {ROOT_PASSWORD}\n\
         directory {d}/db\n\
         overlay ppolicy\nppolicy_default \"cn=default,ou=policies,{BASE}\"\nppolicy_use_lockout\n\
         access to attrs=userPassword by self =xw by anonymous auth by * none\n\
         access to * by dn.exact=\"{SERVICE_DN}\" read by self read by * none\n"
    )
}

/// The tree every test starts from: the organisation, the policy (passwords expire after a year;
/// five failures lock for an hour; a reset password must be changed) and the service account.
fn base_ldif() -> String {
    format!(
        "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example University\ndc: example\n\n\
         dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n\n\
         dn: ou=services,{BASE}\nobjectClass: organizationalUnit\nou: services\n\n\
         dn: ou=policies,{BASE}\nobjectClass: organizationalUnit\nou: policies\n\n\
         dn: cn=default,ou=policies,{BASE}\nobjectClass: device\nobjectClass: pwdPolicy\ncn: default\n\
         pwdAttribute: userPassword\npwdMaxAge: 31536000\npwdGraceAuthNLimit: 0\npwdLockout: TRUE\n\
         pwdMaxFailure: 5\npwdLockoutDuration: 3600\npwdMustChange: TRUE\n\n\
         dn: {SERVICE_DN}\nobjectClass: person\nobjectClass: simpleSecurityObject\ncn: twofold\nsn: twofold\n\
         userPassword: {SERVICE_PASSWORD}\n\n"
    )
}

/// One person's entry (`extra`: more attribute lines, e.g. ppolicy's operational attributes,
/// which only slapadd may set).
pub fn person(uid: &str, name: &str, password: &str, extra: &str) -> String {
    let sn = name.rsplit(' ').next().unwrap_or(name);
    format!(
        "dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {name}\nsn: {sn}\n\
         displayName: {name}\nmail: {uid}@example.edu\nuserPassword: {password}\n{extra}\n"
    )
}

/// A group of `members` (full DNs).
pub fn group(cn: &str, members: &[String]) -> String {
    let lines: String = members.iter().map(|m| format!("member: {m}\n")).collect();
    format!("dn: cn={cn},ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}\n")
}

pub fn user_dn(uid: &str) -> String {
    format!("uid={uid},ou=people,{BASE}")
}

pub fn group_dn(cn: &str) -> String {
    format!("cn={cn},ou=groups,{BASE}")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Slapd {
    /// slapd with the base tree and `ldif`, listening for StartTLS on a free port.
    pub async fn start(ldif: &str) -> Slapd {
        let dir = tempfile::tempdir().unwrap();
        certificates(dir.path());
        std::fs::create_dir(dir.path().join("db")).unwrap();
        std::fs::write(dir.path().join("slapd.conf"), config(dir.path())).unwrap();
        std::fs::write(dir.path().join("data.ldif"), format!("{}{ldif}", base_ldif())).unwrap();
        let conf = dir.path().join("slapd.conf");
        run(Command::new("slapadd").arg("-q").arg("-f").arg(&conf).arg("-l").arg(dir.path().join("data.ldif")));
        let port = free_port();
        let child = Command::new("slapd")
            .arg("-f")
            .arg(&conf)
            .args(["-h", &format!("ldap://127.0.0.1:{port}/"), "-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("slapd starts (scripts/test installs it)");
        let slapd = Slapd { port, dir, child };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return slapd;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("slapd did not listen on {port}");
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// `[directory]` for this server: StartTLS, the test CA, the service account.
    pub fn configure(&self, s: &mut Settings) {
        let d = &mut s.directory;
        d.url = format!("ldap://127.0.0.1:{}", self.port);
        d.starttls = true;
        d.ca_file = Some(self.ca_file());
        d.bind_dn = SERVICE_DN.into();
        d.bind_password = Some(SERVICE_PASSWORD.into());
        d.base_dn = BASE.into();
        d.sync_interval_minutes = 0;
    }

    /// Changes the directory as its administrator would (`ldapmodify` over StartTLS).
    pub fn modify(&self, ldif: &str) {
        let file = self.dir.path().join("change.ldif");
        std::fs::write(&file, ldif).unwrap();
        run(Command::new("ldapmodify")
            .env("LDAPTLS_CACERT", self.ca_file())
            .args(["-ZZ", "-x", "-H", &format!("ldap://127.0.0.1:{}", self.port), "-D", ROOT_DN, "-w", ROOT_PASSWORD])
            .arg("-f")
            .arg(&file));
    }
}
