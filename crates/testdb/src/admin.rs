//! The one session per test process that creates test databases and puts them aside, on a thread
//! of its own.
//!
//! Every `#[tokio::test]` runs on a runtime of its own, which ends with the test, and a
//! connection belongs to the runtime that opened it: a session shared by the tests of a binary
//! must live on a runtime that outlives them. So this thread owns the maintenance session
//! (opened on the first request: one login per test binary, not per test) and serves the
//! tests' requests one at a time.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use tokio::sync::{mpsc, oneshot};

use crate::prepare::{self, Prepared, Spec};
use crate::server::{Server, fatal};

enum Request {
    Prepare { spec: Spec, reply: oneshot::Sender<Result<Prepared, String>> },
    Copy { template: String, reply: oneshot::Sender<Result<String, String>> },
    Trash { name: String, reply: std::sync::mpsc::Sender<Result<(), String>> },
}

fn requests() -> &'static mpsc::UnboundedSender<Request> {
    static ADMIN: OnceLock<mpsc::UnboundedSender<Request>> = OnceLock::new();
    ADMIN.get_or_init(|| {
        let (send, receive) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("testdb-admin".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                match runtime {
                    Ok(runtime) => runtime.block_on(serve(receive)),
                    Err(err) => fatal(&format!("testdb: cannot start its runtime: {err}")),
                }
            })
            .unwrap_or_else(|err| fatal(&format!("testdb: cannot start its thread: {err}")));
        send
    })
}

/// The template and shared database for `spec`, built first if missing or stale.
pub async fn prepare(spec: Spec) -> Prepared {
    let (reply, answer) = oneshot::channel();
    ask(Request::Prepare { spec, reply });
    answer.await.unwrap_or_else(|_| gone()).unwrap_or_else(|err| panic!("{err}"))
}

/// A new database copied from `template`; its name.
pub async fn copy(template: &str) -> String {
    let (reply, answer) = oneshot::channel();
    ask(Request::Copy { template: template.to_owned(), reply });
    answer.await.unwrap_or_else(|_| gone()).unwrap_or_else(|err| panic!("{err}"))
}

/// Renames the passed test's copy `name` to trash (`names::test_trash`), ending its sessions
/// first, for `cargo xtask test` or a later run to drop once this process has ended. Blocking: it
/// is called from `Drop`, and the process may end right after the last test, which would leave
/// the copy under its own name, where it reads as a failed test's.
pub fn trash(name: &str) -> Result<(), String> {
    let (reply, answer) = std::sync::mpsc::channel();
    ask(Request::Trash { name: name.to_owned(), reply });
    answer.recv().unwrap_or_else(|_| Err("testdb: its admin thread stopped".into()))
}

fn ask(request: Request) {
    if requests().send(request).is_err() {
        gone()
    }
}

fn gone() -> ! {
    fatal("testdb: the session that creates test databases has stopped (see the first error above)")
}

async fn serve(mut requests: mpsc::UnboundedReceiver<Request>) {
    let server = Server::get();
    let mut session: Option<PgConnection> = None;
    let mut prepared: HashMap<Spec, Prepared> = HashMap::new();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    while let Some(request) = requests.recv().await {
        let conn = match &mut session {
            Some(conn) => conn,
            None => session.insert(connect_maintenance(server).await),
        };
        match request {
            Request::Prepare { spec, reply } => {
                let result = match prepared.get(&spec) {
                    Some(done) => Ok(done.clone()),
                    None => prepare::prepare(conn, server, spec).await.map_err(|err| format!("{err:#}")),
                };
                if let Ok(done) = &result {
                    prepared.insert(spec, done.clone());
                }
                reply.send(result).ok();
            }
            Request::Copy { template, reply } => {
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                let name = dbfiles::names::test_copy(&server.database, std::process::id(), n);
                reply.send(create_copy(conn, &template, &name).await.map(|()| name)).ok();
            }
            Request::Trash { name, reply } => {
                reply.send(rename_to_trash(conn, server, &name).await).ok();
            }
        }
    }
}

async fn connect_maintenance(server: &Server) -> PgConnection {
    let options = server.maintenance();
    PgConnection::connect_with(&options).await.unwrap_or_else(|err| {
        fatal(&format!(
            "cannot connect to the test server at {}:{} as {} ({err}): start it with `cargo xtask db-up`, \
             or check DATABASE_URL",
            options.get_host(),
            options.get_port(),
            options.get_username()
        ))
    })
}

/// How a test's copy is made. `FILE_COPY` copies the template's files and checkpoints;
/// `WAL_LOG` (the server's default since 15) writes every block of the template to the WAL.
/// Measured here (`cargo xtask bench`), `FILE_COPY` is the faster for a small schema.
const STRATEGY: &str = "FILE_COPY";

async fn create_copy(conn: &mut PgConnection, template: &str, name: &str) -> Result<(), String> {
    let sql = format!("CREATE DATABASE {} TEMPLATE {} STRATEGY = {STRATEGY}", quote_ident(name), quote_ident(template));
    conn.execute(AssertSqlSafe(sql))
        .await
        .map(drop)
        .map_err(|err| format!("testdb: create {name} from {template}: {err}"))
}

/// Ends the sessions still in the database (the test's pool, which a `Drop` cannot close) and
/// waits until they are gone, then renames it to trash. A rename writes one catalog row where a
/// drop deletes every file of the copy (4,299 for a template of 1,000 tables), and on a disk that
/// discards what is deleted the copies made meanwhile took ten times as long. `ALTER DATABASE …
/// RENAME` and `DROP … WITH (FORCE)` would end the sessions themselves, but sleep 100 ms
/// whenever they find one, even one already on its way out.
async fn rename_to_trash(conn: &mut PgConnection, server: &Server, name: &str) -> Result<(), String> {
    let failed = |err: sqlx::Error| format!("testdb: rename the passed test's database {name} to trash: {err}");
    for _ in 0..2000 {
        let left: i64 = sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .map_err(failed)?;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let oid: sqlx::postgres::types::Oid = sqlx::query_scalar("SELECT oid FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .map_err(failed)?;
    let trash = dbfiles::names::test_trash(&server.database, std::process::id(), oid.0);
    let sql = format!("ALTER DATABASE {} RENAME TO {}", quote_ident(name), quote_ident(&trash));
    conn.execute(AssertSqlSafe(sql)).await.map(drop).map_err(failed)
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
