//! JSON over HTTP to the server under test; any status is an answer, not an error.

use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::error::{Error, Result};

/// An HTTP answer: status, headers and body (parsed JSON, or a JSON string holding the text
/// when the body is not JSON, or `Null` when it is empty).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }
}

pub(crate) fn send(http: &Client, method: reqwest::Method, url: String, body: Option<&Value>) -> Result<Response> {
    let mut req = http.request(method.clone(), &url).header("Accept", "application/json");
    if let Some(body) = body {
        req = req.json(body);
    }
    let err = |source| Error::Http {
        method: method.to_string(),
        url: url.clone(),
        source,
    };
    let resp = req.send().map_err(err)?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().map_err(err)?;
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Ok(Response { status, headers, body })
}
