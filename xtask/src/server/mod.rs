//! Where the PostgreSQL server comes from, behind one small interface.
//!
//! Every backend answers the same four questions: what it is (`describe`), how to get a running
//! server and the dev database's address (`up`), how to stop it keeping its data (`down`), and how
//! to delete its data (`purge`). Commands never ask which backend they got.

mod choice;
mod docker;
mod fast_path;
mod native;
mod port;
mod url;

use anyhow::{Result, bail};
use clap::ValueEnum;
use xshell::Shell;

use crate::cli::{Backend, ServerArgs};
use crate::config::Settings;
use crate::output::note;
use crate::postgres::{Database, Target};
use crate::project::Project;

/// Whether a command may pull the Docker image when it is missing. Only commands that build may
/// (and only their `auto` choice is remembered): `db-status` and `db-down` never pull.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    IfMissing,
    Never,
}

/// Whether a destructive command may run against a server on another machine (`--allow-remote`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Remote {
    Refused,
    Allowed,
}

pub enum Server {
    // Boxed: a parsed URL is several times the size of the other backends.
    Url(Box<url::UrlServer>),
    Docker(docker::ComposeServer),
    Native(native::NativeCluster),
}

impl Server {
    /// The backend the flags, `XTASK_DB_BACKEND` and `DATABASE_URL` ask for. `auto` takes
    /// `DATABASE_URL` when set, else the backend this checkout chose before (remembered in
    /// `.xtask/backend`), else decides once: Docker when it can run the image, else the local
    /// cluster, saying in one line why it fell back. Only a command that builds (`Pull::IfMissing`)
    /// may pull the image, and only its choice is remembered: `db-status` or `db-down` never pull.
    pub fn select(args: &ServerArgs, sh: &Shell, project: &Project, pull: Pull) -> Result<Server> {
        let settings = Settings::load(&project.root, &project.state_dir())?;
        let choice = match (args.backend, &settings.backend) {
            (Some(choice), _) => choice,
            (None, Some(name)) => match Backend::from_str(name, true) {
                Ok(choice) => choice,
                Err(_) => bail!("XTASK_DB_BACKEND is {name:?}; use auto, docker, native or url"),
            },
            (None, None) => Backend::Auto,
        };
        let remembered = choice::read(project);
        // A DATABASE_URL naming this checkout's own server (what `db-url` prints, set for
        // rust-analyzer, sqlx-cli or plain `cargo test`) is no reason to leave that server.
        let database_url = settings.database_url.as_deref().filter(|url| {
            !(choice == Backend::Auto && remembered.is_some_and(|backend| names_own_server(project, backend, url)))
        });
        Ok(match (choice, database_url) {
            (Backend::Url | Backend::Auto, Some(database_url)) => {
                Server::Url(Box::new(url::UrlServer::new(database_url)?))
            }
            (Backend::Url, None) => {
                bail!("the url backend needs DATABASE_URL: set it in the environment or in .env")
            }
            (Backend::Docker, _) => {
                choice::switch(project, remembered, Backend::Docker)?;
                Server::Docker(docker::ComposeServer::new(project, &settings, pull)?)
            }
            (Backend::Native, _) => {
                choice::switch(project, remembered, Backend::Native)?;
                Server::Native(native::NativeCluster::new(project, &settings)?)
            }
            (Backend::Auto, None) => match remembered {
                Some(Backend::Docker) => Server::Docker(docker::ComposeServer::new(project, &settings, pull)?),
                Some(_) => Server::Native(native::NativeCluster::new(project, &settings)?),
                None => {
                    let server = Self::decide(sh, project, &settings, pull)?;
                    if pull == Pull::IfMissing {
                        choice::remember(
                            project,
                            if matches!(server, Server::Docker(_)) { Backend::Docker } else { Backend::Native },
                        )?;
                    }
                    server
                }
            },
        })
    }

    /// `auto`'s first decision for a checkout.
    fn decide(sh: &Shell, project: &Project, settings: &Settings, pull: Pull) -> Result<Server> {
        let no_docker = match docker::ComposeServer::new(project, settings, pull) {
            Ok(docker) => match docker.unavailable_because(sh) {
                None => return Ok(Server::Docker(docker)),
                Some(why) => why,
            },
            Err(err) => format!("{err:#}"),
        };
        let native = native::NativeCluster::new(project, settings)?;
        if let Some(no_native) = native::NativeCluster::unavailable_because(sh) {
            bail!(
                "no PostgreSQL server to use:\n  \
                 - Docker: {no_docker}\n  \
                 - local cluster: {no_native}\n  \
                 - or set DATABASE_URL (environment or .env) to a server you already have"
            );
        }
        note!("Using the local cluster: {no_docker}");
        Ok(Server::Native(native))
    }

    /// One line for messages: which server this is.
    pub fn describe(&self) -> String {
        match self {
            Server::Url(server) => server.describe(),
            Server::Docker(compose) => compose.describe(),
            Server::Native(cluster) => cluster.describe(),
        }
    }

    /// The dev database (which may not exist yet) on this server, with the session that proved
    /// the server answers. The server is found or started only when the address it had last
    /// time does not answer as the same server: the common case is one connection and no child
    /// process.
    pub async fn up(&self, sh: &Shell) -> Result<Database> {
        match self {
            Server::Url(server) => server.up().await,
            Server::Docker(compose) => compose.up(sh).await,
            Server::Native(cluster) => cluster.up(sh).await,
        }
    }

    /// Stops the server, keeping its data.
    pub fn down(&self, sh: &Shell) -> Result<()> {
        match self {
            Server::Url(server) => server.down(),
            Server::Docker(compose) => compose.down(sh),
            Server::Native(cluster) => cluster.down(sh),
        }
    }

    /// Deletes the server's data and says what it removed.
    pub async fn purge(&self, sh: &Shell, project: &Project) -> Result<()> {
        match self {
            Server::Url(server) => return server.purge().await,
            Server::Docker(compose) => compose.purge(sh)?,
            Server::Native(cluster) => cluster.purge(sh)?,
        }
        // The server made with the generated password is gone: the next one gets a new one.
        crate::config::forget_generated_password(&project.state_dir())
    }

    /// psql on the dev database of a running server: inside the container for Docker, else
    /// this machine's psql with the address in its environment (never on its command line).
    pub fn psql<'a>(&self, sh: &'a Shell, target: &Target, args: &[String]) -> Result<xshell::Cmd<'a>> {
        if let Server::Docker(compose) = self {
            return compose.psql(sh, args);
        }
        let psql = crate::postgres::install::psql(sh)?;
        let mut cmd = xshell::cmd!(sh, "{psql}").args(args);
        for (key, value) in target.libpq_env() {
            cmd = cmd.env(key, value);
        }
        Ok(cmd)
    }

    /// The dev database's address without starting anything, for the checks made before a
    /// destructive command runs.
    pub fn target_if_known(&self) -> Option<&Target> {
        match self {
            Server::Url(server) => Some(server.target()),
            Server::Docker(_) | Server::Native(_) => None,
        }
    }
}

/// True when `url` is the address of the server `backend` keeps for this checkout: a loopback
/// host and the port it remembered (`.xtask/native-port`, `.xtask/docker-port`).
fn names_own_server(project: &Project, backend: Backend, url: &str) -> bool {
    let file = match backend {
        Backend::Docker => "docker-port",
        _ => "native-port",
    };
    let Some(port) =
        std::fs::read_to_string(project.state_dir().join(file)).ok().and_then(|p| p.trim().parse::<u16>().ok())
    else {
        return false;
    };
    Target::from_url(url).is_ok_and(|target| target.is_on_this_machine() && target.port() == port)
}

/// Destructive commands refuse servers on other machines: a `DATABASE_URL` left pointing at a
/// shared or production server must not be wiped by a habit-typed `db-reset`.
pub fn refuse_remote(target: &Target, command: &str, remote: Remote) -> Result<()> {
    if remote == Remote::Refused && !target.is_on_this_machine() {
        bail!(
            "{target} is not on this machine, and `{command}` deletes data: it only runs against \
             loopback or local-socket servers unless you pass --allow-remote"
        );
    }
    Ok(())
}
