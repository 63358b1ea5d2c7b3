//! A write storm for HA tests: writers create apps through every server until stopped, and
//! keep the ids of the creations that were acknowledged (201), which must never be lost.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

pub struct WriteStorm {
    acked: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    writers: Vec<JoinHandle<()>>,
}

impl WriteStorm {
    /// Starts `writers` threads that POST `/storm/w<writer>-<n>` apps, rotating over `urls`.
    pub fn start(urls: Vec<String>, writers: usize) -> WriteStorm {
        let acked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let writers = (0..writers)
            .map(|w| {
                let (urls, acked, stop) = (urls.clone(), acked.clone(), stop.clone());
                std::thread::spawn(move || {
                    let http = reqwest::blocking::Client::builder()
                        .no_proxy()
                        .timeout(Duration::from_secs(5))
                        .build()
                        .expect("a client");
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let id = format!("/storm/w{w}-{n}");
                        let app = json!({"id": id, "cmd": "sleep 1000", "instances": 0});
                        let url = format!("{}/v2/apps", urls[n % urls.len()]);
                        if http.post(url).json(&app).send().is_ok_and(|r| r.status() == 201) {
                            acked.lock().expect("acked").push(id);
                        }
                    }
                })
            })
            .collect();
        WriteStorm { acked, stop, writers }
    }

    /// Stops the writers and returns the ids of every acknowledged creation.
    pub fn stop(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.writers {
            w.join().expect("a writer");
        }
        self.acked.lock().expect("acked").clone()
    }
}

/// Whether a `GET /v2/apps` answer holds every app in `acked`.
pub fn lists_all(apps: &Value, acked: &[String]) -> bool {
    let have: BTreeSet<&str> = apps["apps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["id"].as_str())
        .collect();
    acked.iter().all(|id| have.contains(id.as_str()))
}
