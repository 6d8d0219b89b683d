//! The one handle every command works with: the dev database of a running server.
//!
//! A `Database` knows the dev database's address and keeps the sessions a command opened: one in
//! the dev database (when it exists) and one in the maintenance database (to create, drop or
//! rename databases), each opened when first asked for and then reused, since every connection
//! costs a handshake. The backends in `server/` hand one out once their server answers, with the
//! session that proved it open already, so the common command costs one connection.

use anyhow::{Context, Result};
use sqlx::{Connection, PgConnection};

use super::connect::{self, UNKNOWN_DATABASE};
use super::{StatementTimeout, Target, admin};

pub struct Database {
    target: Target,
    /// The session in the dev database; `None` until opened, or when the database is missing.
    dev: Option<PgConnection>,
    /// The session in the maintenance database, once a command needed one.
    maintenance: Option<PgConnection>,
}

impl Database {
    /// Connects to the dev database, or to the maintenance database when the dev database does
    /// not exist yet: either proves the server answers, and is kept for the command.
    pub async fn open(target: Target) -> Result<Database> {
        match connect::attempt(&target).await {
            Ok(dev) => Ok(Database { target, dev: Some(dev), maintenance: None }),
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some(UNKNOWN_DATABASE) => {
                let maintenance = connect::connect(&target.maintenance()).await?;
                Ok(Database { target, dev: None, maintenance: Some(maintenance) })
            }
            Err(err) => Err(connect::explain(err, &target)),
        }
    }

    /// The dev database's address.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Proves the password opens the server too. The xtask may have come in through the local
    /// cluster's private socket, where the server takes the operating system's word; whatever it
    /// hands the address to (the tests, a developer's tools) logs in with the password.
    pub async fn check_password_login(&self) -> Result<()> {
        if self.target.has_socket() {
            connect::connect(&self.target.over_tcp().maintenance()).await?.close().await.ok();
        }
        Ok(())
    }

    /// The dev database's name.
    pub fn name(&self) -> &str {
        self.target.database()
    }

    /// The session in the dev database, opened if needed.
    pub async fn dev(&mut self) -> Result<&mut PgConnection> {
        let dev = match self.dev.take() {
            Some(dev) => dev,
            None => connect::connect(&self.target).await?,
        };
        Ok(self.dev.insert(dev))
    }

    /// The session in the maintenance database, opened if needed.
    pub async fn maintenance(&mut self) -> Result<&mut PgConnection> {
        Ok(self.maintenance_and_dev().await?.0)
    }

    /// Whichever session is open (the dev one first): for questions about the server itself.
    pub async fn any_session(&mut self) -> Result<&mut PgConnection> {
        match self.dev {
            Some(ref mut dev) => Ok(dev),
            None => self.maintenance().await,
        }
    }

    /// Opens the maintenance session while `work` runs on the dev session (when one is open),
    /// so a command that needs both pays for one round trip, not two. Returns `work`'s result,
    /// or `None` when there is no dev session.
    pub async fn open_maintenance_alongside<T>(
        &mut self,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
    ) -> Result<Option<T>> {
        let Some(dev) = self.dev.as_mut() else {
            self.maintenance().await?;
            return Ok(None);
        };
        if self.maintenance.is_some() {
            return work(dev).await.map(Some);
        }
        let maintenance = self.target.maintenance();
        let (opened, done) = tokio::join!(connect::connect(&maintenance), work(dev));
        self.maintenance = Some(opened?);
        done.map(Some)
    }

    /// Both sessions at once, for work that overlaps: the maintenance session (opened if needed)
    /// and the dev session when one is open.
    pub async fn maintenance_and_dev(&mut self) -> Result<(&mut PgConnection, Option<&mut PgConnection>)> {
        let maintenance = match self.maintenance.take() {
            Some(maintenance) => maintenance,
            None => connect::connect(&self.target.maintenance()).await?,
        };
        Ok((self.maintenance.insert(maintenance), self.dev.as_mut()))
    }

    /// The dev session when it is open, without connecting; `None` when the dev database did not
    /// exist when the handle was made (or was closed since).
    pub fn open_dev(&mut self) -> Option<&mut PgConnection> {
        self.dev.as_mut()
    }

    /// Creates the dev database when it does not exist. Returns true when it created it.
    pub async fn create_if_missing(&mut self) -> Result<bool> {
        if self.dev.is_some() {
            return Ok(false);
        }
        let name = self.target.database().to_owned();
        let created = admin::create_if_missing(self.maintenance().await?, &name).await?;
        self.dev().await?;
        Ok(created)
    }

    /// Makes every statement of the dev session time out after `timeout`. The session is opened
    /// anew with the setting when one is open already.
    pub async fn set_statement_timeout(&mut self, timeout: Option<&StatementTimeout>) {
        if timeout.is_none() {
            return;
        }
        self.target = self.target.with_statement_timeout(timeout);
        self.close_dev().await;
    }

    /// True when the dev session is still open (a reset's swap ends every session in the dev
    /// database, including ours).
    pub async fn dev_session_is_alive(&mut self) -> bool {
        match self.dev.as_mut() {
            Some(dev) => dev.ping().await.is_ok(),
            None => false,
        }
    }

    /// Closes the dev session, so the dev database can be dropped or renamed.
    pub async fn close_dev(&mut self) {
        if let Some(dev) = self.dev.take() {
            dev.close().await.ok();
        }
    }

    /// Opens the dev session anew when the dev database exists (after another command replaced
    /// it), or leaves it closed. Returns true when it is open.
    pub async fn reopen_dev(&mut self) -> Result<bool> {
        self.close_dev().await;
        let name = self.target.database().to_owned();
        if !admin::exists(self.maintenance().await?, &name).await? {
            return Ok(false);
        }
        self.dev().await.with_context(|| format!("reconnect to {name}"))?;
        Ok(true)
    }
}
