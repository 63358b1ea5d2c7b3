//! Host port ranges for the agents of servers running side by side: every test server gets
//! a range of its own, so one server's health checks never reach another server's tasks.
//! A range is held through a lock file, which the system releases when its holder dies.

use std::fs::File;

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Result, io};

const FIRST_PORT: u64 = 20_000;
const SLOT_SIZE: u64 = 100;
/// 20000-27999: below Linux's ephemeral ports (32768+), so the test servers' own
/// listeners, which bind port 0, never take one.
const SLOTS: u64 = 80;

/// An inclusive port range held for as long as this value lives.
#[derive(Debug)]
pub(crate) struct PortSlot {
    pub range: (u64, u64),
    _lock: Flock<File>,
}

impl PortSlot {
    pub(crate) fn acquire() -> Result<PortSlot> {
        let dir = std::env::temp_dir().join("pacer-e2e-port-slots");
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        for slot in 0..SLOTS {
            let path = dir.join(slot.to_string());
            let file = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(io(format!("opening {}", path.display())))?;
            if let Ok(lock) = Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                let begin = FIRST_PORT + slot * SLOT_SIZE;
                return Ok(PortSlot {
                    range: (begin, begin + SLOT_SIZE - 1),
                    _lock: lock,
                });
            }
        }
        Err(io("reserving agent ports")(std::io::Error::other(format!(
            "all {SLOTS} port slots are held by other test servers"
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_held_at_once_never_overlap() {
        let a = PortSlot::acquire().unwrap();
        let b = PortSlot::acquire().unwrap();
        assert!(a.range.1 < b.range.0 || b.range.1 < a.range.0, "{a:?} {b:?}");
    }
}
