//! The key that seals webhook secrets at rest: `BUNTING_SECRET_KEY`, `BUNTING_SECRET_KEY_FILE`,
//! or, on SQLite with neither set, a key generated on first start into a file beside the
//! database. PostgreSQL without a key is refused: several instances share the database and
//! would each need the same key, so none is made up, and nothing is stored in the clear.
//! (The cipher is the store's; this module only finds the key.)

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bunting_store::{DatabaseUrl, Sealer, SecretKey};

use crate::config::SecretKeySource;

/// The sealer for the configured key, and where the key came from (for messages).
pub struct Key {
    pub sealer: Sealer,
    pub origin: String,
}

/// The key for `database`: the configured one, or the generated one of a SQLite file.
pub fn load(source: Option<&SecretKeySource>, database: &DatabaseUrl) -> anyhow::Result<Key> {
    let (key, origin) = match (source, database.sqlite_file()) {
        (Some(SecretKeySource::Key(key)), _) => (key.clone(), "BUNTING_SECRET_KEY".to_owned()),
        (Some(SecretKeySource::File(path)), _) => (
            read_file(path).context("BUNTING_SECRET_KEY_FILE")?,
            format!("BUNTING_SECRET_KEY_FILE={}", path.display()),
        ),
        (None, Some(file)) => {
            let path = beside(file);
            (generated(&path)?, format!("the key file {}", path.display()))
        }
        (None, None) if matches!(database, DatabaseUrl::Sqlite(_)) => {
            // An in-memory database dies with the process, and its secrets with it.
            (
                SecretKey::generate(),
                "a key made for this in-memory database".to_owned(),
            )
        }
        (None, None) => bail!(
            "no key to seal webhook secrets with: on PostgreSQL or MySQL Bunting neither stores them in the \
             clear nor makes up a key that every instance would need. Set BUNTING_SECRET_KEY to a \
             256-bit key in standard base64 (make one with `openssl rand -base64 32`), or \
             BUNTING_SECRET_KEY_FILE to a file holding one, the same on every instance; see \
             docs/security.md"
        ),
    };
    Ok(Key {
        sealer: Sealer::new(&key),
        origin,
    })
}

/// Reads a key file: the key in standard base64, surrounding whitespace ignored.
pub fn read_file(path: &Path) -> anyhow::Result<SecretKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    SecretKey::parse(&text).with_context(|| format!("{} does not hold a usable key", path.display()))
}

/// Where the generated key of the SQLite database `file` is kept.
fn beside(file: &str) -> PathBuf {
    PathBuf::from(format!("{file}.secret-key"))
}

/// The key in `path`, generated (readable by this user only) when the file does not exist.
fn generated(path: &Path) -> anyhow::Result<SecretKey> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == ErrorKind::AlreadyExists => return read_file(path),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot create the secret key file {}", path.display()));
        }
    };
    let key = SecretKey::generate();
    file.write_all(format!("{}\n", key.encode()).as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write the secret key file {}", path.display()))?;
    tracing::warn!(
        path = %path.display(),
        "generated the key that seals webhook secrets; keep this file with the database (a backup \
         needs both), or set BUNTING_SECRET_KEY / BUNTING_SECRET_KEY_FILE"
    );
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_file_gets_a_key_beside_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("flags.sqlite").to_string_lossy().into_owned();
        let url = DatabaseUrl::Sqlite(database.clone());
        let first = load(None, &url).unwrap();
        let path = PathBuf::from(format!("{database}.secret-key"));
        assert!(first.origin.contains(&path.display().to_string()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written.trim().len(), 44);
        let again = read_file(&path).unwrap();
        assert_eq!(again.encode(), written.trim(), "the second start reads the same key");
    }

    #[test]
    fn postgres_without_a_key_is_refused_with_how_to_set_one() {
        let url = DatabaseUrl::Postgres("postgres://u:p@127.0.0.1/db".into());
        let error = format!("{:#}", load(None, &url).err().unwrap());
        assert!(error.contains("BUNTING_SECRET_KEY"), "{error}");
        assert!(error.contains("openssl rand -base64 32"), "{error}");
        let key = SecretKeySource::Key(SecretKey::generate());
        assert_eq!(load(Some(&key), &url).unwrap().origin, "BUNTING_SECRET_KEY");
    }
}
