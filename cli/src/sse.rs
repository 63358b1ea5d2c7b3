//! Reading the server's event stream (`/v2/events`, server-sent events) one event at a time.

use std::time::Duration;

use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};

/// One event: its type and JSON payload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub(crate) kind: String,
    pub(crate) data: Value,
}

/// An open event stream.
pub(crate) struct Events {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

impl Events {
    /// Opens `/v2/events` for the given event types (all when empty); `from` replays the
    /// server's retained events after that id first.
    pub(crate) async fn open(client: &Client, types: &[String], from: Option<u64>) -> Result<Events> {
        let query: Vec<String> = types
            .iter()
            .map(|t| format!("event_type={}", crate::client::encode(t)))
            .collect();
        let path = if query.is_empty() {
            "/v2/events".to_string()
        } else {
            format!("/v2/events?{}", query.join("&"))
        };
        let from = from.map(|n| n.to_string());
        let mut headers = vec![("Accept", "text/event-stream")];
        if let Some(from) = &from {
            headers.push(("Last-Event-ID", from.as_str()));
        }
        let resp = client.stream(&path, &headers).await?;
        Ok(Events { resp, buf: Vec::new() })
    }

    /// The next event; `None` when the server closed the stream.
    pub(crate) async fn next(&mut self) -> Result<Option<Event>> {
        loop {
            if let Some(frame) = take_frame(&mut self.buf) {
                if let Some(event) = parse_frame(&frame) {
                    return Ok(Some(event));
                }
                continue;
            }
            let chunk = self.resp.chunk().await.map_err(|source| Error::Http {
                method: "GET",
                url: self.resp.url().to_string(),
                source,
            })?;
            match chunk {
                Some(bytes) => self.buf.extend_from_slice(&bytes),
                None => return Ok(None),
            }
        }
    }

    /// The next event if one comes within `wait`.
    pub(crate) async fn next_within(&mut self, wait: Duration) -> Result<Option<Event>> {
        match tokio::time::timeout(wait, self.next()).await {
            Ok(r) => r,
            Err(_) => Ok(None),
        }
    }
}

/// Cuts the first complete frame (up to a blank line) off `buf`.
fn take_frame(buf: &mut Vec<u8>) -> Option<String> {
    let end = buf.windows(2).position(|w| w == b"\n\n")?;
    let frame: Vec<u8> = buf.drain(..end + 2).collect();
    Some(String::from_utf8_lossy(&frame).into_owned())
}

/// An event from a frame's `event:` and `data:` lines; comments and keep-alives give none.
fn parse_frame(frame: &str) -> Option<Event> {
    let mut kind = None;
    let mut data = String::new();
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            kind = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    if data.is_empty() {
        return None;
    }
    let data: Value = serde_json::from_str(&data).unwrap_or(Value::String(data));
    let kind = kind
        .or_else(|| data.get("eventType").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| "message".into());
    Some(Event { kind, data })
}

/// The app an event is about, if any: `appId`, or the id of an `appDefinition`.
pub(crate) fn app_of(event: &Value) -> Option<&str> {
    event
        .get("appId")
        .and_then(Value::as_str)
        .or_else(|| event.get("appDefinition")?.get("id")?.as_str())
}

/// Whether an event concerns `app`: its own, or a deployment with an action on it.
pub(crate) fn concerns(event: &Value, app: &str) -> bool {
    if app_of(event) == Some(app) {
        return true;
    }
    let steps = event.get("plan").and_then(|p| p.get("steps")).and_then(Value::as_array);
    steps.is_some_and(|steps| {
        steps
            .iter()
            .filter_map(|s| s.get("actions")?.as_array())
            .flatten()
            .any(|a| a.get("app").and_then(Value::as_str) == Some(app))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn frames_split_on_blank_lines() {
        let mut buf =
            b"id: 1\nevent: status_update_event\ndata: {\"appId\":\"/a\"}\n\n: keep-alive\n\nid: 2\nevent: x\nda"
                .to_vec();
        let f1 = take_frame(&mut buf).unwrap();
        assert_eq!(
            parse_frame(&f1),
            Some(Event {
                kind: "status_update_event".into(),
                data: json!({"appId": "/a"})
            })
        );
        let f2 = take_frame(&mut buf).unwrap();
        assert_eq!(parse_frame(&f2), None, "a comment is no event");
        assert_eq!(take_frame(&mut buf), None, "the third frame is incomplete");
        assert_eq!(buf, b"id: 2\nevent: x\nda");
    }

    #[test]
    fn events_name_their_apps() {
        assert_eq!(app_of(&json!({"appId": "/a", "taskId": "t"})), Some("/a"));
        let plan = json!({"plan": {"steps": [{"actions": [{"action": "StartApplication", "app": "/a"}]},
                                             {"actions": [{"action": "ScaleApplication", "app": "/b"}]}]}});
        assert!(concerns(&plan, "/b"));
        assert!(!concerns(&plan, "/c"));
        assert!(concerns(
            &json!({"eventType": "api_post_event", "appDefinition": {"id": "/b"}}),
            "/b"
        ));
    }
}
