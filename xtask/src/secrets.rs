//! Passwords never reach the terminal.
//!
//! Every password the xtask learns (from `DATABASE_URL`, `.env` or the environment) is registered
//! here, and every error message passes through [`redact`] before it is printed. That also covers
//! messages we don't write ourselves, such as a driver error that echoes a connection URL.

use std::sync::{LazyLock, Mutex};

const MASK: &str = "***";

static SECRETS: LazyLock<Mutex<Vec<String>>> = LazyLock::new(|| Mutex::new(Vec::new()));
/// Names shown in every message anyway (user and database names): a password equal to one of
/// them is no secret, and masking it would hide the name wherever it appears.
static PUBLIC: LazyLock<Mutex<Vec<String>>> = LazyLock::new(|| Mutex::new(Vec::new()));

pub fn register_public(name: &str) {
    PUBLIC.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(name.to_owned());
}

/// Remembers a secret in both its plain and its percent-encoded spelling, the two forms in which
/// it can appear in a URL.
pub fn register(secret: &str) {
    if secret.is_empty() {
        return;
    }
    let mut secrets = SECRETS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for form in [secret.to_owned(), percent_encode(secret)] {
        if !secrets.contains(&form) {
            secrets.push(form);
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `bytes` random bytes from the operating system, as hex: a generated password, or a folder
/// name nobody can guess.
pub fn unguessable(bytes: usize) -> anyhow::Result<String> {
    let mut random = vec![0u8; bytes];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random)
        .map_err(|_| anyhow::anyhow!("the operating system gave no random bytes"))?;
    Ok(random.iter().map(|b| format!("{b:02x}")).collect())
}

pub fn redact(text: &str) -> String {
    let secrets = SECRETS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let public = PUBLIC.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    secrets
        .iter()
        .filter(|secret| !public.contains(secret))
        .fold(text.to_owned(), |text, secret| text.replace(secret.as_str(), MASK))
}

/// Encodes everything but RFC 3986's unreserved characters, as a careful user would when putting
/// a password into a URL.
pub fn percent_encode(text: &str) -> String {
    const NOT_UNRESERVED: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    percent_encoding::utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_plain_and_encoded_forms() {
        register("p@ss:w/rd");
        let text = "postgres://u:p%40ss%3Aw%2Frd@h/db and p@ss:w/rd";
        assert_eq!(redact(text), "postgres://u:***@h/db and ***");
    }
}
