//! The agent's durable task log: checkpoint records appended in RecordIO framing to
//! `<agent>/meta/tasks.log`, synced once per batch, replayed on start and compacted by rewriting.
//!
//! A record that must survive a crash before anything depends on it (a task about to be
//! spawned, a status update about to be sent) is appended as durable; the master syncs at the
//! end of each batch of work, so a thousand launches cost one `fdatasync`, not a thousand.
//! Records that can be lost harmlessly (acknowledgements: the update is simply re-sent) are
//! only written to the OS. A torn record at the end of the log (a crash mid-write) is dropped
//! on replay.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use prost::Message;
use tokio_util::codec::Decoder;

use crate::protos::pacer::checkpoint::Record;
use crate::recordio::{RecordIoCodec, encode_record};

/// A checkpoint file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("checkpoint I/O failed on {}", path.display())]
pub(crate) struct CheckpointError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError {
        path: path.to_owned(),
        source,
    }
}

const LOG_NAME: &str = "tasks.log";

pub(crate) struct CheckpointLog {
    path: PathBuf,
    file: BufWriter<File>,
    needs_sync: bool,
    appended: u64,
}

impl CheckpointLog {
    /// Reads every intact record of the log in `meta_dir` (creating the directory) and opens
    /// the log for appending.
    pub(crate) fn open(meta_dir: &Path) -> Result<(Self, Vec<Record>), CheckpointError> {
        fs::create_dir_all(meta_dir).map_err(io_err(meta_dir))?;
        let path = meta_dir.join(LOG_NAME);
        let records = read_log(&path)?;
        let file = open_append(&path)?;
        let log = Self {
            path,
            file: BufWriter::with_capacity(256 * 1024, file),
            needs_sync: false,
            appended: 0,
        };
        Ok((log, records))
    }

    /// Appends a record; `durable` ones are synced by the next [`Self::sync`].
    pub(crate) fn append(&mut self, record: &Record, durable: bool) -> Result<(), CheckpointError> {
        let body = record.encode_to_vec();
        let mut framed = BytesMut::with_capacity(body.len() + 12);
        encode_record(&body, &mut framed);
        self.file.write_all(&framed).map_err(io_err(&self.path))?;
        self.needs_sync |= durable;
        self.appended += 1;
        Ok(())
    }

    /// Hands everything appended to the OS, and makes it durable if any of it must be.
    pub(crate) fn sync(&mut self) -> Result<(), CheckpointError> {
        self.file.flush().map_err(io_err(&self.path))?;
        if self.needs_sync {
            self.file.get_ref().sync_data().map_err(io_err(&self.path))?;
            self.needs_sync = false;
        }
        Ok(())
    }

    /// Records appended since the log was opened or last rewritten.
    pub(crate) fn appended(&self) -> u64 {
        self.appended
    }

    /// Replaces the whole log with `records` atomically (write aside, sync, rename).
    pub(crate) fn rewrite(&mut self, records: &[Record]) -> Result<(), CheckpointError> {
        self.sync()?;
        let tmp = self.path.with_extension("log.tmp");
        {
            let file = File::create(&tmp).map_err(io_err(&tmp))?;
            let mut out = BufWriter::with_capacity(256 * 1024, file);
            let mut buf = BytesMut::new();
            for record in records {
                encode_record(&record.encode_to_vec(), &mut buf);
                if buf.len() > 128 * 1024 {
                    out.write_all(&buf).map_err(io_err(&tmp))?;
                    buf.clear();
                }
            }
            out.write_all(&buf).map_err(io_err(&tmp))?;
            out.flush().map_err(io_err(&tmp))?;
            out.get_ref().sync_all().map_err(io_err(&tmp))?;
        }
        fs::rename(&tmp, &self.path).map_err(io_err(&self.path))?;
        sync_dir(&self.path)?;
        self.file = BufWriter::with_capacity(256 * 1024, open_append(&self.path)?);
        self.appended = 0;
        Ok(())
    }
}

fn open_append(path: &Path) -> Result<File, CheckpointError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_err(path))
}

fn sync_dir(path: &Path) -> Result<(), CheckpointError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))
}

fn read_log(path: &Path) -> Result<Vec<Record>, CheckpointError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(path)(e)),
    };
    let mut buf = BytesMut::from(&bytes[..]);
    let mut codec = RecordIoCodec::default();
    let mut records = Vec::new();
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(frame)) => match Record::decode(frame) {
                Ok(record) => records.push(record),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "undecodable checkpoint record; ignoring the rest of the log");
                    break;
                }
            },
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "torn checkpoint log tail (crash while writing?); ignoring it");
                break;
            }
        }
    }
    Ok(records)
}

/// The agent's id, kept in `meta/agent_id` so that recovered tasks keep pointing at it.
pub(crate) fn load_or_create_agent_id(
    meta_dir: &Path,
    fresh: impl FnOnce() -> String,
) -> Result<String, CheckpointError> {
    fs::create_dir_all(meta_dir).map_err(io_err(meta_dir))?;
    let path = meta_dir.join("agent_id");
    match fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&path)(e)),
    }
    let id = fresh();
    store_agent_id(meta_dir, &id)?;
    Ok(id)
}

/// Replaces the agent's id (an agent marked gone rejoins as a new one).
pub(crate) fn store_agent_id(meta_dir: &Path, id: &str) -> Result<(), CheckpointError> {
    write_durably(&meta_dir.join("agent_id"), id.as_bytes())
}

/// Writes a small file whole or not at all: aside, synced, renamed over, directory synced.
pub(crate) fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    {
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(bytes).and_then(|()| f.sync_all()).map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io_err(path))?;
    sync_dir(path)
}

/// Removes a file if it exists, durably.
pub(crate) fn remove_durably(path: &Path) -> Result<(), CheckpointError> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protos::pacer::checkpoint::{TaskKey, record};
    use crate::v1::{FrameworkId, TaskId};

    fn removed(task: &str) -> Record {
        Record {
            record: Some(record::Record::Removed(TaskKey {
                framework_id: FrameworkId { value: "fw".into() },
                task_id: TaskId { value: task.into() },
            })),
        }
    }

    #[test]
    fn appends_replay_in_order_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, records) = CheckpointLog::open(dir.path()).unwrap();
        assert!(records.is_empty());
        for i in 0..10 {
            log.append(&removed(&format!("t{i}")), i % 2 == 0).unwrap();
        }
        log.sync().unwrap();
        drop(log);
        let (_, records) = CheckpointLog::open(dir.path()).unwrap();
        assert_eq!(records, (0..10).map(|i| removed(&format!("t{i}"))).collect::<Vec<_>>());
    }

    #[test]
    fn a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = CheckpointLog::open(dir.path()).unwrap();
        log.append(&removed("a"), true).unwrap();
        log.append(&removed("b"), true).unwrap();
        log.sync().unwrap();
        drop(log);
        let path = dir.path().join(LOG_NAME);
        let len = fs::metadata(&path).unwrap().len();
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len - 3).unwrap();
        let (mut log, records) = CheckpointLog::open(dir.path()).unwrap();
        assert_eq!(records, vec![removed("a")]);
        // Compaction replaces the torn file with a clean one.
        log.rewrite(&records).unwrap();
        log.append(&removed("c"), true).unwrap();
        log.sync().unwrap();
        let (_, records) = CheckpointLog::open(dir.path()).unwrap();
        assert_eq!(records, vec![removed("a"), removed("c")]);
    }

    #[test]
    fn agent_id_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let id = load_or_create_agent_id(dir.path(), || "first".into()).unwrap();
        assert_eq!(id, "first");
        let again = load_or_create_agent_id(dir.path(), || "second".into()).unwrap();
        assert_eq!(again, "first");
        store_agent_id(dir.path(), "third").unwrap();
        let replaced = load_or_create_agent_id(dir.path(), || "fourth".into()).unwrap();
        assert_eq!(replaced, "third");
        assert!(!dir.path().join("agent_id.tmp").exists());
    }
}
