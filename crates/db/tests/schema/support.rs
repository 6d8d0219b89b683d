//! The test databases, rows to build on, and the assertion that the database refused a row for
//! the right reason.

#![allow(dead_code)]

use db::Constraint;
use sqlx::types::Uuid;
use sqlx::{AssertSqlSafe, Executor, PgConnection, Postgres};

/// The migrations and the seeds, as `cargo xtask db-reset` builds the dev database.
pub static SEEDED: testdb::Setup = testdb::Setup::seeded(&db::MIGRATOR, db::SEEDS_DIR);
/// The migrations alone: empty tables.
pub static EMPTY: testdb::Setup = testdb::Setup::unseeded(&db::MIGRATOR);

pub const ORG: &str = "'aaaaaaaa-0000-4000-8000-000000000001'";
pub const FACTORY: &str = "'bbbbbbbb-0000-4000-8000-000000000001'";

/// One organization with one factory, ids [`ORG`] and [`FACTORY`].
pub async fn org_and_factory(pool: &mut PgConnection) {
    exec(pool, &format!("INSERT INTO organizations (id, name, slug) VALUES ({ORG}, 'Acme', 'acme')")).await;
    exec(
        pool,
        &format!(
            "INSERT INTO factories (id, organization_id, name, country_code, city, timezone) \
             VALUES ({FACTORY}, {ORG}, 'Plant 1', 'DE', 'Stuttgart', 'Europe/Berlin')"
        ),
    )
    .await;
}

pub async fn exec(conn: &mut PgConnection, sql: &str) {
    exec_on(conn, sql).await
}

/// `exec` on a pool, or any executor.
pub async fn exec_on<'e>(executor: impl Executor<'e, Database = Postgres>, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(executor)
        .await
        .unwrap_or_else(|e| panic!("{sql}\nfailed: {e}"));
}

/// Asserts that `sql` fails on `constraint`, told by `db::Constraint::of` as the API will.
#[track_caller]
pub fn rejected_by(result: Result<sqlx::postgres::PgQueryResult, sqlx::Error>, constraint: Constraint, sql: &str) {
    let err = match result {
        Ok(_) => panic!("the database accepted what it must refuse ({constraint}):\n{sql}"),
        Err(err) => err,
    };
    assert_eq!(Constraint::of(&err), Some(constraint), "{sql}\nfailed, but not on {constraint}: {err}");
}

/// Runs `sql` inside a savepoint, rolled back after: the test's transaction goes on after the
/// refusal.
pub async fn refused(conn: &mut PgConnection, sql: &str) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    conn.execute("SAVEPOINT refused").await.unwrap();
    let result = sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut *conn).await;
    conn.execute("ROLLBACK TO SAVEPOINT refused").await.unwrap();
    result
}

pub async fn rejects(pool: &mut PgConnection, constraint: Constraint, sql: &str) {
    rejected_by(refused(pool, sql).await, constraint, sql);
}

/// Asserts that `sql` fails with SQLSTATE `code`, for errors that name no constraint (`22P02`:
/// a value the type cannot read).
pub async fn rejects_with_code(pool: &mut PgConnection, code: &str, sql: &str) {
    let err = match refused(pool, sql).await {
        Ok(_) => panic!("the database accepted what it must refuse ({code}):\n{sql}"),
        Err(err) => err,
    };
    let db = err.as_database_error().unwrap_or_else(|| panic!("not a database error: {err}"));
    assert_eq!(db.code().as_deref(), Some(code), "{sql}\nfailed, but not with {code}: {db}");
}

pub fn uuid(text: &str) -> Uuid {
    text.trim_matches('\'').parse().unwrap()
}
