//! `/v2/eventSubscriptions`: HTTP callback subscribers, kept in the store under
//! `eventsub/<percent-encoded URL>` so they survive restarts and reach every server. The
//! deriver notices them in the store's changes and starts or stops their delivery.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use schemas::Record;
use serde_json::{Value, json};
use store::Op;

use super::origin;
use crate::Ctx;
use crate::error::{ApiError, Result};
use crate::json::Params;

/// The key prefix of subscriptions.
pub(crate) const KEYS: &str = "eventsub/";

/// The store key of the subscription of `url`.
pub(crate) fn key(url: &str) -> String {
    let mut k = String::with_capacity(KEYS.len() + url.len() * 3);
    k.push_str(KEYS);
    for b in url.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            k.push(b as char);
        } else {
            k.push_str(&format!("%{b:02X}"));
        }
    }
    k
}

/// The callback URL of a request, checked: Pacer delivers over plain HTTP only.
fn callback_url(raw: Option<&str>) -> Result<String> {
    let raw = raw.ok_or_else(|| ApiError::BadRequest("callbackUrl is required".into()))?;
    let url = reqwest::Url::parse(raw)
        .map_err(|e| ApiError::Unprocessable(format!("callbackUrl '{raw}' is not a valid URL: {e}")))?;
    if url.scheme() != "http" || url.host_str().is_none() {
        return Err(ApiError::Unprocessable(format!(
            "callbackUrl '{raw}' must be an http:// URL with a host"
        )));
    }
    Ok(raw.to_string())
}

/// `GET /v2/eventSubscriptions`.
pub(crate) async fn list(State(ctx): State<Ctx>) -> Response {
    let urls: Vec<String> = ctx.store.read(|s| {
        s.scan(KEYS)
            .filter_map(|(_, e)| match &e.record {
                Record::EventSubscription(url) => Some(url.clone()),
                _ => None,
            })
            .collect()
    });
    axum::Json(json!({"callbackUrls": urls})).into_response()
}

/// `POST /v2/eventSubscriptions?callbackUrl=...`: answers with the `subscribe_event`.
pub(crate) async fn subscribe(State(ctx): State<Ctx>, params: Params, req: Request) -> Result<Response> {
    let url = callback_url(params.get("callbackUrl"))?;
    ctx.store
        .write_ops(vec![Op::put(key(&url), Record::EventSubscription(url.clone()))])
        .await?;
    Ok(announce(&ctx, true, &origin::client_ip(&req), &url))
}

/// `DELETE /v2/eventSubscriptions?callbackUrl=...`: answers with the `unsubscribe_event`.
pub(crate) async fn unsubscribe(State(ctx): State<Ctx>, params: Params, req: Request) -> Result<Response> {
    let url = params
        .get("callbackUrl")
        .ok_or_else(|| ApiError::BadRequest("callbackUrl is required".into()))?;
    ctx.store.write_ops(vec![Op::delete(key(url))]).await?;
    Ok(announce(&ctx, false, &origin::client_ip(&req), url))
}

fn announce(ctx: &Ctx, subscribe: bool, client_ip: &str, url: &str) -> Response {
    let event = ctx
        .events
        .publish(super::payload::subscription(subscribe, client_ip, url));
    let body: Arc<str> = event.data.clone();
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    axum::Json(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_encode_every_url_uniquely() {
        assert_eq!(key("http://h:8/a?b=c"), "eventsub/http%3A%2F%2Fh%3A8%2Fa%3Fb%3Dc");
        assert_ne!(key("http://h/a%2F"), key("http://h/a/"));
    }

    #[test]
    fn only_plain_http_callbacks_are_accepted() {
        assert_eq!(
            callback_url(Some("http://127.0.0.1:9/cb")).unwrap(),
            "http://127.0.0.1:9/cb"
        );
        assert!(matches!(callback_url(None), Err(ApiError::BadRequest(_))));
        assert!(matches!(callback_url(Some("nope")), Err(ApiError::Unprocessable(_))));
        assert!(matches!(
            callback_url(Some("https://h/cb")),
            Err(ApiError::Unprocessable(_))
        ));
    }
}
