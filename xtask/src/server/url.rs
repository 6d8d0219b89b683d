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
        // What the xtask keeps beside the dev database (the trace's copy only when a db-check was
        // interrupted).
        let beside = [
            (beside::previous(database), "the database the last reset replaced"),
            (beside::schema(database), "the schema db-check and db-status compare with"),
            (beside::trace(database), "left by an interrupted db-check"),
            (beside::trace_base(database), "the base db-check traces new migrations on"),
        ];
        for (name, what) in beside {
            if admin::exists(&mut conn, &name).await? {
                admin::drop_force(&mut conn, &name).await?;
                out!("Removed {name}, {what}");
            }
        }
        for template in admin::drop_all_with_prefix(&mut conn, &beside::template_prefix(database)).await? {
            out!("Removed the reset cache {template}");
        }
        Ok(())
    }
}
