//! `sqlx::migrate!` embeds db/migrations at compile time; this makes a new or changed migration
//! file rebuild the crate, so the embedded `MIGRATOR` is never stale.

fn main() {
    println!("cargo:rerun-if-changed=../../db/migrations");
}
