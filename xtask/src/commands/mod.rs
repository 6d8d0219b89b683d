//! One module per command; each owns its flags (`Args`) and a `run` method.

pub mod db_check;
pub mod db_migrate;
pub mod db_new;
pub mod db_prepare;
pub mod db_psql;
pub mod db_reset;
pub mod db_server;
pub mod db_status;
pub mod db_url;
pub mod test;

use std::process::ExitCode;

use anyhow::Result;
use xshell::Shell;

use crate::cli::Command;
use crate::project::Project;

pub async fn run(command: Command, sh: &Shell, project: &Project) -> Result<ExitCode> {
    let success = |()| ExitCode::SUCCESS;
    match command {
        Command::DbReset(args) => args.run(sh, project).await.map(success),
        Command::DbMigrate(args) => args.run(sh, project).await.map(success),
        Command::DbNew(args) => args.run(project).map(success),
        Command::DbCheck(args) => args.run(sh, project).await,
        Command::DbPsql(args) => args.run(sh, project).await,
        Command::DbStatus(args) => args.run(sh, project).await,
        Command::DbUp(args) => args.run(sh, project).await.map(success),
        Command::DbDown(args) => args.run(sh, project).await.map(success),
        Command::DbUrl(args) => args.run(sh, project).await.map(success),
        Command::DbPrepare(args) => args.run(sh, project).await,
        Command::Test(args) => args.run(sh, project).await.map(success),
        Command::Bench(args) => args.run(sh, project).await.map(success),
    }
}
