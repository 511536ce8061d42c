//! What an Admin API application may do: Duo's permission sets, as an administrator ticks them
//! when adding the application. Stored as a comma-separated list of the names below.

/// One of the four grants an Admin API application can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminPermission {
    /// Authentication, administrator and telephony logs.
    ReadLog,
    /// Users, phones, tokens, groups and the account summary.
    ReadResource,
    /// Creating, changing and deleting those; activation links and verification pushes.
    WriteResource,
    /// Bypass codes (Twofold's temporary passcodes): enough to sign in as anyone, so apart.
    GrantBypass,
}

impl AdminPermission {
    pub const ALL: [AdminPermission; 4] = [
        AdminPermission::ReadLog,
        AdminPermission::ReadResource,
        AdminPermission::WriteResource,
        AdminPermission::GrantBypass,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AdminPermission::ReadLog => "read_log",
            AdminPermission::ReadResource => "read_resource",
            AdminPermission::WriteResource => "write_resource",
            AdminPermission::GrantBypass => "grant_bypass",
        }
    }

    /// The words the console shows beside the box.
    pub fn label(self) -> &'static str {
        match self {
            AdminPermission::ReadLog => "Grant read log",
            AdminPermission::ReadResource => "Grant read resource",
            AdminPermission::WriteResource => "Grant write resource",
            AdminPermission::GrantBypass => "Grant bypass codes",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name.trim())
    }
}

/// The permissions an application holds (unknown names in the stored text are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminPermissions(Vec<AdminPermission>);

impl AdminPermissions {
    pub fn parse(stored: &str) -> Self {
        let mut held = Vec::new();
        for p in stored.split(',').filter_map(AdminPermission::parse) {
            if !held.contains(&p) {
                held.push(p);
            }
        }
        Self(held)
    }

    pub fn from_list(list: &[AdminPermission]) -> Self {
        Self::parse(&list.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(","))
    }

    pub fn has(&self, p: AdminPermission) -> bool {
        self.0.contains(&p)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The stored form, in a fixed order.
    pub fn as_stored(&self) -> String {
        AdminPermission::ALL.iter().filter(|p| self.has(**p)).map(|p| p.as_str()).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_round_trip_in_a_fixed_order() {
        let p = AdminPermissions::parse("grant_bypass, read_log,nonsense,read_log");
        assert!(p.has(AdminPermission::ReadLog));
        assert!(p.has(AdminPermission::GrantBypass));
        assert!(!p.has(AdminPermission::WriteResource));
        assert_eq!(p.as_stored(), "read_log,grant_bypass");
        assert!(AdminPermissions::parse("").is_empty());
        assert_eq!(AdminPermissions::from_list(&AdminPermission::ALL).as_stored().split(',').count(), 4);
    }
}
