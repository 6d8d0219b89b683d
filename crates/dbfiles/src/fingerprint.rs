//! FNV-1a, 64 bits: a tiny hash whose output, unlike `DefaultHasher`'s, is fixed forever. It
//! picks ports and names that must stay the same across toolchain upgrades, and keys the
//! templates (the reset cache's and the tests'). It is not a security boundary: whoever can edit
//! the files can change the database.

use sqlx::migrate::Migration;

pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Fingerprint {
        Fingerprint::new()
    }
}

impl Fingerprint {
    pub fn new() -> Fingerprint {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }

    pub fn write(&mut self, bytes: &[u8]) -> &mut Fingerprint {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        self
    }

    /// Writes a length before the bytes, so ("ab", "c") and ("a", "bc") differ.
    pub fn field(&mut self, bytes: &[u8]) -> &mut Fingerprint {
        self.write(&(bytes.len() as u64).to_le_bytes()).write(bytes)
    }

    /// Every migration's version and checksum: what the migrations are, as far as what they
    /// build goes (the reset cache's key, the schema files' stamp, the schema builds' labels).
    pub fn migrations<'a>(&mut self, migrations: impl IntoIterator<Item = &'a Migration>) -> &mut Fingerprint {
        for migration in migrations {
            // The description too: it is written into _sqlx_migrations, so a renamed file
            // builds another history.
            self.field(&migration.version.to_le_bytes())
                .field(&migration.checksum)
                .field(migration.description.as_bytes());
        }
        self
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}
