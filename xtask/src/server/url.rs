//! The server `DATABASE_URL` names: someone else runs it, so nothing is started or stopped, and
//! only the database named in the URL and the xtask's own databases beside it (a reset's scratch,
//! previous copy and cache templates, the kept schema build; see ARCHITECTURE.md's "what touches
//! which database") are ever created or dropped.

use anyhow::Result;

use crate::output::out;
use crate::postgres::{Database, Target, admin, beside, connect};

pub struct UrlServer {
    target: Target,
}

impl UrlServer {
    pub fn new(database_url: &str) -> Result<UrlServer> {
        Ok(UrlServer { target: Target::from_url(database_url)? })
    }

    pub fn describe(&self) -> String {
        format!("the server in DATABASE_URL ({})", self.target)
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    pub async fn up(&self) -> Result<Database> {
        Database::open(self.target.clone()).await
    }

    pub fn down(&self) -> Result<()> {
        out!("Nothing to stop: DATABASE_URL names a server this tool does not manage ({})", self.target);
        Ok(())
    }

    pub async fn purge(&self) -> Result<()> {
        let mut conn = connect::connect(&self.target.maintenance()).await?;
        let database = self.target.database();
        admin::refuse_system_database(database, "db-down --purge")?;
        if admin::exists(&mut conn, database).await? {
            admin::drop_force(&mut conn, database).await?;
            out!("Removed database {database} from {}", self.target.maintenance());
        } else {
            out!("Nothing to remove: database {database} does not exist on {}", self.target.maintenance());
        }
        let previous = beside::previous(database);
        if admin::exists(&mut conn, &previous).await? {
            admin::drop_force(&mut conn, &previous).await?;
            out!("Removed {previous}, the database the last reset replaced");
        }
        // Dropped by the db-check or db-status that built it; one is left only by an interrupted run.
        let schema_scratch = beside::schema(database);
        if admin::exists(&mut conn, &schema_scratch).await? {
            admin::drop_force(&mut conn, &schema_scratch).await?;
            out!("Removed {schema_scratch}, the schema db-check and db-status compare with");
        }
        // Dropped by the db-check that made it; one is left only by an interrupted run.
        let trace = beside::trace(database);
        if admin::exists(&mut conn, &trace).await? {
            admin::drop_force(&mut conn, &trace).await?;
            out!("Removed {trace}, left by an interrupted db-check");
        }
        let trace_base = beside::trace_base(database);
        if admin::exists(&mut conn, &trace_base).await? {
            admin::drop_force(&mut conn, &trace_base).await?;
            out!("Removed {trace_base}, the base db-check traces new migrations on");
        }
        for template in admin::drop_all_with_prefix(&mut conn, &beside::template_prefix(database)).await? {
            out!("Removed the reset cache {template}");
        }
        Ok(())
    }
}
