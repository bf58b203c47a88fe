//! Numbered schema migrations, one list per database. A store records the number of the last one it
//! applied (SQLite in `user_version`, PostgreSQL in `schema_migrations`) and applies the rest at open, in
//! order, each in its own transaction. A store whose number is past this build's list is refused: an older
//! binary must not write to a schema it does not know.

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migration {
    ($dir:literal, $version:literal, $name:literal) => {
        Migration { version: $version, name: $name, sql: include_str!(concat!("../migrations/", $dir, "/", $name, ".sql")) }
    };
}

pub const SQLITE: &[Migration] = &[
    migration!("sqlite", 1, "0001_initial"),
    migration!("sqlite", 2, "0002_shared_state"),
    migration!("sqlite", 3, "0003_record_columns"),
    migration!("sqlite", 4, "0004_versioning_states"),
    migration!("sqlite", 5, "0005_s3_access"),
    migration!("sqlite", 6, "0006_lifecycle_uploads_usage"),
];

pub const POSTGRES: &[Migration] = &[
    migration!("postgres", 1, "0001_initial"),
    migration!("postgres", 2, "0002_record_columns"),
    migration!("postgres", 3, "0003_versioning_states"),
    migration!("postgres", 4, "0004_s3_access"),
    migration!("postgres", 5, "0005_lifecycle_uploads_usage"),
];

/// The migrations a store at `current` still needs, or an error when it is newer than this build.
pub fn pending(list: &'static [Migration], current: i64) -> Result<&'static [Migration], String> {
    let latest = list.last().map_or(0, |m| m.version);
    if current > latest {
        return Err(format!("the metadata schema is at version {current}, newer than this build knows ({latest}): run a newer stowage"));
    }
    Ok(&list[list.iter().take_while(|m| m.version <= current).count()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_numbered_one_by_one() {
        for list in [SQLITE, POSTGRES] {
            for (i, m) in list.iter().enumerate() {
                assert_eq!(m.version, i as i64 + 1, "{}", m.name);
                assert!(m.name.starts_with(&format!("{:04}_", m.version)));
            }
        }
        assert_eq!(pending(SQLITE, 0).map(<[_]>::len), Ok(SQLITE.len()));
        assert_eq!(pending(SQLITE, 1).map(|p| p[0].version), Ok(2));
        assert!(pending(SQLITE, 99).is_err());
    }
}
