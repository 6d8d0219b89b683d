//! Rows to build on, and the assertion that the database refused a row for the right reason.

#![allow(dead_code)]

use sqlx::types::Uuid;
use sqlx::{AssertSqlSafe, PgPool};

pub const ORG: &str = "'aaaaaaaa-0000-4000-8000-000000000001'";
pub const FACTORY: &str = "'bbbbbbbb-0000-4000-8000-000000000001'";

/// One organization with one factory, ids [`ORG`] and [`FACTORY`].
pub async fn org_and_factory(pool: &PgPool) {
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

pub async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(pool).await.unwrap_or_else(|e| panic!("{sql}\nfailed: {e}"));
}

/// Asserts that `sql` fails on `constraint` (a constraint's name or, for errors that name none,
/// a SQLSTATE code such as `22P02`).
#[track_caller]
pub fn rejected_by(result: Result<sqlx::postgres::PgQueryResult, sqlx::Error>, constraint: &str, sql: &str) {
    let err = match result {
        Ok(_) => panic!("the database accepted what it must refuse ({constraint}):\n{sql}"),
        Err(err) => err,
    };
    let db = err.as_database_error().unwrap_or_else(|| panic!("not a database error: {err}"));
    let matched = db.constraint() == Some(constraint) || db.code().as_deref() == Some(constraint);
    assert!(matched, "{sql}\nfailed, but on {:?} / {:?} ({db}), not {constraint}", db.constraint(), db.code());
}

pub async fn rejects(pool: &PgPool, constraint: &str, sql: &str) {
    rejected_by(sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(pool).await, constraint, sql);
}

pub fn uuid(text: &str) -> Uuid {
    text.trim_matches('\'').parse().unwrap()
}
