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
        let dotenv = match std::fs::read_to_string(&dotenv_path) {
            Ok(text) => parse_dotenv(&text).with_context(|| format!("read {}", dotenv_path.display()))?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(err) => return Err(err).with_context(|| format!("read {}", dotenv_path.display())),
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

/// The subset of the `.env` format that Docker Compose also reads: `KEY=value` lines, `#`
/// comments, an optional `export ` prefix, and values optionally wrapped in matching quotes.
fn parse_dotenv(text: &str) -> Result<HashMap<String, String>> {
    let mut vars = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            bail!("line {}: expected KEY=value", index + 1);
        };
        let value = value.trim();
        let value =
            ['"', '\''].iter().find_map(|&q| value.strip_prefix(q).and_then(|v| v.strip_suffix(q))).unwrap_or(value);
        vars.insert(key.trim().to_owned(), value.to_owned());
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compose_style_dotenv() {
        let vars = parse_dotenv("# c\nA=1\nexport B = \"two words\"\n\nC='x=y'\n").unwrap();
        assert_eq!(vars["A"], "1");
        assert_eq!(vars["B"], "two words");
        assert_eq!(vars["C"], "x=y");
        assert!(parse_dotenv("oops").is_err());
    }
}
