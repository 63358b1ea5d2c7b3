//! The local master's `/api/v1/scheduler` over HTTP, so that any v1 framework (another Pacer
//! included) can run on it: SUBSCRIBE answers with a RecordIO stream of protobuf events and a
//! `Mesos-Stream-Id`; every other call names that stream and is answered 202.

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
use prost::Message;
use tokio_stream::wrappers::ReceiverStream;

use crate::recordio::encode_record;
use crate::transport::{Caller, Transport, TransportError};
use crate::v1::scheduler::{Call, call};

const PROTOBUF: &str = "application/x-protobuf";
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
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with(PROTOBUF) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Expecting 'Content-Type' of {PROTOBUF}"),
        )
            .into_response();
    }
    let call = match Call::decode(body) {
        Ok(c) => c,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("Failed to parse body into Call: {e}")).into_response(),
    };
    if call.r#type == Some(call::Type::Subscribe as i32) {
        return subscribe(api, call).await;
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

async fn subscribe(api: Arc<Api>, call: Call) -> Response {
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
        encode_record(&event.encode_to_vec(), &mut buf);
        Ok::<_, Infallible>(buf.freeze())
    });
    (
        [
            (header::CONTENT_TYPE, PROTOBUF.to_string()),
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
