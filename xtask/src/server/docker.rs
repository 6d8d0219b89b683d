//! The developer's own PostgreSQL container, run by Docker Compose from `docker-compose.yml`.
//!
//! Each checkout gets its own Compose project (the folder's name plus a hash of its path, kept by
//! a moved checkout: `project_name.rs`) and its own host port, so two clones on one machine never
//! share a container or a volume. Compose v2 (`docker compose`) is used when present, else the
//! legacy `docker-compose` v1; the differences that matter (v1 has no `--wait`, names containers
//! `project_db_1` instead of `project-db-1`) are avoided by waiting ourselves and finding the
//! container by service. The named volume is mounted where the image keeps its data
//! (`layout.rs`), which moved at PostgreSQL 18.

mod layout;
mod project_name;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::{Cmd, Shell, cmd};

use super::{Pull, fast_path, port};
use crate::child_process::{read_captured, run_captured};
use crate::config::Settings;
use crate::output::{note, out};
use crate::postgres::{Database, Target, connect};
use crate::project::Project;
use project_name::ComposeProject;

const SERVICE: &str = "db";
const COMPOSE_FILE: &str = "docker-compose.yml";
/// The variable of `docker-compose.yml` that says where the named volume is mounted.
const DATA_MOUNT_VARIABLE: &str = "POSTGRES_DATA_MOUNT";

pub struct ComposeServer {
    /// Whether this command may pull a missing image.
    pull: Pull,
    root: PathBuf,
    project: ComposeProject,
    image: String,
    port_file: PathBuf,
    /// `<port> <system identifier> <project>` of the server this checkout's container runs,
    /// written once it answered: the next command connects there at once, with no docker process.
    server_file: PathBuf,
    fingerprint: u64,
    settings: ComposeSettings,
    ready_timeout: Duration,
}

struct ComposeSettings {
    user: String,
    password: String,
    database: String,
    pinned_port: Option<u16>,
}

/// Whether the checkout's volume was there before a start, with data a new container may not use.
#[derive(Clone, Copy)]
enum Volume {
    Made,
    Existing,
}

/// Which Compose tool this machine has.
#[derive(Clone, Copy)]
enum Compose {
    /// `docker compose`, the plugin.
    V2,
    /// `docker-compose`, the legacy Python tool.
    V1,
}

impl ComposeServer {
    pub fn new(project: &Project, settings: &Settings, pull: Pull) -> Result<ComposeServer> {
        Ok(ComposeServer {
            pull,
            root: project.root.clone(),
            project: ComposeProject::of(project, settings.compose_project.as_deref())?,
            image: match &settings.image {
                Some(image) => image.clone(),
                None => default_image(project)?,
            },
            port_file: project.state_dir().join("docker-port"),
            server_file: project.state_dir().join("docker-server"),
            fingerprint: project.fingerprint(),
            settings: ComposeSettings {
                user: settings.user.clone(),
                password: settings.password()?,
                database: settings.database.clone(),
                pinned_port: settings.port,
            },
            ready_timeout: settings.ready_timeout,
        })
    }

    pub fn describe(&self) -> String {
        format!("Docker Compose project {} ({})", self.project.name, self.image)
    }

    /// Why Docker can't serve this checkout right now, or `None` when it can: the engine answers
    /// and the image is here or can be pulled. `auto` falls back to the local cluster otherwise.
    pub fn unavailable_because(&self, sh: &Shell) -> Option<String> {
        if let Err(why) = engine_answers(sh) {
            return Some(why);
        }
        if let Err(why) = self.find_image(sh) {
            return Some(why);
        }
        // Last, as the legacy docker-compose takes half a second just to print its version.
        compose_tool(sh).err().map(|_| "Docker Compose is not installed".to_owned())
    }

    pub async fn up(&self, sh: &Shell) -> Result<Database> {
        self.project.follow_move(&self.root);
        // The common case: the server this checkout's container ran last time answers at the
        // same address and is the same cluster (its system identifier): one connection, no
        // docker or compose process.
        let lock = self.server_file.with_extension("lock");
        fast_path::reach_or_start(
            &lock,
            "the container",
            async || self.remembered().await,
            async || {
                let database = self.start(sh).await?;
                self.remember(database).await
            },
        )
        .await
    }

    /// The image is here, or (when this command may pull) is pulled now; else why not, in a few
    /// words.
    fn find_image(&self, sh: &Shell) -> Result<(), String> {
        let image = &self.image;
        if cmd!(sh, "docker image inspect {image}").quiet().ignore_stdout().ignore_stderr().run().is_ok() {
            return Ok(());
        }
        if self.pull == Pull::Never {
            return Err(format!("the image {image} is not here"));
        }
        // Shown, not quiet: a first pull can take a while, and the user should see why.
        if cmd!(sh, "docker pull {image}").ignore_stderr().run().is_err() {
            return Err(format!("the image {image} is not here and cannot be pulled (offline?)"));
        }
        Ok(())
    }

    /// The image is here, or is pulled now (when this command may pull); else an error that says
    /// what to do.
    fn have_image(&self, sh: &Shell) -> Result<()> {
        self.find_image(sh).map_err(|why| match self.pull {
            Pull::Never => anyhow::anyhow!(
                "{why}, and this command never pulls one: `cargo xtask db-up` pulls it and starts the \
                 container, or set POSTGRES_IMAGE in .env to an image you have"
            ),
            Pull::IfMissing => anyhow::anyhow!(
                "{why}: pull or build it (`docker pull {}`), set POSTGRES_IMAGE in .env to an image you have, or \
                 use the local cluster (`--backend native`, with PostgreSQL's server binaries installed)",
                self.image
            ),
        })
    }

    async fn remembered(&self) -> Option<Database> {
        let text = std::fs::read_to_string(&self.server_file).ok()?;
        let mut fields = text.split_whitespace();
        let port: u16 = fields.next()?.parse().ok()?;
        let (identifier, project) = (fields.next()?, fields.next()?);
        if project != self.project.name || self.settings.pinned_port.is_some_and(|pinned| pinned != port) {
            return None;
        }
        let target = self.target(port);
        let mut database = Database::open(target).await.ok()?;
        (system_identifier(database.any_session().await.ok()?).await.ok()? == identifier).then_some(database)
    }

    async fn remember(&self, mut database: Database) -> Result<Database> {
        let identifier = system_identifier(database.any_session().await?).await?;
        let port = database.target().port();
        if let Some(dir) = self.server_file.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        }
        self.project.record(&self.root)?;
        std::fs::write(&self.server_file, format!("{port} {identifier} {}\n", self.project.name))
            .with_context(|| format!("write {}", self.server_file.display()))?;
        Ok(database)
    }

    fn target(&self, port: u16) -> Target {
        Target::new("127.0.0.1", port, &self.settings.user, &self.settings.password, &self.settings.database)
    }

    /// Starts (or finds) the container through Compose and waits until it answers.
    async fn start(&self, sh: &Shell) -> Result<Database> {
        engine_answers(sh).map_err(anyhow::Error::msg)?;
        let compose = compose_tool(sh)?;
        let mut reused = self.running_container(sh, compose)?.map(|id| (id, 0));
        if let Some((_, port)) = reused.as_mut() {
            *port = self.published_port(sh, compose)?;
        }
        // POSTGRES_PORT changed while the container ran: Compose recreates it on the new port
        // (the data stays in the volume).
        let mut moving_from = None;
        if let (Some((_, published)), Some(pinned)) = (&reused, self.settings.pinned_port)
            && *published != pinned
        {
            moving_from = Some(*published);
            reused = None;
        }
        let (port, volume) = match &reused {
            Some((id, port)) => {
                note!("Reusing container {} of {} on 127.0.0.1:{port}", short(id), self.project.name);
                (*port, Volume::Existing)
            }
            None => {
                self.have_image(sh)?;
                let port = port::choose(self.settings.pinned_port, &self.port_file, self.fingerprint)?;
                if let Some(published) = moving_from {
                    note!(
                        "POSTGRES_PORT is now {port}, and the container of {} listens on {published}: recreating it \
                         on {port} (its data stays in the volume)",
                        self.project.name
                    );
                }
                let layout = layout::of_image(sh, &self.image)?;
                if !layout.elsewhere.is_empty() {
                    note!(
                        "The image {} declares volumes besides its data ({}): Docker gives each container an \
                         anonymous volume there, which db-down leaves behind",
                        self.image,
                        layout.elsewhere.join(", ")
                    );
                }
                let volume = format!("{}_db-data", self.project.name);
                let had_volume =
                    cmd!(sh, "docker volume inspect {volume}").quiet().ignore_stdout().ignore_stderr().run().is_ok();
                // Only `up` makes a container, so only `up` needs the mount point; the other
                // Compose commands take the file's default, which changes nothing they do.
                let up = self
                    .compose(sh, compose, port)
                    .env(DATA_MOUNT_VARIABLE, &layout.mount)
                    .args(["up", "--detach", SERVICE]);
                let what = format!(
                    "start the {SERVICE} container of {} (a port or container name in use by something else is the \
                     usual cause)",
                    self.project.name
                );
                if let Err(err) = run_captured(up, &what) {
                    // A failed start leaves nothing behind: the container and network it made,
                    // and the volume when it made that too.
                    let mut down = self.compose(sh, compose, port).arg("down");
                    if !had_volume {
                        down = down.arg("--volumes");
                    }
                    down.quiet().ignore_stdout().ignore_stderr().run().ok();
                    return Err(err);
                }
                (port, if had_volume { Volume::Existing } else { Volume::Made })
            }
        };
        let target = self.target(port);
        // A running container usually answers at once; only a starting one needs the wait.
        let answered = match reused {
            Some(_) => Database::open(target.clone()).await.ok(),
            None => None,
        };
        let database = match answered {
            Some(database) => database,
            None => {
                self.wait_until_ready(sh, compose, &target, volume).await?;
                Database::open(target).await?
            }
        };
        Ok(database)
    }

    pub fn down(&self, sh: &Shell) -> Result<()> {
        engine_answers(sh).map_err(anyhow::Error::msg)?;
        std::fs::remove_file(&self.server_file).ok();
        let compose = compose_tool(sh)?;
        let volume = format!("{}_db-data", self.project.name);
        let stranded = match self.container(sh, compose)? {
            Some(id) => layout::stranded_data(sh, &id, &volume)?,
            None => None,
        };
        run_captured(self.compose(sh, compose, self.remembered_port()).arg("down"), "stop the container")?;
        let Some(stranded) = stranded else {
            out!("Stopped the {} container; its data stays in the volume {volume}", self.project.name);
            return Ok(());
        };
        // Made by an earlier xtask for an image of 17 or older: the next container mounts the
        // named volume where the data belongs, so say where the data is and how to move it there.
        let anonymous = &stranded.volume;
        out!(
            "Stopped the {} container; its data was not in the volume {volume} but in the anonymous volume \
             {anonymous} (an earlier xtask put it there for this image's layout), which Docker keeps",
            self.project.name
        );
        match stranded.belongs_at {
            Some(path) => note!(
                "To keep that data, move it into {volume} before the next db-up: docker run --rm --entrypoint cp \
                 --volume {anonymous}:/from --volume {volume}:/to {} -a /from/. /to{path}/",
                self.image
            ),
            None => {
                note!("To keep that data, copy it out of the volume {anonymous} (docker volume inspect {anonymous})")
            }
        }
        Ok(())
    }

    pub fn purge(&self, sh: &Shell) -> Result<()> {
        engine_answers(sh).map_err(anyhow::Error::msg)?;
        std::fs::remove_file(&self.server_file).ok();
        let compose = compose_tool(sh)?;
        let volume = format!("{}_db-data", self.project.name);
        let had_volume =
            cmd!(sh, "docker volume inspect {volume}").quiet().ignore_stdout().ignore_stderr().run().is_ok();
        run_captured(
            self.compose(sh, compose, self.remembered_port()).args(["down", "--volumes"]),
            "remove the container and its volume",
        )?;
        self.project.forget(&self.root);
        if had_volume {
            out!("Removed the {} container and its volume {volume} (every database in it)", self.project.name);
        } else {
            out!("Nothing to remove: there is no volume {volume}");
        }
        Ok(())
    }

    /// psql inside the running container, as its own superuser through its local socket: no
    /// password anywhere. `-T` when stdin is not a terminal (a script piped in).
    pub fn psql<'a>(&self, sh: &'a Shell, args: &[String]) -> Result<Cmd<'a>> {
        let compose = compose_tool(sh)?;
        let mut exec = self.compose(sh, compose, self.remembered_port()).arg("exec");
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            exec = exec.arg("-T");
        }
        let (user, database) = (&self.settings.user, &self.settings.database);
        Ok(exec.args([SERVICE, "psql", "--username", user, "--dbname", database]).args(args))
    }

    /// A `docker compose …` command for this checkout's project, with the settings in its
    /// environment (never on its command line, which xshell echoes and `ps` shows).
    fn compose<'a>(&self, sh: &'a Shell, compose: Compose, port: u16) -> Cmd<'a> {
        let file = self.root.join(COMPOSE_FILE);
        let project = &self.project.name;
        let base = match compose {
            Compose::V2 => cmd!(sh, "docker compose"),
            Compose::V1 => cmd!(sh, "docker-compose"),
        };
        base.arg("--file")
            .arg(file)
            .args(["--project-name", project])
            .env("POSTGRES_IMAGE", &self.image)
            .env("POSTGRES_USER", &self.settings.user)
            .env("POSTGRES_PASSWORD", &self.settings.password)
            .env("POSTGRES_DB", &self.settings.database)
            .env("POSTGRES_PORT", port.to_string())
    }

    fn remembered_port(&self) -> u16 {
        let remembered = std::fs::read_to_string(&self.port_file).ok().and_then(|t| t.trim().parse().ok());
        self.settings.pinned_port.or(remembered).unwrap_or(5432)
    }

    /// The id of the project's running `db` container, if there is one.
    fn running_container(&self, sh: &Shell, compose: Compose) -> Result<Option<String>> {
        let Some(id) = self.container(sh, compose)? else { return Ok(None) };
        Ok(is_running(sh, &id)?.then_some(id))
    }

    /// The id of the project's `db` container, running or stopped.
    fn container(&self, sh: &Shell, compose: Compose) -> Result<Option<String>> {
        let mut ps = self.compose(sh, compose, self.remembered_port()).args(["ps", "--quiet"]);
        // v2 lists running containers only unless asked (v1 lists stopped ones too, and with
        // `--all` also `compose run`'s): a container that stopped at once must be found for its log.
        if let Compose::V2 = compose {
            ps = ps.arg("--all");
        }
        let ps = ps.arg(SERVICE);
        let ids = read_captured(ps, &format!("ask Compose for the {SERVICE} container of {}", self.project.name))?;
        Ok(ids.lines().map(str::trim).find(|id| !id.is_empty()).map(str::to_owned))
    }

    fn published_port(&self, sh: &Shell, compose: Compose) -> Result<u16> {
        let address = read_captured(
            self.compose(sh, compose, self.remembered_port()).args(["port", SERVICE, "5432"]),
            &format!("ask Compose for the port of {}", self.project.name),
        )?;
        address
            .trim()
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .with_context(|| format!("read the published port of the {SERVICE} container from {address:?}"))
    }

    /// Waits until the server accepts connections through the published port. The container
    /// may still be initialising its volume, so refused and reset connections are retried; a
    /// container that exits, or a deadline that passes, ends the wait with its last log lines.
    async fn wait_until_ready(&self, sh: &Shell, compose: Compose, target: &Target, volume: Volume) -> Result<()> {
        let deadline = Instant::now() + self.ready_timeout;
        loop {
            let last_error = match connect::wait_until_ready(&target.maintenance(), Duration::from_secs(2)).await {
                Ok(_) => return Ok(()),
                Err(err) if connect::is_refused_login(&err) => {
                    return Err(err.context(format!(
                        "the Docker volume {}_db-data keeps the user and password it was created with, and \
                             they are not POSTGRES_USER and the password now (.env, or .xtask/password): put the \
                             old ones back, or `cargo xtask db-down --purge` to make the volume anew (its data \
                             is lost)",
                        self.project.name
                    )));
                }
                Err(err) => err,
            };
            let container = self.container(sh, compose)?;
            let exited = match &container {
                Some(id) => !is_running(sh, id)?,
                None => true,
            };
            if exited || Instant::now() >= deadline {
                let why = if exited {
                    "the container stopped".to_owned()
                } else {
                    format!("the server did not accept connections within {}s", self.ready_timeout.as_secs())
                };
                let logs = match &container {
                    Some(id) => cmd!(sh, "docker logs --tail 20 {id}").quiet().ignore_status().output().map_or_else(
                        |_| String::new(),
                        |out| {
                            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
                        },
                    ),
                    None => String::new(),
                };
                let more = match compose {
                    Compose::V2 => format!("docker compose --project-name {} logs {SERVICE}", self.project.name),
                    Compose::V1 => format!("docker-compose --project-name {} logs {SERVICE}", self.project.name),
                };
                // The image refuses a volume made for another major or layout (initdb finds the
                // folder not empty, 18 finds older data, a server finds files of another major):
                // the log says which, this says what to do about it.
                let other_image = match (exited, volume) {
                    (true, Volume::Existing) => format!(
                        "\n  the volume {}_db-data was made before: if POSTGRES_IMAGE changed since (another major, \
                         or 17-and-older's layout against 18's), its data is not for this image; put the image back, \
                         or `cargo xtask db-down --purge` to make the volume anew (its data is lost)",
                        self.project.name
                    ),
                    _ => String::new(),
                };
                bail!(
                    "{why} ({last_error:#})\n  last lines of the container's log:\n    {}\n  more: {more}{other_image}",
                    logs.trim().lines().collect::<Vec<_>>().join("\n    ")
                );
            }
        }
    }
}

/// The cluster's identity, fixed when initdb made it: a port taken over by another server (another
/// checkout's container) answers with another one.
async fn system_identifier(conn: &mut sqlx::PgConnection) -> Result<String> {
    sqlx::query_scalar("SELECT system_identifier::text FROM pg_control_system()")
        .fetch_one(conn)
        .await
        .context("read the server's system identifier")
}

fn engine_answers(sh: &Shell) -> Result<(), String> {
    let format = "{{.ServerVersion}}";
    match cmd!(sh, "docker info --format {format}").quiet().ignore_status().output() {
        Err(_) => Err("Docker is not installed (no `docker` command)".to_owned()),
        Ok(out) if !out.status.success() => {
            let message = String::from_utf8_lossy(&out.stderr);
            let first = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("no answer").trim();
            Err(format!("no Docker engine answers ({first}); start Docker, or use --backend native"))
        }
        Ok(_) => Ok(()),
    }
}

fn is_running(sh: &Shell, container: &str) -> Result<bool> {
    let format = "{{.State.Running}}";
    Ok(read_captured(
        cmd!(sh, "docker inspect --format {format} {container}"),
        "ask Docker whether the container runs",
    )? == "true")
}

fn compose_tool(sh: &Shell) -> Result<Compose> {
    if cmd!(sh, "docker compose version").quiet().ignore_stdout().ignore_stderr().run().is_ok() {
        return Ok(Compose::V2);
    }
    if cmd!(sh, "docker-compose version").quiet().ignore_stdout().ignore_stderr().run().is_ok() {
        return Ok(Compose::V1);
    }
    bail!("Docker Compose is not installed: install the compose plugin (`docker compose`) or docker-compose")
}

/// The image `docker-compose.yml` names by default (`${POSTGRES_IMAGE:-postgres:18}`), read from
/// the file so the version is pinned in one place.
fn default_image(project: &Project) -> Result<String> {
    let path = project.root.join(COMPOSE_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let marker = "${POSTGRES_IMAGE:-";
    let start = text.find(marker).map(|i| i + marker.len());
    match start.and_then(|start| text[start..].find('}').map(|end| &text[start..start + end])) {
        Some(image) => Ok(image.to_owned()),
        None => {
            bail!("{COMPOSE_FILE} has no `image: ${{POSTGRES_IMAGE:-<default>}}` line to take the default image from")
        }
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}
