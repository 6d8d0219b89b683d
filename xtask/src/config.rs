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
pub const DEFAULT_PASSWORD: &str = "fleet-dev-password";
pub const DEFAULT_DATABASE: &str = "fleet_dev";
/// Long enough for a container to initialise its volume on a slow laptop.
const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Settings {
    pub database_url: Option<String>,
    pub user: String,
    pub password: String,
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
    pub fn load(root: &Path) -> Result<Settings> {
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
            password: get("POSTGRES_PASSWORD").unwrap_or_else(|| DEFAULT_PASSWORD.to_owned()),
            database: get("POSTGRES_DB").unwrap_or_else(|| DEFAULT_DATABASE.to_owned()),
            port,
            backend: get("XTASK_DB_BACKEND"),
            image: get("POSTGRES_IMAGE"),
            compose_project: get("COMPOSE_PROJECT_NAME"),
            ready_timeout,
        };
        secrets::register(&settings.password);
        Ok(settings)
    }
}

/// `.env` as Docker Compose reads it, by dotenvy (already in sqlx's dependency graph): quotes,
/// `export`, inline `# comments`, `${VAR}` from earlier lines or the environment.
fn parse_dotenv(path: &Path) -> Result<HashMap<String, String>> {
    let mut vars = HashMap::new();
    for item in dotenvy::from_path_iter(path)? {
        let (key, value) = item.map_err(|err| anyhow::anyhow!("{err}"))?;
        vars.insert(key, value);
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

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
