//! Reading Flagr's connection strings (`FLAGR_DB_DBCONNECTIONSTR`) the way Flagr's Go drivers
//! read them, so a Flagr deployment's setting works unchanged: a SQLite path or `file:` URI, a
//! PostgreSQL URL or libpq `key=value` string, a Go MySQL DSN. Errors name the part that cannot
//! be understood and never repeat a password.

use std::fmt;
use std::net::Ipv6Addr;

use bunting_core::secret::Secret;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::DatabaseUrl;

/// A connection string that cannot be understood. The message names the part, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DsnError(String);

/// What a URL part keeps as it is: letters, digits and RFC 3986's other unreserved characters.
const URL_PART: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn encode(part: &str) -> String {
    utf8_percent_encode(part, URL_PART).to_string()
}

fn fail<T>(message: impl Into<String>) -> Result<T, DsnError> {
    Err(DsnError(message.into()))
}

/// A SQLite location as go-sqlite3 takes it: a path, `:memory:`, or a `file:` URI; Bunting's
/// own `sqlite:` prefix too. Query parameters (`?_busy_timeout=…`, `?cache=shared`) are
/// dropped, as Bunting sets its own pragmas, except `mode=memory`.
pub fn sqlite(connection: &str) -> Result<DatabaseUrl, DsnError> {
    let (location, query) = connection.split_once('?').unwrap_or((connection, ""));
    let path = ["sqlite://", "sqlite:", "file:"]
        .iter()
        .find_map(|prefix| location.strip_prefix(prefix))
        .unwrap_or(location);
    let in_memory =
        url::form_urlencoded::parse(query.as_bytes()).any(|(key, value)| key == "mode" && value == "memory");
    if path == ":memory:" || in_memory {
        return Ok(DatabaseUrl::Sqlite(":memory:".to_owned()));
    }
    if path.is_empty() {
        return fail("the SQLite connection string names no file");
    }
    Ok(DatabaseUrl::Sqlite(path.to_owned()))
}

/// The libpq settings Bunting passes on to PostgreSQL (those sqlx understands).
const POSTGRES_SETTINGS: [&str; 13] = [
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "options",
    "connect_timeout",
];

/// sqlx's own URL parameter names, which Bunting's URLs have always accepted (and
/// `options[name]=value` for one server setting).
const SQLX_POSTGRES_PARAMETERS: [&str; 6] = [
    "ssl-mode",
    "ssl-root-cert",
    "ssl-ca",
    "ssl-cert",
    "ssl-key",
    "statement-cache-capacity",
];

const SSL_MODES: [&str; 6] = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

/// A PostgreSQL location: a `postgres://` or `postgresql://` URL, or libpq's `key=value` form
/// (`host=db port=5432 user=flagr password='a b' dbname=flagr sslmode=disable`).
pub fn postgres(connection: &str) -> Result<DatabaseUrl, DsnError> {
    let connection = connection.trim();
    if connection.starts_with("postgres://") || connection.starts_with("postgresql://") {
        check_postgres_url(connection)?;
        return Ok(DatabaseUrl::Postgres(connection.to_owned()));
    }
    if !connection.contains('=') {
        return fail("a PostgreSQL connection string is a postgres:// URL or key=value settings (host=… dbname=…)");
    }
    let settings = key_values(connection)?;
    Ok(DatabaseUrl::Postgres(postgres_url(&settings)?))
}

fn check_postgres_url(connection: &str) -> Result<(), DsnError> {
    // The parser's messages ("invalid port number", "invalid IPv6 address") never quote the URL.
    let url =
        url::Url::parse(connection).or_else(|error| fail(format!("the PostgreSQL URL cannot be read: {error}")))?;
    for (key, value) in url.query_pairs() {
        let sqlx_parameter = SQLX_POSTGRES_PARAMETERS.contains(&&*key) || key.starts_with("options[");
        if !POSTGRES_SETTINGS.contains(&&*key) && !sqlx_parameter {
            return fail(format!(
                "in the PostgreSQL URL, \"{key}\" is not a connection setting; use {}",
                POSTGRES_SETTINGS.join(", ")
            ));
        }
        check_postgres_setting(&key, &value, "in the PostgreSQL URL")?;
    }
    Ok(())
}

/// Checks the settings whose values are not free text, before any connection is tried.
fn check_postgres_setting(key: &str, value: &str, form: &str) -> Result<(), DsnError> {
    match key {
        "sslmode" | "ssl-mode" if !SSL_MODES.contains(&value) => fail(format!(
            "{form}, sslmode \"{value}\" is not one of {}",
            SSL_MODES.join(", ")
        )),
        "port" if value.parse::<u16>().is_err() => fail(format!("{form}, port \"{value}\" is not a port number")),
        "connect_timeout" if value.parse::<u64>().is_err() => fail(format!(
            "{form}, connect_timeout \"{value}\" is not a number of seconds"
        )),
        "host" if value.contains(',') => fail(format!(
            "{form}, host \"{value}\" names several hosts; Bunting connects to one"
        )),
        _ => Ok(()),
    }
}

/// Splits libpq's `key = value` form: values may be single-quoted, and a backslash takes the
/// next character literally, in and out of quotes.
fn key_values(text: &str) -> Result<Vec<(String, String)>, DsnError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            // The word may be a stray password: name its place, not the word.
            return fail(match pairs.last() {
                Some((previous, _)) => format!("in key=value form, the setting after \"{previous}\" has no \"=\""),
                None => "in key=value form, the first setting has no \"=\"".to_owned(),
            });
        }
        if !POSTGRES_SETTINGS.contains(&key.as_str()) {
            return fail(format!(
                "in key=value form, \"{key}\" is not a connection setting; use {}",
                POSTGRES_SETTINGS.join(", ")
            ));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => {
                        return fail(format!(
                            "in key=value form, the value of \"{key}\" misses its closing quote"
                        ));
                    }
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        check_postgres_setting(&key, &value, "in key=value form")?;
        pairs.retain(|(seen, _)| *seen != key);
        pairs.push((key, value));
    }
}

/// The URL sqlx connects with for libpq settings: user, password, host, port and database in
/// their places (percent-encoded), the rest as parameters.
fn postgres_url(settings: &[(String, String)]) -> Result<String, DsnError> {
    let setting = |name: &str| {
        settings
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let mut url = "postgres://".to_owned();
    let user = setting("user").map(encode);
    let password = setting("password").map(encode);
    if user.is_some() || password.is_some() {
        url.push_str(&user.unwrap_or_default());
        if let Some(password) = password {
            url.push(':');
            url.push_str(&password);
        }
        url.push('@');
    }
    // libpq's default host is a local socket; sqlx's is localhost (or PGHOST).
    let host = setting("host").unwrap_or("localhost");
    if host.starts_with('/') {
        // sqlx reads a percent-encoded host that starts with `/` as a Unix socket directory.
        url.push_str(&encode(host));
    } else if host.parse::<Ipv6Addr>().is_ok() {
        url.push_str(&format!("[{host}]"));
    } else if !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        url.push_str(host);
    } else {
        return fail(format!(
            "in key=value form, host \"{host}\" is neither a host name, an IP address nor a socket directory"
        ));
    }
    if let Some(port) = setting("port") {
        url.push_str(&format!(":{port}"));
    }
    if let Some(database) = setting("dbname") {
        url.push('/');
        url.push_str(&encode(database));
    }
    // connect_timeout is accepted as Flagr's driver accepts it; the pool has its own timeout.
    let parameters: Vec<String> = settings
        .iter()
        .filter(|(key, _)| {
            !matches!(
                key.as_str(),
                "user" | "password" | "host" | "port" | "dbname" | "connect_timeout"
            )
        })
        .map(|(key, value)| format!("{key}={}", encode(value)))
        .collect();
    if !parameters.is_empty() {
        url.push('?');
        url.push_str(&parameters.join("&"));
    }
    Ok(url)
}

/// A Go MySQL driver DSN, `[user[:password]@][net[(addr)]]/dbname[?param=value&…]`, understood.
#[derive(Clone, PartialEq, Eq)]
pub struct MysqlDsn {
    pub user: String,
    pub password: Option<Secret>,
    pub address: MysqlAddress,
    pub database: String,
    /// sqlx's `ssl-mode` for the driver's `tls` parameter.
    pub ssl_mode: Option<&'static str>,
    /// The first of the `charset` parameter's character sets.
    pub charset: Option<String>,
    pub collation: Option<String>,
    /// Parameters the Go driver does not know, which it sets as session variables.
    pub session_variables: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MysqlAddress {
    Tcp { host: String, port: u16 },
    Unix(String),
}

impl MysqlDsn {
    /// The `mysql://` URL sqlx connects with; it holds the password.
    pub fn url(&self) -> String {
        let mut url = format!("mysql://{}", encode(&self.user));
        if let Some(password) = &self.password {
            url.push(':');
            url.push_str(&encode(password.expose()));
        }
        let mut parameters = Vec::new();
        match &self.address {
            MysqlAddress::Tcp { host, port } if host.contains(':') => url.push_str(&format!("@[{host}]:{port}")),
            MysqlAddress::Tcp { host, port } => url.push_str(&format!("@{host}:{port}")),
            MysqlAddress::Unix(path) => {
                url.push_str("@localhost");
                parameters.push(format!("socket={}", encode(path)));
            }
        }
        url.push('/');
        url.push_str(&encode(&self.database));
        parameters.extend(self.ssl_mode.map(|mode| format!("ssl-mode={mode}")));
        parameters.extend(
            self.charset
                .as_deref()
                .map(|charset| format!("charset={}", encode(charset))),
        );
        parameters.extend(
            self.collation
                .as_deref()
                .map(|collation| format!("collation={}", encode(collation))),
        );
        if !parameters.is_empty() {
            url.push('?');
            url.push_str(&parameters.join("&"));
        }
        url
    }
}

/// Without the user and password, like [`DatabaseUrl`].
impl fmt::Display for MysqlDsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.address {
            MysqlAddress::Tcp { host, port } => write!(f, "MySQL database {host}:{port}/{}", self.database),
            MysqlAddress::Unix(path) => write!(f, "MySQL database {path}/{}", self.database),
        }
    }
}

impl fmt::Debug for MysqlDsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MysqlDsn({self})")
    }
}

/// The Go driver's boolean parameters; any value but its true and false spellings is refused.
const MYSQL_BOOLEANS: [&str; 13] = [
    "allowAllFiles",
    "allowCleartextPasswords",
    "allowFallbackToPlaintext",
    "allowNativePasswords",
    "allowOldPasswords",
    "checkConnLiveness",
    "clientFoundRows",
    "columnsWithAlias",
    "compress",
    "interpolateParams",
    "multiStatements",
    "parseTime",
    "rejectReadOnly",
];

/// The Go driver's parameters that take a Go duration (`5s`, `1m30s`, `500ms`).
const MYSQL_DURATIONS: [&str; 3] = ["timeout", "readTimeout", "writeTimeout"];

/// The Go driver's other parameters: accepted, and left to the driver's defaults here.
const MYSQL_OTHERS: [&str; 4] = ["loc", "maxAllowedPacket", "serverPubKey", "connectionAttributes"];

/// Reads a Go MySQL DSN as the Go driver does: the database name follows the last `/`, the user
/// and password precede the last `@` before it.
pub fn mysql(connection: &str) -> Result<MysqlDsn, DsnError> {
    let Some((head, tail)) = connection.rsplit_once('/') else {
        return fail("the MySQL DSN has no \"/\" before the database name ([user[:password]@][net[(addr)]]/dbname)");
    };
    let (credentials, location) = match head.rsplit_once('@') {
        Some((credentials, location)) => (Some(credentials), location),
        None => (None, head),
    };
    let (user, password) = match credentials {
        Some(credentials) => match credentials.split_once(':') {
            Some((user, password)) => (user, Some(Secret::new(password))),
            None => (credentials, None),
        },
        None => ("", None),
    };
    let address = mysql_address(location)?;
    let (database, query) = tail.split_once('?').unwrap_or((tail, ""));
    let database = percent_decode_str(database)
        .decode_utf8()
        .or_else(|_| fail("the MySQL DSN's database name is not UTF-8 once percent-decoded"))?
        .into_owned();
    let mut dsn = MysqlDsn {
        user: user.to_owned(),
        password,
        address,
        database,
        ssl_mode: None,
        charset: None,
        collation: None,
        session_variables: Vec::new(),
    };
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        mysql_parameter(&mut dsn, &key, &value)?;
    }
    Ok(dsn)
}

/// `net(addr)`: tcp (the default, to 127.0.0.1:3306) with `host[:port]`, or unix with a path.
fn mysql_address(location: &str) -> Result<MysqlAddress, DsnError> {
    let (net, address) = match location.split_once('(') {
        Some((net, rest)) => match rest.strip_suffix(')') {
            Some(address) => (net, Some(address)),
            None => {
                return fail(format!(
                    "the MySQL DSN's address \"{location}\" misses its closing parenthesis"
                ));
            }
        },
        None => (location, None),
    };
    match net {
        "" | "tcp" | "tcp4" | "tcp6" => mysql_tcp_address(address.unwrap_or("127.0.0.1:3306")),
        "unix" => Ok(MysqlAddress::Unix(address.unwrap_or("/tmp/mysql.sock").to_owned())),
        // A word with other characters may be a password whose "@" is missing: not repeated.
        other if other.chars().all(|c| c.is_ascii_alphanumeric()) => {
            fail(format!("the MySQL DSN's network \"{other}\" is not tcp or unix"))
        }
        _ => fail("the MySQL DSN's network, before the address in parentheses, is not tcp or unix"),
    }
}

fn mysql_tcp_address(address: &str) -> Result<MysqlAddress, DsnError> {
    // `[::1]:3306`, `host:3306`, or a host alone (port 3306), as Go's net.SplitHostPort reads it.
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        match rest.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, port)) => match port.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => {
                    return fail(format!(
                        "the MySQL DSN's address \"{address}\" has text after \"]\" that is not :port"
                    ));
                }
            },
            None => {
                return fail(format!(
                    "the MySQL DSN's address \"{address}\" misses its closing \"]\""
                ));
            }
        }
    } else {
        match address.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => {
                return fail(format!(
                    "the MySQL DSN's address \"{address}\" is an IPv6 address without brackets; write [{address}]:3306"
                ));
            }
            Some((host, port)) => (host, Some(port)),
            None => (address, None),
        }
    };
    let port = match port {
        None => 3306,
        Some(port) => port
            .parse()
            .or_else(|_| fail(format!("the MySQL DSN's port \"{port}\" is not a port number")))?,
    };
    if host.is_empty() {
        return fail(format!("the MySQL DSN's address \"{address}\" names no host"));
    }
    Ok(MysqlAddress::Tcp {
        host: host.to_owned(),
        port,
    })
}

fn mysql_parameter(dsn: &mut MysqlDsn, key: &str, value: &str) -> Result<(), DsnError> {
    let bad = |expected: &str| fail(format!("the MySQL DSN's parameter {key}=\"{value}\" is not {expected}"));
    match key {
        "tls" => {
            dsn.ssl_mode = Some(match value {
                "true" | "1" | "TRUE" | "True" => "VERIFY_IDENTITY",
                "skip-verify" => "REQUIRED",
                "preferred" => "PREFERRED",
                "false" | "0" | "FALSE" | "False" => "DISABLED",
                _ => return bad("true, false, skip-verify or preferred"),
            })
        }
        "charset" => dsn.charset = value.split(',').next().map(str::to_owned),
        "collation" => dsn.collation = Some(value.to_owned()),
        _ if MYSQL_BOOLEANS.contains(&key) => {
            if !matches!(
                value,
                "1" | "true" | "TRUE" | "True" | "0" | "false" | "FALSE" | "False"
            ) {
                return bad("true or false");
            }
        }
        _ if MYSQL_DURATIONS.contains(&key) => {
            if !is_go_duration(value) {
                return bad("a duration such as 5s, 500ms or 1m30s");
            }
        }
        _ if MYSQL_OTHERS.contains(&key) => {}
        // Set as `SET name = value` on every connection: the name must be a variable's name.
        _ if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            dsn.session_variables.push((key.to_owned(), value.to_owned()));
        }
        _ => {
            return fail(format!(
                "the MySQL DSN's parameter {key:?} is not a session variable name"
            ));
        }
    }
    Ok(())
}

/// Go's `time.ParseDuration`: `0`, or numbers (with an optional fraction) each followed by a
/// unit, `ns`, `us`, `µs`, `ms`, `s`, `m` or `h`.
fn is_go_duration(text: &str) -> bool {
    if text == "0" {
        return true;
    }
    let mut rest = text;
    while !rest.is_empty() {
        let number = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.').len();
        if number == 0 {
            return false;
        }
        rest = &rest[number..];
        let Some(unit) = ["ns", "us", "µs", "ms", "s", "m", "h"]
            .into_iter()
            .find(|unit| rest.starts_with(unit))
        else {
            return false;
        };
        rest = &rest[unit.len()..];
    }
    !text.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn postgres_url_of(connection: &str) -> String {
        match postgres(connection).unwrap() {
            DatabaseUrl::Postgres(url) => url,
            other => panic!("{other:?}"),
        }
    }

    fn error(result: Result<impl fmt::Debug, DsnError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn sqlite_takes_paths_file_uris_and_memory() {
        for (connection, path) in [
            ("flagr.sqlite", "flagr.sqlite"),
            ("/data/demo_sqlite3.db", "/data/demo_sqlite3.db"),
            ("file:flagr.sqlite?cache=shared&_busy_timeout=5000", "flagr.sqlite"),
            ("file:/var/lib/flagr.db", "/var/lib/flagr.db"),
            ("flagr.sqlite?_foreign_keys=1", "flagr.sqlite"),
            ("sqlite:///tmp/x.db", "/tmp/x.db"),
            (":memory:", ":memory:"),
            ("file::memory:?cache=shared", ":memory:"),
            ("file:test.db?mode=memory", ":memory:"),
        ] {
            assert_eq!(
                sqlite(connection),
                Ok(DatabaseUrl::Sqlite(path.to_owned())),
                "{connection}"
            );
        }
        assert!(error(sqlite("file:?cache=shared")).contains("names no file"));
    }

    #[test]
    fn postgres_urls_pass_through_checked() {
        for url in [
            "postgres://u:p@host:5432/flagr?sslmode=disable",
            "postgresql://host/flagr",
            "postgres://u@127.0.0.1:5432/db?statement-cache-capacity=10&connect_timeout=5",
            "postgres://h/db?options[search_path]=flags",
        ] {
            assert_eq!(postgres_url_of(url), url);
        }
        assert!(error(postgres("postgres://u@h:99999/db")).contains("invalid port number"));
        let unknown = error(postgres("postgres://u:s3cret@h/db?sslmod=disable"));
        assert!(unknown.contains("\"sslmod\" is not a connection setting"), "{unknown}");
        assert!(!unknown.contains("s3cret"));
        assert!(error(postgres("postgres://h/db?sslmode=on")).contains("sslmode \"on\""));
    }

    #[test]
    fn postgres_key_values_become_a_url() {
        assert_eq!(
            postgres_url_of("host=db.internal port=5433 user=flagr password=s3cret dbname=flagr sslmode=disable"),
            "postgres://flagr:s3cret@db.internal:5433/flagr?sslmode=disable"
        );
        assert_eq!(
            postgres_url_of(r"user = flagr password = 'it\'s a p@ss/word' dbname=my\ db"),
            "postgres://flagr:it%27s%20a%20p%40ss%2Fword@localhost/my%20db"
        );
        assert_eq!(
            postgres_url_of("host=/var/run/postgresql dbname=flagr connect_timeout=10"),
            "postgres://%2Fvar%2Frun%2Fpostgresql/flagr"
        );
        assert_eq!(postgres_url_of("host=::1 password=''"), "postgres://:@[::1]");
        assert_eq!(
            postgres_url_of("host=h application_name=bunting host=h2"),
            "postgres://h2?application_name=bunting"
        );
    }

    #[test]
    fn postgres_key_value_errors_name_the_part() {
        let cases = [
            (
                "host=h sslmod=disable",
                "in key=value form, \"sslmod\" is not a connection setting",
            ),
            (
                "host=h password='s3cret",
                "the value of \"password\" misses its closing quote",
            ),
            ("host=h s3cret", "the setting after \"host\" has no \"=\""),
            ("port=fifty", "port \"fifty\" is not a port number"),
            ("host=a,b", "names several hosts"),
            ("host=h/x", "host \"h/x\" is neither"),
            ("flagr.sqlite", "a postgres:// URL or key=value"),
        ];
        for (connection, message) in cases {
            let error = error(postgres(connection));
            assert!(error.contains(message), "{connection}: {error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }

    #[test]
    fn mysql_dsns_read_as_the_go_driver_reads_them() {
        let dsn = mysql("root:@tcp(host:3306)/flagr?parseTime=true").unwrap();
        assert_eq!(dsn.user, "root");
        assert_eq!(dsn.password, Some(Secret::new("")));
        assert_eq!(
            dsn.address,
            MysqlAddress::Tcp {
                host: "host".into(),
                port: 3306
            }
        );
        assert_eq!(dsn.database, "flagr");
        assert_eq!(dsn.url(), "mysql://root:@host:3306/flagr");

        let dsn = mysql("u:p@ss:w@rd@tcp([::1]:3307)/my%20db?charset=utf8mb4,utf8&tls=skip-verify&loc=Local&timeout=1m30s&sql_mode=ANSI").unwrap();
        assert_eq!(dsn.password, Some(Secret::new("p@ss:w@rd")));
        assert_eq!(dsn.database, "my db");
        assert_eq!(dsn.session_variables, [("sql_mode".to_owned(), "ANSI".to_owned())]);
        assert_eq!(
            dsn.url(),
            "mysql://u:p%40ss%3Aw%40rd@[::1]:3307/my%20db?ssl-mode=REQUIRED&charset=utf8mb4"
        );
        assert_eq!(dsn.to_string(), "MySQL database ::1:3307/my db");
        assert!(!format!("{dsn:?}").contains("p@ss"));

        let dsn = mysql("flagr@unix(/run/mysqld/mysqld.sock)/flagr").unwrap();
        assert_eq!(dsn.address, MysqlAddress::Unix("/run/mysqld/mysqld.sock".into()));
        assert_eq!(
            dsn.url(),
            "mysql://flagr@localhost/flagr?socket=%2Frun%2Fmysqld%2Fmysqld.sock"
        );

        let dsn = mysql("/flagr").unwrap();
        assert_eq!(
            dsn.address,
            MysqlAddress::Tcp {
                host: "127.0.0.1".into(),
                port: 3306
            }
        );
        assert_eq!(mysql("tcp(db)/f").unwrap().url(), "mysql://@db:3306/f");
    }

    #[test]
    fn mysql_errors_name_the_part() {
        let cases = [
            (
                "root:s3cret@tcp(host/flagr",
                "address \"tcp(host\" misses its closing parenthesis",
            ),
            ("root:s3cret@tcp(host:3306)", "has no \"/\" before the database name"),
            ("root:s3cret@tpc(host)/flagr", "network \"tpc\" is not tcp or unix"),
            ("root:s3crettcp(host)/flagr", "network, before the address"),
            ("root:s3cret@tcp(host:33o6)/flagr", "port \"33o6\" is not a port number"),
            ("root:s3cret@tcp(::1)/flagr", "IPv6 address without brackets"),
            (
                "root:s3cret@tcp(h)/flagr?parseTime=yes",
                "parseTime=\"yes\" is not true or false",
            ),
            ("root:s3cret@tcp(h)/flagr?timeout=5", "timeout=\"5\" is not a duration"),
            ("root:s3cret@tcp(h)/flagr?tls=custom", "tls=\"custom\""),
            (
                "root:s3cret@tcp(h)/flagr?sql_mode%3D1;DROP=x",
                "parameter \"sql_mode=1;DROP\" is not a session variable name",
            ),
        ];
        for (connection, message) in cases {
            let error = error(mysql(connection));
            assert!(error.contains(message), "{connection}: {error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }
}
