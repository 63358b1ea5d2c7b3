//! `GET /v2/events`: the event stream as server-sent events.
//!
//! Frames are `id: <n>\nevent: <eventType>\ndata: <json>\n\n`, in id order. A client that
//! reconnects with `Last-Event-ID: n` first gets every retained event after `n`; if some of
//! them are no longer retained, a comment line says which ids are missing before the replay
//! (`: events 5 to 9 are no longer retained`); ids are consecutive, so a client can also
//! see the gap itself. Then comes this connection's `event_stream_attached`, then live
//! events. A client that falls `stream_buffer` events behind is disconnected (Marathon's
//! `--event_stream_max_outstanding_messages`); it can reconnect and resume from the
//! history. After `keep_alive` without an event a comment keeps proxies from timing out.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::bus::{Bus, Filter, Listener, ListenerSpec, Overflow};
use super::{origin, payload};
use crate::Ctx;
use crate::error::{ApiError, Result};
use crate::json::Params;

/// True when the client asked for an event stream. Marathon's servlet answers any other
/// request with 405, `*/*` included.
fn wants_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|media| {
            media
                .split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/event-stream"))
        })
}

fn last_event_id(headers: &HeaderMap) -> Option<u64> {
    headers.get("last-event-id")?.to_str().ok()?.trim().parse().ok()
}

/// `GET /v2/events[?event_type=...][&plan-format=light]`. Only the light plan format
/// exists, as in Marathon 1.8+, so `plan-format` is accepted and has no effect.
pub(crate) async fn stream(State(ctx): State<Ctx>, params: Params, req: Request) -> Result<Response> {
    if !wants_event_stream(req.headers()) {
        return Err(ApiError::MethodNotAllowed);
    }
    let remote = origin::client_ip(&req);
    let filter = Filter::only(params.all("event_type").map(String::from));
    let spec = ListenerSpec {
        filter,
        capacity: ctx.events.config().stream_buffer,
        overflow: Overflow::Close,
        name: format!("event stream of {remote}"),
    };
    let bus = ctx.events.bus().clone();
    let (replay, listener) = bus.listen(spec, last_event_id(req.headers()));
    let mut pending: VecDeque<Bytes> = VecDeque::new();
    if let Some((first, last)) = replay.missing {
        pending.push_back(Bytes::from(format!(
            ": events {first} to {last} are no longer retained\n\n"
        )));
    }
    pending.extend(replay.events.iter().map(|e| Bytes::from(e.frame())));
    // Published after listening, so this connection sees its own attach after the replay.
    bus.publish(payload::stream_attached(&remote));
    let conn = Connection {
        pending,
        listener,
        keep_alive: ctx.events.config().keep_alive,
        bus,
        remote,
    };
    let body = Body::from_stream(futures::stream::unfold(conn, Connection::next_chunk));
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/event-stream")], body).into_response())
}

/// `OPTIONS /v2/events`, as Marathon's servlet answers it.
pub(crate) async fn options() -> Response {
    (StatusCode::OK, [(header::ALLOW, "GET, HEAD, OPTIONS")]).into_response()
}

/// One client's stream; dropped (announcing `event_stream_detached`) when the client goes.
struct Connection {
    pending: VecDeque<Bytes>,
    listener: Listener,
    keep_alive: Duration,
    bus: Arc<Bus>,
    remote: String,
}

impl Connection {
    async fn next_chunk(mut self) -> Option<(Result<Bytes, Infallible>, Connection)> {
        if let Some(chunk) = self.pending.pop_front() {
            return Some((Ok(chunk), self));
        }
        let chunk = match tokio::time::timeout(self.keep_alive, self.listener.next()).await {
            Ok(Some(event)) => Bytes::from(event.frame()),
            // Cut off for being slow, or the server is stopping: end the response.
            Ok(None) => return None,
            Err(_) => Bytes::from_static(b": keep-alive\n\n"),
        };
        Some((Ok(chunk), self))
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.bus.publish(payload::stream_detached(&self.remote));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_an_explicit_event_stream_accept_is_served() {
        let mut h = HeaderMap::new();
        assert!(!wants_event_stream(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        assert!(!wants_event_stream(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, Text/Event-Stream;q=0.9"),
        );
        assert!(wants_event_stream(&h));
    }

    fn connection(bus: &Arc<Bus>) -> Connection {
        let (_, listener) = bus.listen(connection_spec(), None);
        let keep_alive = Duration::from_secs(15);
        Connection {
            pending: VecDeque::new(),
            listener,
            keep_alive,
            bus: bus.clone(),
            remote: "10.0.0.1".into(),
        }
    }

    async fn chunk(conn: Connection) -> Option<(String, Connection)> {
        let (bytes, conn) = conn.next_chunk().await?;
        Some((String::from_utf8(bytes.unwrap().to_vec()).unwrap(), conn))
    }

    #[tokio::test(start_paused = true)]
    async fn silence_is_broken_by_a_keep_alive_comment_every_15_seconds() {
        let bus = Bus::new(1, 10);
        let conn = connection(&bus);
        let start = tokio::time::Instant::now();
        let (text, conn) = chunk(conn).await.unwrap();
        assert_eq!(text, ": keep-alive\n\n");
        assert_eq!(start.elapsed(), Duration::from_secs(15));

        // An event resets the silence.
        let publisher = {
            let bus = bus.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(10)).await;
                bus.publish(payload::app_terminated(&schemas::PathId::parse("/a").unwrap()));
            })
        };
        let (text, conn) = chunk(conn).await.unwrap();
        assert!(
            text.starts_with("id: 1\nevent: app_terminated_event\ndata: {"),
            "{text}"
        );
        assert_eq!(start.elapsed(), Duration::from_secs(25));
        publisher.await.unwrap();
        let (text, conn) = chunk(conn).await.unwrap();
        assert_eq!(text, ": keep-alive\n\n");
        assert_eq!(start.elapsed(), Duration::from_secs(40));

        // Closing ends the stream; dropping it announces the detach.
        bus.close_all();
        assert!(conn.next_chunk().await.is_none());
        let (replay, _) = bus.listen(connection_spec(), Some(0));
        let last = replay.events.last().unwrap();
        assert_eq!(last.event_type, "event_stream_detached");
        assert!(last.data.contains("\"remoteAddress\":\"10.0.0.1\""));
    }

    fn connection_spec() -> ListenerSpec {
        ListenerSpec {
            filter: Filter::default(),
            capacity: 8,
            overflow: Overflow::Close,
            name: "t".into(),
        }
    }

    #[test]
    fn last_event_id_is_a_number_or_ignored() {
        let mut h = HeaderMap::new();
        h.insert("last-event-id", HeaderValue::from_static(" 42 "));
        assert_eq!(last_event_id(&h), Some(42));
        h.insert("last-event-id", HeaderValue::from_static("x"));
        assert_eq!(last_event_id(&h), None);
    }
}
