//! The scheduler side of Mesos's v1 HTTP API: SUBSCRIBE to `/api/v1/scheduler` as a
//! long-lived RecordIO stream of events, then send calls with the `Mesos-Stream-Id` the master
//! handed out. Protobuf by default; Mesos's JSON with [`HttpTransport::with_json`].
//!
//! A master that is not the leader answers 307 to the leader; the redirect is followed and
//! the leader is then called directly. A stream that stays silent for longer than a few
//! heartbeat intervals is taken for dead and ended, so the scheduler subscribes again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;
use tokio_util::io::StreamReader;

use crate::encoding::Encoding;
use crate::recordio::RecordIoCodec;
use crate::transport::{BoxFuture, CallSink, Caller, Connection, Transport, TransportError};
use crate::v1::scheduler::{Call, Event, call, event};
use crate::v1::{FrameworkId, FrameworkInfo};

const STREAM_ID: &str = "Mesos-Stream-Id";
/// Missed heartbeats after which a silent stream counts as dead.
const MISSED_HEARTBEATS: u32 = 3;
/// How long a silent stream is waited for before SUBSCRIBED told the heartbeat interval.
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);

/// Why a master URL cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MasterUrlError {
    #[error("{0}: ZooKeeper master detection is not supported; list the masters as http://host:5050,...")]
    ZooKeeper(String),
    #[error("{0}: not an http(s) URL of a Mesos master")]
    Invalid(String),
}

/// Reaches Mesos masters over HTTP.
pub struct HttpTransport {
    masters: Vec<Url>,
    http: reqwest::Client,
    /// The master that last accepted a subscription: tried first next time.
    leader: Mutex<Option<Url>>,
    /// Principal and secret for masters that authenticate frameworks (HTTP basic auth).
    credentials: Option<(String, String)>,
    encoding: Encoding,
}

impl HttpTransport {
    /// A transport to the masters listed in `spec` (`http://host:5050[,http://host2:5050]`).
    pub fn new(spec: &str) -> Result<Self, MasterUrlError> {
        let masters = spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.starts_with("zk://") {
                    return Err(MasterUrlError::ZooKeeper(s.to_string()));
                }
                match Url::parse(s) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(u),
                    _ => Err(MasterUrlError::Invalid(s.to_string())),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if masters.is_empty() {
            return Err(MasterUrlError::Invalid(spec.to_string()));
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|_| MasterUrlError::Invalid(spec.to_string()))?;
        Ok(HttpTransport {
            masters,
            http,
            leader: Mutex::new(None),
            credentials: None,
            encoding: Encoding::Protobuf,
        })
    }

    /// Speaks Mesos's JSON instead of protobuf, for calls and for the event stream.
    pub fn with_json(mut self) -> Self {
        self.encoding = Encoding::Json;
        self
    }

    /// Authenticates every request with `principal` and `secret`, as Mesos's HTTP framework
    /// authentication expects.
    pub fn with_credentials(mut self, principal: String, secret: String) -> Self {
        self.credentials = Some((principal, secret));
        self
    }

    fn post(&self, url: Url) -> reqwest::RequestBuilder {
        let req = self
            .http
            .post(url)
            .header(CONTENT_TYPE, self.encoding.content_type())
            .header(ACCEPT, self.encoding.content_type());
        match &self.credentials {
            Some((principal, secret)) => req.basic_auth(principal, Some(secret)),
            None => req,
        }
    }

    async fn subscribe_at(&self, base: &Url, body: Bytes) -> Result<Connection, TransportError> {
        let url = scheduler_url(base)?;
        let res = self.post(url).body(body).send().await.map_err(|e| disconnected(&e))?;
        if res.status() != StatusCode::OK {
            let status = res.status();
            let text = res.text().await.unwrap_or_default();
            return Err(TransportError::Refused(format!("SUBSCRIBE answered {status}: {text}")));
        }
        // After a redirect this is the leader's URL: calls go straight there.
        let leader = res.url().clone();
        let stream_id = res
            .headers()
            .get(STREAM_ID)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| TransportError::Refused("SUBSCRIBE answer without Mesos-Stream-Id".into()))?
            .to_string();
        *self.leader.lock().expect("leader lock") = Some(leader.clone());
        // The events come as the master chose; it honours Accept, so this is our own encoding.
        let events_encoding = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(Encoding::from_content_type)
            .unwrap_or(self.encoding);

        let framework_id = Arc::new(Mutex::new(None));
        let (tx, events) = mpsc::channel(256);
        let body = res.bytes_stream().map_err(std::io::Error::other);
        let frames = FramedRead::new(StreamReader::new(body), RecordIoCodec::default());
        tokio::spawn(read_events(frames, events_encoding, tx, framework_id.clone()));
        let caller = HttpCaller {
            request: {
                let template = self.post(leader.clone());
                Box::new(move || template.try_clone().expect("a request without a body clones"))
            },
            stream_id,
            framework_id,
            encoding: self.encoding,
        };
        Ok(Connection {
            events,
            caller: Caller(Arc::new(caller)),
        })
    }
}

impl Transport for HttpTransport {
    fn subscribe(&self, framework_info: FrameworkInfo) -> BoxFuture<'_, Result<Connection, TransportError>> {
        Box::pin(async move {
            let call = Call {
                framework_id: framework_info.id.clone(),
                r#type: Some(call::Type::Subscribe as i32),
                subscribe: Some(call::Subscribe {
                    framework_info,
                    ..Default::default()
                }),
                ..Default::default()
            };
            let body = Bytes::from(self.encoding.encode(&call));
            let known = self.leader.lock().expect("leader lock").clone();
            let mut last = TransportError::Disconnected;
            let tried_first = known.as_ref().and_then(|k| scheduler_url(k).ok());
            let others = self.masters.iter().filter(|m| scheduler_url(m).ok() != tried_first);
            for base in known.iter().chain(others) {
                match self.subscribe_at(base, body.clone()).await {
                    Ok(conn) => return Ok(conn),
                    Err(e) => {
                        tracing::warn!(master = %base, error = %e, "cannot subscribe");
                        last = e;
                    }
                }
            }
            *self.leader.lock().expect("leader lock") = None;
            Err(last)
        })
    }
}

/// Decodes events into `tx` until the stream ends, fails, or stays silent too long.
async fn read_events<S>(
    mut frames: S,
    encoding: Encoding,
    tx: mpsc::Sender<Event>,
    framework_id: Arc<Mutex<Option<FrameworkId>>>,
) where
    S: futures::Stream<Item = Result<Bytes, crate::recordio::RecordIoError>> + Unpin,
{
    let mut patience = DEFAULT_HEARTBEAT * MISSED_HEARTBEATS;
    loop {
        let frame = match tokio::time::timeout(patience, frames.next()).await {
            Err(_) => {
                tracing::warn!(waited = ?patience, "no heartbeat from the master; reconnecting");
                return;
            }
            Ok(None) => return,
            Ok(Some(Err(e))) => {
                tracing::warn!(error = %e, "the master's event stream broke; reconnecting");
                return;
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let event = match encoding.decode::<Event>(&frame) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "undecodable event from the master; reconnecting");
                return;
            }
        };
        if let Some(s) = &event.subscribed
            && event.r#type == Some(event::Type::Subscribed as i32)
        {
            *framework_id.lock().expect("framework id lock") = Some(s.framework_id.clone());
            if let Some(secs) = s.heartbeat_interval_seconds.filter(|s| *s > 0.0) {
                patience = Duration::from_secs_f64(secs) * MISSED_HEARTBEATS;
            }
        }
        if tx.send(event).await.is_err() {
            return;
        }
    }
}

/// Sends calls on one subscription.
struct HttpCaller {
    /// A POST to the leader with this transport's headers and credentials.
    request: Box<dyn Fn() -> reqwest::RequestBuilder + Send + Sync>,
    stream_id: String,
    framework_id: Arc<Mutex<Option<FrameworkId>>>,
    encoding: Encoding,
}

impl CallSink for HttpCaller {
    fn call(&self, mut call: Call) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            if call.framework_id.is_none() {
                call.framework_id = self.framework_id.lock().expect("framework id lock").clone();
            }
            let res = (self.request)()
                .header(STREAM_ID, &self.stream_id)
                .body(self.encoding.encode(&call))
                .send()
                .await
                .map_err(|e| disconnected(&e))?;
            match res.status() {
                StatusCode::ACCEPTED | StatusCode::OK => Ok(()),
                s if s.is_server_error() => Err(TransportError::Disconnected),
                s => Err(TransportError::Refused(format!(
                    "{s}: {}",
                    res.text().await.unwrap_or_default()
                ))),
            }
        })
    }
}

fn scheduler_url(base: &Url) -> Result<Url, TransportError> {
    if base.path().ends_with("/api/v1/scheduler") {
        return Ok(base.clone());
    }
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join("api/v1/scheduler")
        .map_err(|e| TransportError::Refused(format!("master URL {base}: {e}")))
}

fn disconnected(e: &reqwest::Error) -> TransportError {
    tracing::debug!(error = %e, "master unreachable");
    TransportError::Disconnected
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn master_lists_are_parsed_and_zookeeper_is_refused_clearly() {
        let t = HttpTransport::new("http://m1:5050, http://m2:5050/").unwrap();
        assert_eq!(t.masters.len(), 2);
        assert_eq!(
            scheduler_url(&t.masters[0]).unwrap().as_str(),
            "http://m1:5050/api/v1/scheduler"
        );
        let err = HttpTransport::new("zk://zk1:2181/mesos").err().unwrap();
        assert!(err.to_string().contains("ZooKeeper"), "{err}");
        assert!(HttpTransport::new("m1:5050").is_err());
        assert!(HttpTransport::new("").is_err());
    }

    /// A master that answers SUBSCRIBE with SUBSCRIBED (heartbeat every `heartbeat` seconds)
    /// followed by `tail`, raw, and then either closes or stays silent.
    async fn fake_master(heartbeat: f64, tail: &'static [u8], close: bool) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let _ = conn.read(&mut buf).await;
            let subscribed = Event {
                r#type: Some(event::Type::Subscribed as i32),
                subscribed: Some(event::Subscribed {
                    framework_id: FrameworkId { value: "fw-1".into() },
                    heartbeat_interval_seconds: Some(heartbeat),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let mut body = bytes::BytesMut::new();
            crate::recordio::encode_record(&subscribed.encode_to_vec(), &mut body);
            body.extend_from_slice(tail);
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\n\
                        mesos-stream-id: s-1\r\nconnection: close\r\n\r\n";
            conn.write_all(head.as_bytes()).await.unwrap();
            conn.write_all(&body).await.unwrap();
            if close {
                return;
            }
            // Silent, but connected, until the client gives up.
            let _ = conn.read(&mut buf).await;
        });
        url
    }

    /// Subscribes to `url` and returns the event types received until the stream ended.
    async fn events_until_end(url: &str) -> Vec<i32> {
        let t = HttpTransport::new(url).unwrap();
        let mut conn = t.subscribe(FrameworkInfo::default()).await.unwrap();
        let mut seen = vec![];
        let end = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(e) = conn.events.recv().await {
                seen.push(e.r#type.unwrap_or_default());
            }
        })
        .await;
        assert!(end.is_ok(), "the stream should have ended, saw {seen:?}");
        seen
    }

    const SUBSCRIBED: i32 = event::Type::Subscribed as i32;

    #[tokio::test]
    async fn a_stream_cut_mid_frame_ends_the_subscription() {
        let url = fake_master(15.0, b"40\n0123456789", true).await;
        assert_eq!(events_until_end(&url).await, vec![SUBSCRIBED]);
    }

    #[tokio::test]
    async fn a_malformed_frame_ends_the_subscription() {
        let url = fake_master(15.0, b"not-a-length\nxxxx", true).await;
        assert_eq!(events_until_end(&url).await, vec![SUBSCRIBED]);
    }

    #[tokio::test]
    async fn a_frame_that_is_not_an_event_ends_the_subscription() {
        let url = fake_master(15.0, b"3\n\xff\xff\xff", false).await;
        assert_eq!(events_until_end(&url).await, vec![SUBSCRIBED]);
    }

    #[tokio::test]
    async fn missing_heartbeats_end_the_subscription() {
        let url = fake_master(0.05, b"", false).await;
        assert_eq!(events_until_end(&url).await, vec![SUBSCRIBED]);
    }
}
