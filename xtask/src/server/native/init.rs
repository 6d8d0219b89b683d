//! Making a new cluster: `initdb` into its private folder, then the server's settings and who
//! may connect, and how.

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use super::account::Write;
use super::layout::Layout;
use crate::child_process::run_captured;
use crate::output::note;

/// Appended to `postgresql.conf` by `initdb`'s caller. Durability is traded for speed: this is a
/// disposable development server, and an OS crash at worst means `db-down --purge` and a reset.
const SERVER_CONFIG: &str = "
# Added by cargo xtask: a private development server for one checkout.
listen_addresses = '127.0.0.1'
# The private socket's folder is given when the server starts (pg_ctl start -o -k).
unix_socket_directories = ''
unix_socket_permissions = 0700
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
";

/// Makes the cluster in `layout`'s folder, with `user` as its superuser.
pub fn init(sh: &Shell, layout: &Layout, user: &str, password: &str) -> Result<()> {
    std::fs::create_dir_all(&layout.home).with_context(|| format!("create {}", layout.home.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&layout.home, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("make {} private", layout.home.display()))?;
    }
    layout.run_as.give(sh, &layout.home)?;
    // The password reaches initdb through a file in the cluster's private folder, written as
    // its owner: never a command line, which `ps` shows to every account.
    let password_file = layout.home.join("initial-password");
    layout.run_as.write(sh, &password_file, &format!("{password}\n"), Write::Replace)?;
    let _dir = sh.push_dir(&layout.home);
    let locale = if cfg!(target_os = "linux") { "C.UTF-8" } else { "en_US.UTF-8" };
    let result = run_captured(
        layout
            .pg(sh, "initdb")
            .arg("--pgdata")
            .arg(layout.data())
            .args(["--username", user, "--auth=scram-sha-256", "--encoding=UTF8"])
            // No fsync of the new files, as the server runs with `fsync = off`: it halves
            // initdb's time (the CLI tests make a cluster each).
            .arg("--no-sync")
            .arg(format!("--locale={locale}"))
            .arg(format!("--pwfile={}", password_file.display())),
        "create the local cluster (initdb)",
    );
    std::fs::remove_file(&password_file).ok();
    result?;
    layout.run_as.write(sh, &layout.data().join("postgresql.conf"), SERVER_CONFIG, Write::Append)?;
    write_access_rules(sh, layout, user)?;
    note!("Created a local PostgreSQL cluster in {} (user {user})", layout.home.display());
    Ok(())
}

/// Who may connect, and how: whoever created the cluster through the private socket, without
/// a password; anyone else over TCP with the password. (These files replace initdb's, which
/// ask every connection for the password.)
fn write_access_rules(sh: &Shell, layout: &Layout, user: &str) -> Result<()> {
    let os_user = cmd!(sh, "id -un").quiet().read().context("find out which user this is (id -un)")?;
    let hba = layout.data().join("pg_hba.conf");
    let rules = "# Written by cargo xtask. The socket's folder admits only the cluster's owner; the xtask\n\
                 # connects there (peer authentication, see pg_ident.conf). TCP asks for the password.\n\
                 local all all peer map=xtask\n\
                 host all all 127.0.0.1/32 scram-sha-256\n";
    layout.run_as.write(sh, &hba, rules, Write::Replace)?;
    let ident = layout.data().join("pg_ident.conf");
    let map = format!(
        "# Written by cargo xtask: the account that created the cluster connects as its user.\nxtask {} {}\n",
        quote_conf(os_user.trim()),
        quote_conf(user)
    );
    layout.run_as.write(sh, &ident, &map, Write::Replace)
}

/// A name as `pg_ident.conf` reads it: in double quotes, with quotes doubled.
fn quote_conf(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_ident_names_are_quoted() {
        assert_eq!(quote_conf("fleet"), "\"fleet\"");
        assert_eq!(quote_conf("odd\"name"), "\"odd\"\"name\"");
    }
}
