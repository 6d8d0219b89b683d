//! Work that runs on a thread of its own while the command talks to the server.
//!
//! Reading and hashing a thousand migration files and a SCRAM handshake each take milliseconds of
//! CPU; on two cores they can take them at the same time. The result is still reported in the
//! order a reader expects: a problem in the files comes before a problem with the server.

use std::thread::JoinHandle;

pub struct Background<T>(JoinHandle<T>);

impl<T: Send + 'static> Background<T> {
    pub fn spawn(work: impl FnOnce() -> T + Send + 'static) -> Background<T> {
        Background(std::thread::spawn(work))
    }

    /// The work's result; a panic in it carries on here, as if it had run on this thread.
    pub fn join(self) -> T {
        self.0.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}
