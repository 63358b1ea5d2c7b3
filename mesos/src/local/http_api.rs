//! The local master's `/api/v1/scheduler` over HTTP, so that any v1 framework (another Pacer
//! included) can run on it: SUBSCRIBE answers with a RecordIO stream of events and a
//! `Mesos-Stream-Id`; every other call names that stream and is answered 202. Calls come as
//! protobuf or as Mesos's JSON (`Content-Type`, matched exactly as the master does); the
//! subscriber's `Accept` picks the events' encoding, JSON when it accepts both.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::BytesMut;
use futures::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use crate::encoding::{Encoding, JSON, PROTOBUF};
use crate::recordio::encode_record;
use crate::transport::{Caller, Transport, TransportError};
use crate::v1::scheduler::{Call, call};

const STREAM_ID: &str = "Mesos-Stream-Id";

struct Api {
    transport: Arc<dyn Transport>,
    /// Open subscriptions by the stream id handed to their subscriber.
    streams: Mutex<HashMap<String, Caller>>,
}

/// The router serving `/api/v1/scheduler` for the master behind `transport`.
pub(crate) fn router(transport: Arc<dyn Transport>) -> Router {
    let api = Arc::new(Api {
        transport,
        streams: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/api/v1/scheduler", post(scheduler))
        .with_state(api)
}

async fn scheduler(State(api): State<Arc<Api>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(content_type) = headers.get(header::CONTENT_TYPE) else {
        return (StatusCode::BAD_REQUEST, "Expecting 'Content-Type' to be present").into_response();
    };
    let Some(encoding) = content_type.to_str().ok().and_then(Encoding::from_content_type) else {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Expecting 'Content-Type' of {JSON} or {PROTOBUF}"),
        )
            .into_response();
    };
    let call: Call = match encoding.decode(&body) {
        Ok(c) => c,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("Failed to parse body into Call: {e}")).into_response(),
    };
    if call.r#type == Some(call::Type::Subscribe as i32) {
        let Some(answer) = answer_encoding(&headers) else {
            return (
                StatusCode::NOT_ACCEPTABLE,
                format!("Expecting 'Accept' to allow {JSON} or {PROTOBUF}"),
            )
                .into_response();
        };
        return subscribe(api, call, answer).await;
    }
    let Some(stream_id) = headers.get(STREAM_ID).and_then(|v| v.to_str().ok()) else {
        return (
            StatusCode::BAD_REQUEST,
            "All non-subscribe calls should include the 'Mesos-Stream-Id' header",
        )
            .into_response();
    };
    let caller = api.streams.lock().expect("streams lock").get(stream_id).cloned();
    let Some(caller) = caller else {
        return (
            StatusCode::BAD_REQUEST,
            format!("The stream ID '{stream_id}' included in this request is not associated with a subscription"),
        )
            .into_response();
    };
    match caller.call(call).await {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e) => refused(e),
    }
}

/// The encoding a subscriber's `Accept` allows, JSON first as the master prefers it; a
/// missing `Accept` allows anything.
fn answer_encoding(headers: &HeaderMap) -> Option<Encoding> {
    let accept: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    if accept.is_empty() {
        return Some(Encoding::Json);
    }
    // (media range, refused with q=0); an exact range overrides a wildcard one.
    let ranges: Vec<(&str, bool)> = accept
        .iter()
        .map(|range| {
            let mut parts = range.split(';').map(str::trim);
            let pattern = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (pattern, refused)
        })
        .collect();
    let allows = |media: &str| {
        if ranges.iter().any(|(pattern, refused)| *pattern == media && *refused) {
            return false;
        }
        let (kind, _) = media.split_once('/').expect("a media type");
        let wildcard = format!("{kind}/*");
        ranges
            .iter()
            .any(|(pattern, refused)| !refused && (*pattern == media || *pattern == "*/*" || *pattern == wildcard))
    };
    [Encoding::Json, Encoding::Protobuf]
        .into_iter()
        .find(|e| allows(e.content_type()))
}

async fn subscribe(api: Arc<Api>, call: Call, encoding: Encoding) -> Response {
    let Some(info) = call.subscribe.map(|s| s.framework_info) else {
        return (StatusCode::BAD_REQUEST, "Expecting 'subscribe' to be present").into_response();
    };
    let conn = match api.transport.subscribe(info).await {
        Ok(c) => c,
        Err(e) => return refused(e),
    };
    let stream_id = uuid::Uuid::new_v4().to_string();
    api.streams
        .lock()
        .expect("streams lock")
        .insert(stream_id.clone(), conn.caller.clone());
    // Dropped with the response body when the subscriber goes away: the stream id dies with it,
    // and the master sees its events receiver closed, as it sees a closed HTTP connection.
    let guard = StreamGuard {
        api: api.clone(),
        stream_id: stream_id.clone(),
    };
    let frames = ReceiverStream::new(conn.events).map(move |event| {
        let _held = &guard;
        let mut buf = BytesMut::new();
        encode_record(&encoding.encode(&event), &mut buf);
        Ok::<_, Infallible>(buf.freeze())
    });
    (
        [
            (header::CONTENT_TYPE, encoding.content_type().to_string()),
            (STREAM_ID.parse().expect("header name"), stream_id),
        ],
        Body::from_stream(frames),
    )
        .into_response()
}

struct StreamGuard {
    api: Arc<Api>,
    stream_id: String,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if let Ok(mut streams) = self.api.streams.lock() {
            streams.remove(&self.stream_id);
        }
    }
}

fn refused(e: TransportError) -> Response {
    match e {
        TransportError::Refused(m) => (StatusCode::BAD_REQUEST, m).into_response(),
        TransportError::Disconnected => (StatusCode::SERVICE_UNAVAILABLE, "master unavailable").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::ACCEPT, v.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_answer_is_json_when_allowed_else_protobuf_else_nothing() {
        assert_eq!(answer_encoding(&accept(&[])), Some(Encoding::Json));
        assert_eq!(answer_encoding(&accept(&["*/*"])), Some(Encoding::Json));
        assert_eq!(answer_encoding(&accept(&[PROTOBUF])), Some(Encoding::Protobuf));
        assert_eq!(
            answer_encoding(&accept(&["application/x-protobuf, application/json"])),
            Some(Encoding::Json)
        );
        assert_eq!(
            answer_encoding(&accept(&["application/json;q=0", "application/*"])),
            Some(Encoding::Protobuf)
        );
        assert_eq!(answer_encoding(&accept(&["text/plain"])), None);
    }
}
