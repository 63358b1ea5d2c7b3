//! A thin JSON client for the Marathon REST API of one server.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::error::{Error, Result, ServerError};

/// Talks JSON to `base` (`http://host:port`); non-2xx answers become [`Error::Server`].
#[derive(Debug, Clone)]
pub(crate) struct Client {
    base: String,
    http: reqwest::Client,
}

/// A successful answer: its status (200 vs 201 tells updated from created) and JSON body
/// (`Null` when the body is empty, as for a 202).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

impl Client {
    pub(crate) fn new(server: &str, timeout: Duration) -> Result<Self> {
        let url = reqwest::Url::parse(server).map_err(|e| Error::Usage(format!("--server {server}: {e}")))?;
        if url.scheme() != "http" {
            return Err(Error::Usage(format!(
                "--server {server}: only http:// servers are supported"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|source| Error::Http {
                method: "CONNECT",
                url: server.to_string(),
                source,
            })?;
        Ok(Client {
            base: server.trim_end_matches('/').to_string(),
            http,
        })
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Value> {
        Ok(self.send(Method::GET, path, None).await?.body)
    }

    pub(crate) async fn put(&self, path: &str, body: &Value) -> Result<Reply> {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub(crate) async fn delete(&self, path: &str) -> Result<Reply> {
        self.send(Method::DELETE, path, None).await
    }

    /// `path` starts with `/` and may carry a query string.
    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply> {
        let name = method_name(&method);
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).header("Accept", "application/json");
        if let Some(body) = body {
            req = req.json(body);
        }
        let http_err = |source| Error::Http {
            method: name,
            url: url.clone(),
            source,
        };
        let resp = req.send().await.map_err(http_err)?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(http_err)?;
        if !(200..300).contains(&status) {
            return Err(Error::Server {
                method: name,
                path: path.to_string(),
                status,
                body: ServerError::parse(&bytes),
            });
        }
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| Error::Response {
                method: name,
                path: path.to_string(),
                message: format!("invalid JSON: {e}"),
            })?
        };
        Ok(Reply { status, body })
    }
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::PUT => "PUT",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "HTTP",
    }
}

/// `/v2/apps/<id without its leading slash>`; `id` is an absolute app id.
pub(crate) fn app_path(id: &schemas::PathId) -> String {
    format!("/v2/apps{id}")
}

/// Pulls a field out of a 2xx body, or says what was missing.
pub(crate) fn field<'a>(body: &'a Value, key: &str, method: &'static str, path: &str) -> Result<&'a Value> {
    body.get(key).ok_or_else(|| Error::Response {
        method,
        path: path.to_string(),
        message: format!("no \"{key}\" in the answer"),
    })
}
