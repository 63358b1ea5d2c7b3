//! `/v2/events` as a test reads it: a thread parses the SSE stream into frames.

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::{Error, Result};

/// One event as the server framed it.
#[derive(Debug, Clone)]
pub struct Frame {
    pub id: u64,
    pub event: String,
    pub data: Value,
}

/// An open event stream.
pub struct EventStream {
    frames: mpsc::Receiver<Frame>,
}

impl EventStream {
    /// Opens `/v2/events` of the server at `base_url`, from after `last_event_id` if given.
    pub fn open(base_url: &str, last_event_id: Option<u64>) -> Result<EventStream> {
        let url = format!("{base_url}/v2/events");
        let err = |source| Error::Http {
            method: "GET".into(),
            url: url.clone(),
            source,
        };
        let client = reqwest::blocking::Client::builder()
            .timeout(None)
            .build()
            .map_err(err)?;
        let mut req = client.get(&url).header("Accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        let res = req.send().and_then(|r| r.error_for_status()).map_err(err)?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let (mut id, mut event, mut data) = (None, String::new(), String::new());
            for line in BufReader::new(res).lines() {
                let Ok(line) = line else { return };
                if line.is_empty() {
                    if let (Some(id), Ok(data)) = (id.take(), serde_json::from_str(&data)) {
                        let frame = Frame {
                            id,
                            event: std::mem::take(&mut event),
                            data,
                        };
                        if tx.send(frame).is_err() {
                            return;
                        }
                    }
                    data.clear();
                } else if let Some(v) = line.strip_prefix("id: ") {
                    id = v.parse().ok();
                } else if let Some(v) = line.strip_prefix("event: ") {
                    event = v.to_string();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = v.to_string();
                }
            }
        });
        Ok(EventStream { frames: rx })
    }

    /// The next frame; `None` once the server ended the stream.
    pub fn next(&self, timeout: Duration) -> Result<Option<Frame>> {
        match self.frames.recv_timeout(timeout) {
            Ok(frame) => Ok(Some(frame)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Ok(None),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::Timeout(timeout)),
        }
    }

    /// Frames until (and including) the first one `stop` accepts; [`Error::Timeout`] when
    /// none does within `timeout`.
    pub fn read_until(&self, timeout: Duration, mut stop: impl FnMut(&Frame) -> bool) -> Result<Vec<Frame>> {
        let deadline = Instant::now() + timeout;
        let mut frames = vec![];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = self.frames.recv_timeout(left).map_err(|_| Error::Timeout(timeout))?;
            let done = stop(&frame);
            frames.push(frame);
            if done {
                return Ok(frames);
            }
        }
    }
}
