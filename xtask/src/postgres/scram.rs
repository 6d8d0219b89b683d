//! Logins that cost next to nothing on the dev servers: their generated passwords are stored as
//! SCRAM-SHA-256 verifiers with few iterations.
//!
//! A SCRAM login makes the client derive a key from the password with as many HMAC-SHA-256 rounds
//! as the server's verifier names: 4,096 by default, ~10 ms of every TCP connection in the
//! unoptimised build the xtask runs as. The rounds exist to slow down guessing a weak password
//! from a stolen verifier; a generated password (144 random bits) cannot be guessed however fast
//! each guess is. So the verifier is written with `FAST_ITERATIONS` rounds, in the form
//! PostgreSQL stores as given (`ALTER ROLE … PASSWORD 'SCRAM-SHA-256$…'`, RFC 5803). Passwords a
//! developer chose (`POSTGRES_PASSWORD`) keep the server's default.

use std::num::NonZeroU32;

use anyhow::{Context, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::{digest, hmac, pbkdf2, rand::SecureRandom};
use sqlx::{AssertSqlSafe, Executor, PgConnection};

/// Rounds in a generated password's verifier.
pub const FAST_ITERATIONS: u32 = 16;

/// The verifier PostgreSQL stores for `password`:
/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
pub fn verifier(password: &str, iterations: NonZeroU32, salt: &[u8]) -> String {
    let mut salted = [0u8; 32];
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, iterations, salt, password.as_bytes(), &mut salted);
    let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
    let client_key = hmac::sign(&key, b"Client Key");
    let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
    let server_key = hmac::sign(&key, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key.as_ref()),
        STANDARD.encode(server_key.as_ref())
    )
}

/// Rewrites the session user's verifier with `FAST_ITERATIONS` rounds, unless it has them
/// already. `conn` must have logged in with `password` (over TCP), which proves it is the
/// server's: this never changes which password the server accepts.
pub async fn make_logins_fast(conn: &mut PgConnection, password: &str) -> Result<()> {
    // Only a superuser may read pg_authid; the dev user is one. Anyone else keeps the default.
    let stored: Option<String> =
        match sqlx::query_scalar("SELECT rolpassword FROM pg_authid WHERE rolname = current_user")
            .fetch_optional(&mut *conn)
            .await
        {
            Ok(stored) => stored.flatten(),
            Err(_) => return Ok(()),
        };
    let prefix = format!("SCRAM-SHA-256${FAST_ITERATIONS}:");
    if stored.is_none_or(|stored| stored.starts_with(&prefix)) {
        return Ok(());
    }
    let mut salt = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut salt).map_err(|_| anyhow::anyhow!("no random numbers"))?;
    let iterations = NonZeroU32::new(FAST_ITERATIONS).context("a positive iteration count")?;
    // A verifier holds only base64, digits, `$` and `:`: nothing to escape in the literal.
    let statement = format!("ALTER ROLE CURRENT_USER PASSWORD '{}'", verifier(password, iterations, &salt));
    conn.execute(AssertSqlSafe(statement)).await.context("store the dev password's verifier")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The verifier has PostgreSQL's form; its keys are checked by the server itself in the CLI
    /// tests, whose every TCP login uses them.
    #[test]
    fn the_verifier_has_postgres_form() {
        let verifier = verifier("pencil", NonZeroU32::new(16).unwrap(), b"0123456789abcdef");
        let (head, keys) = verifier.split_once('$').and_then(|(_, rest)| rest.split_once('$')).unwrap();
        assert_eq!(head, format!("16:{}", STANDARD.encode(b"0123456789abcdef")));
        let (stored, server) = keys.split_once(':').unwrap();
        assert_eq!(STANDARD.decode(stored).unwrap().len(), 32);
        assert_eq!(STANDARD.decode(server).unwrap().len(), 32);
        assert!(verifier.starts_with("SCRAM-SHA-256$16:"));
        assert_eq!(verifier, super::verifier("pencil", NonZeroU32::new(16).unwrap(), b"0123456789abcdef"));
    }
}
