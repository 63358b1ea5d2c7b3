//! A thin JSON client for the Marathon REST API of one server, or the first of several that
//! answers.
//!
//! With several servers (`--server a,b,c`), a request that cannot connect goes to the next
//! one, and the client keeps using whichever answered: a request that never connected was
//! never received, so trying it elsewhere cannot apply it twice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::error::{Error, Result, ServerError};

/// How to reach the servers: from the global flags.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientConfig {
    /// Comma-separated base URLs, tried in order.
    pub(crate) servers: String,
    pub(crate) user: Option<String>,
    pub(crate) password: Option<String>,
    /// A PEM file of the CA that signed the servers' certificates (needed for https).
    pub(crate) ca_cert: Option<std::path::PathBuf>,
    pub(crate) timeout: Duration,
}

/// Talks JSON to the servers; non-2xx answers become [`Error::Server`].
#[derive(Debug)]
pub(crate) struct Client {
    bases: Vec<String>,
    /// Index into `bases` of the server that answered last.
    current: AtomicUsize,
    auth: Option<(String, Option<String>)>,
    http: reqwest::Client,
    /// Without a request timeout: event streams and followed logs stay open.
    streaming: reqwest::Client,
}

/// A successful answer: its status (200 vs 201 tells updated from created), JSON body
/// (`Null` when the body is empty, as for a 202) and the deployment it started, where the
/// server names it in a `Marathon-Deployment-Id` header (pod writes answer the pod itself).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Value,
    pub(crate) deployment: Option<String>,
}

impl Client {
    pub(crate) fn new(config: &ClientConfig) -> Result<Self> {
        let bases = config
            .servers
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(check_url)
            .collect::<Result<Vec<_>>>()?;
        if bases.is_empty() {
            return Err(Error::Usage("--server: no server given".into()));
        }
        let ca = match &config.ca_cert {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
                let cert = reqwest::Certificate::from_pem(&pem)
                    .map_err(|e| Error::Usage(format!("--ca-cert {}: {e}", path.display())))?;
                Some(cert)
            }
            None => None,
        };
        let builder = || {
            let b = reqwest::Client::builder().connect_timeout(config.timeout);
            match &ca {
                Some(cert) => b.add_root_certificate(cert.clone()),
                None => b,
            }
        };
        let build_err = |source| Error::Http {
            method: "CONNECT",
            url: bases[0].clone(),
            source,
        };
        let streaming = builder().build().map_err(build_err)?;
        let http = builder().timeout(config.timeout).build().map_err(build_err)?;
        let auth = config.user.clone().map(|u| (u, config.password.clone()));
        Ok(Client {
            bases,
            current: AtomicUsize::new(0),
            auth,
            http,
            streaming,
        })
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Value> {
        Ok(self.send(Method::GET, path, None).await?.body)
    }

    pub(crate) async fn put(&self, path: &str, body: &Value) -> Result<Reply> {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub(crate) async fn post(&self, path: &str, body: Option<&Value>) -> Result<Reply> {
        self.send(Method::POST, path, body).await
    }

    pub(crate) async fn delete(&self, path: &str) -> Result<Reply> {
        self.send(Method::DELETE, path, None).await
    }

    /// `path` starts with `/` and may carry a query string.
    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply> {
        let name = method_name(&method);
        let resp = self
            .request(&self.http, method, path, &[("Accept", "application/json")], body)
            .await?;
        let status = resp.status().as_u16();
        let deployment = resp
            .headers()
            .get("marathon-deployment-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = checked(name, path, resp).await?;
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| Error::Response {
                method: name,
                path: path.to_string(),
                message: format!("invalid JSON: {e}"),
            })?
        };
        Ok(Reply {
            status,
            body,
            deployment,
        })
    }

    /// The body of a GET that is not JSON (task output).
    pub(crate) async fn get_raw(&self, path: &str) -> Result<Vec<u8>> {
        let resp = self.request(&self.http, Method::GET, path, &[], None).await?;
        checked("GET", path, resp).await
    }

    /// A GET of a stream that stays open (server-sent events): the response, its status checked.
    pub(crate) async fn stream(&self, path: &str, headers: &[(&str, &str)]) -> Result<reqwest::Response> {
        let resp = self.request(&self.streaming, Method::GET, path, headers, None).await?;
        if !resp.status().is_success() {
            checked("GET", path, resp).await?;
            return Err(Error::Response {
                method: "GET",
                path: path.to_string(),
                message: "unexpected status".into(),
            });
        }
        Ok(resp)
    }

    /// Sends to the current server, moving on to the next ones while they cannot be reached.
    async fn request(
        &self,
        http: &reqwest::Client,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<reqwest::Response> {
        let first = self.current.load(Ordering::Relaxed);
        let mut last_err = None;
        for n in 0..self.bases.len() {
            let i = (first + n) % self.bases.len();
            let url = format!("{}{path}", self.bases[i]);
            let mut req = http.request(method.clone(), &url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some((user, password)) = &self.auth {
                req = req.basic_auth(user, password.as_ref());
            }
            if let Some(body) = body {
                req = req.json(body);
            }
            match req.send().await {
                Ok(resp) => {
                    self.current.store(i, Ordering::Relaxed);
                    return Ok(resp);
                }
                Err(source) if source.is_connect() && n + 1 < self.bases.len() => {
                    last_err = Some(Error::Http {
                        method: method_name(&method),
                        url,
                        source,
                    });
                }
                Err(source) => {
                    return Err(Error::Http {
                        method: method_name(&method),
                        url,
                        source,
                    });
                }
            }
        }
        Err(last_err.unwrap_or_else(|| Error::Usage("--server: no server given".into())))
    }
}

/// The body of a 2xx answer, or the answer as an [`Error::Server`].
async fn checked(method: &'static str, path: &str, resp: reqwest::Response) -> Result<Vec<u8>> {
    let status = resp.status().as_u16();
    let url = resp.url().to_string();
    let bytes = resp
        .bytes()
        .await
        .map_err(|source| Error::Http { method, url, source })?;
    if !(200..300).contains(&status) {
        return Err(Error::Server {
            method,
            path: path.to_string(),
            status,
            body: ServerError::parse(&bytes),
        });
    }
    Ok(bytes.to_vec())
}

fn check_url(server: &str) -> Result<String> {
    let url = reqwest::Url::parse(server).map_err(|e| Error::Usage(format!("--server {server}: {e}")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(Error::Usage(format!(
            "--server {server}: only http:// and https:// servers are supported"
        )));
    }
    Ok(server.trim_end_matches('/').to_string())
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

/// Percent-encodes a query parameter value.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(servers: &str) -> ClientConfig {
        ClientConfig {
            servers: servers.into(),
            timeout: Duration::from_secs(1),
            ..ClientConfig::default()
        }
    }

    #[test]
    fn servers_are_checked_before_sending() {
        assert!(matches!(Client::new(&config("not a url")), Err(Error::Usage(_))));
        assert!(matches!(Client::new(&config("ftp://h:1")), Err(Error::Usage(_))));
        assert!(matches!(Client::new(&config(" , ")), Err(Error::Usage(_))));
        let c = Client::new(&config("http://a:1/, https://b:2")).unwrap();
        assert_eq!(c.bases, ["http://a:1", "https://b:2"]);
        let missing = ClientConfig {
            ca_cert: Some("/nonexistent/ca.pem".into()),
            ..config("https://a:1")
        };
        assert!(matches!(Client::new(&missing), Err(Error::Read { .. })));
    }

    #[tokio::test]
    async fn unreachable_servers_are_skipped() {
        // Port 9 (discard) is closed on test machines: the request fails to connect there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).unwrap();
            let body = r#"{"ok":true}"#;
            let reply = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
            s.write_all(reply.as_bytes()).unwrap();
        });
        let c = Client::new(&config(&format!("http://127.0.0.1:9,http://127.0.0.1:{port}"))).unwrap();
        assert_eq!(c.get("/ping").await.unwrap()["ok"], true);
        assert_eq!(c.current.load(Ordering::Relaxed), 1, "the answering server is kept");
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(encode("env==prod,team"), "env%3D%3Dprod%2Cteam");
        assert_eq!(encode("a-b_c.d~"), "a-b_c.d~");
    }
}
