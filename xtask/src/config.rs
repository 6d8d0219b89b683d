//! Settings from the environment, falling back to the checkout's `.env` file.
//!
//! The environment wins, so `DATABASE_URL=… cargo xtask db-migrate` overrides `.env` for one
//! command. The same `.env` feeds `docker-compose.yml`, so both backends agree on user, password,
//! database name and port.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::secrets;

pub const DEFAULT_USER: &str = "fleet";
pub const DEFAULT_DATABASE: &str = "fleet_dev";
/// Long enough for a container to initialise its volume on a slow laptop.
const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Settings {
    pub database_url: Option<String>,
    pub user: String,
    /// `POSTGRES_PASSWORD`, when set; see [`Settings::password`].
    explicit_password: Option<String>,
    state_dir: std::path::PathBuf,
    pub database: String,
    /// `POSTGRES_PORT`: the host port of the dev server, when the user pins one.
    pub port: Option<u16>,
    /// `XTASK_DB_BACKEND`: which backend `auto` resolves to, when the user pins one.
    pub backend: Option<String>,
    /// `POSTGRES_IMAGE`: the Docker backend's image instead of the one docker-compose.yml pins.
    pub image: Option<String>,
    /// `COMPOSE_PROJECT_NAME`: the Docker backend's project instead of the per-checkout one.
    pub compose_project: Option<String>,
    /// `XTASK_READY_TIMEOUT`: how long to wait for a starting server, in seconds.
    pub ready_timeout: Duration,
}

impl Settings {
    /// The settings of the checkout at `root`, whose own state is in `state_dir`.
    pub fn load(root: &Path, state_dir: &Path) -> Result<Settings> {
        let dotenv_path = root.join(".env");
        let dotenv = if dotenv_path.exists() {
            parse_dotenv(&dotenv_path).with_context(|| format!("read {}", dotenv_path.display()))?
        } else {
            HashMap::new()
        };
        let get = |key: &str| -> Option<String> {
            std::env::var(key).ok().or_else(|| dotenv.get(key).cloned()).filter(|v| !v.is_empty())
        };
        let port = match get("POSTGRES_PORT") {
            None => None,
            Some(text) => match text.parse::<u16>() {
                Ok(port) if port > 0 => Some(port),
                _ => {
                    bail!("POSTGRES_PORT is {text:?}; set it to a port number between 1 and 65535")
                }
            },
        };
        let ready_timeout = match get("XTASK_READY_TIMEOUT") {
            None => DEFAULT_READY_TIMEOUT,
            Some(text) => match text.parse::<u64>() {
                Ok(secs) if secs > 0 => Duration::from_secs(secs),
                _ => bail!("XTASK_READY_TIMEOUT is {text:?}; set it to a number of seconds"),
            },
        };
        let settings = Settings {
            database_url: get("DATABASE_URL"),
            user: get("POSTGRES_USER").unwrap_or_else(|| DEFAULT_USER.to_owned()),
            explicit_password: get("POSTGRES_PASSWORD"),
            state_dir: state_dir.to_owned(),
            database: get("POSTGRES_DB").unwrap_or_else(|| DEFAULT_DATABASE.to_owned()),
            port,
            backend: get("XTASK_DB_BACKEND"),
            image: get("POSTGRES_IMAGE"),
            compose_project: get("COMPOSE_PROJECT_NAME"),
            ready_timeout,
        };
        if let Some(password) = &settings.explicit_password {
            secrets::register(password);
        }
        secrets::register_public(&settings.user);
        secrets::register_public(&settings.database);
        Ok(settings)
    }
}

impl Settings {
    /// The dev server's password (docker and native): `POSTGRES_PASSWORD`, else the checkout's
    /// own (see `checkout_password`). Asked only by the backends that start a server, so a
    /// `DATABASE_URL` checkout never gets a password file.
    pub fn password(&self) -> Result<String> {
        let password = match &self.explicit_password {
            Some(password) => password.clone(),
            None => checkout_password(&self.state_dir)?,
        };
        secrets::register(&password);
        Ok(password)
    }
}

/// True while a server this checkout made with the generated password is there: a local
/// cluster's data, or a container's records (`docker-server` while it runs, `compose-project`
/// while its volume is kept). A purge removes its backend's.
fn a_server_was_made(state_dir: &Path) -> bool {
    ["postgres/data/PG_VERSION", "native-home", "native-port", "docker-server", "compose-project"]
        .iter()
        .any(|f| state_dir.join(f).exists())
}

/// The dev server's password when `POSTGRES_PASSWORD` is not set: generated for this checkout
/// when its server is first made, and kept in `.xtask/password`, readable by its owner only. No
/// well-known password guards a superuser that every local account can reach over 127.0.0.1.
fn checkout_password(state_dir: &Path) -> Result<String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = state_dir.join("password");
    // A server this checkout made (and `db-down --purge` did not remove) was made with the
    // password in that file (a purge removes these, and the password with them).
    let server_made = a_server_was_made(state_dir);
    let what = match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => "is empty",
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            return Err(err).with_context(|| format!("read {}", path.display()));
        }
        Err(_) => "is missing",
    };
    // Emptied or deleted (an editor, a script, a clean-up): the server still has the password it
    // was made with, and nothing here knows it any more. The file is the problem; the data is not.
    if server_made {
        bail!(
            "{} {what}: it held the password this checkout's dev server was made with. Put the password back \
             in it (from a backup, or a tool that saved it), or set POSTGRES_PASSWORD to it in .env; only if it is \
             lost, `cargo xtask db-down --purge` deletes the server and its data, and the next command makes a new \
             one",
            path.display()
        );
    }
    if what == "is empty" {
        // Emptied before any server was made with it: a new one is generated.
        std::fs::remove_file(&path).with_context(|| format!("remove the empty {}", path.display()))?;
    }
    let password = secrets::unguessable(18).context("generate the dev server's password")?;
    std::fs::create_dir_all(state_dir).with_context(|| format!("create {}", state_dir.display()))?;
    // Written whole under a name of this process's own, then linked into place: a link never
    // replaces an existing file, so of two commands started at the same moment exactly one
    // password wins, and the other reads that one complete (never a half-written or empty file).
    static DRAFTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let draft_number = DRAFTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let draft = state_dir.join(format!("password.{}-{draft_number}.new", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&draft)
        .and_then(|mut file| writeln!(file, "{password}"));
    let linked = written.and_then(|()| std::fs::hard_link(&draft, &path));
    let _ = std::fs::remove_file(&draft);
    match linked {
        Ok(()) => Ok(password),
        // Another command, started at the same moment, linked its own first: use that one.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?.trim().to_owned())
        }
        Err(err) => Err(err).with_context(|| format!("create {}", path.display())),
    }
}

/// Forgets the generated password once the server made with it is gone (`db-down --purge`):
/// the next server gets a new one, and a missing file then means nothing was lost.
pub fn forget_generated_password(state_dir: &Path) -> Result<()> {
    // The other backend's server (a container beside a local cluster, say) was made with it too.
    if a_server_was_made(state_dir) {
        return Ok(());
    }
    let path = state_dir.join("password");
    match std::fs::remove_file(&path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(err).with_context(|| format!("remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// `.env` as Docker Compose reads it, by dotenvy (already in sqlx's dependency graph): quotes,
/// `export`, inline `# comments`, `${VAR}` from earlier lines or the environment.
fn parse_dotenv(path: &Path) -> Result<HashMap<String, String>> {
    let mut vars = HashMap::new();
    for item in dotenvy::from_path_iter(path)? {
        let (key, value) = item.map_err(|err| match err {
            // The line may hold a password: say where it is, never what it says.
            dotenvy::Error::LineParse(line, index) => {
                // What dotenvy quotes may run over several lines (an unclosed quote): the line
                // number is where it starts.
                let text = std::fs::read_to_string(path).unwrap_or_default();
                let start = text.find(line.as_str()).map(|at| text[..at].matches('\n').count() + 1);
                let place = match start {
                    Some(number) => format!("line {number}"),
                    None => "a line".to_owned(),
                };
                anyhow::anyhow!(
                    "{place} cannot be read at character {}: a value with spaces, `#` or `$` must be quoted, and `$` \
                     inside double quotes starts a ${{VARIABLE}} (single quotes keep it as it is); is a quote unclosed?",
                    index + 1
                )
            }
            other => anyhow::anyhow!("{other}"),
        })?;
        vars.insert(key, value);
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_purge_keeps_the_password_another_backends_server_was_made_with() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("password"), "secret\n").unwrap();
        // The local cluster is purged; a container made with the same password is still there.
        std::fs::write(dir.path().join("docker-server"), "").unwrap();
        super::forget_generated_password(dir.path()).unwrap();
        assert!(dir.path().join("password").exists(), "forgotten while the container needs it");
        // Stopped (db-down), its volume still holds data made with it.
        std::fs::remove_file(dir.path().join("docker-server")).unwrap();
        std::fs::write(dir.path().join("compose-project"), "").unwrap();
        super::forget_generated_password(dir.path()).unwrap();
        assert!(dir.path().join("password").exists(), "forgotten while the volume needs it");
        // Its purge removes the record: nothing is left that knows the password.
        std::fs::remove_file(dir.path().join("compose-project")).unwrap();
        super::forget_generated_password(dir.path()).unwrap();
        assert!(!dir.path().join("password").exists());
    }

    use super::*;

    #[test]
    fn commands_started_at_once_agree_on_one_complete_password() {
        for _ in 0..20 {
            let state = tempfile::tempdir().unwrap();
            let passwords: Vec<String> = std::thread::scope(|scope| {
                let racers: Vec<_> = (0..8).map(|_| scope.spawn(|| checkout_password(state.path()).unwrap())).collect();
                racers.into_iter().map(|racer| racer.join().unwrap()).collect()
            });
            assert!(passwords[0].len() >= 18, "an incomplete password was read: {passwords:?}");
            assert!(passwords.iter().all(|p| *p == passwords[0]), "two passwords for one checkout: {passwords:?}");
            let left: Vec<_> = std::fs::read_dir(state.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(left, ["password"], "drafts were left behind");
        }
    }

    #[test]
    fn a_line_that_cannot_be_read_is_named_without_its_text() {
        let err = parse("POSTGRES_USER=fleet\nPOSTGRES_PASSWORD=\"p@ss w:rd#1$x\"\n").unwrap_err();
        let message = format!("{err:#}");
        assert!(message.contains("line 2"), "{message}");
        assert!(!message.contains("rd#1"), "the password was shown: {message}");
        // An unclosed quote runs to the end of the file: still named by the line it starts on.
        let err = parse("POSTGRES_USER=fleet\nPOSTGRES_PASSWORD=\"a$b c\n").unwrap_err();
        let message = format!("{err:#}");
        assert!(message.contains("line 2"), "{message}");
        assert!(!message.contains("a$b"), "the password was shown: {message}");
    }

    fn parse(text: &str) -> Result<HashMap<String, String>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, text).unwrap();
        parse_dotenv(&path)
    }

    #[test]
    fn reads_dotenv_as_compose_does() {
        let vars = parse(
            "# c\nA=1\nexport B=\"two words\"\n\nC='x=y'\nPOSTGRES_DB=fleet_dev # my dev db\nD=${A}-x\nE=\"a # not a comment\"\n",
        )
        .unwrap();
        assert_eq!(vars["A"], "1");
        assert_eq!(vars["B"], "two words");
        assert_eq!(vars["C"], "x=y");
        assert_eq!(vars["POSTGRES_DB"], "fleet_dev");
        assert_eq!(vars["D"], "1-x");
        assert_eq!(vars["E"], "a # not a comment");
        assert!(parse("oops").is_err());
    }
}
