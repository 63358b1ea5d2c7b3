//! The network probes Pacer runs itself: HTTP(S) and TCP health checks, HTTP readiness checks.

use std::time::Duration;

use schemas::{HttpResponse, ReadinessCheck, ReadinessResult};
use tokio::net::TcpStream;

use super::tracker::Outcome;

/// How much of a readiness answer's body is kept for `lastResponse`.
const BODY_LIMIT: usize = 4096;

/// One client for every probe: no proxies (tasks are reached directly), no redirects (a 3xx
/// is the answer), no connection reuse (a task that stopped accepting must fail), and no
/// certificate checks (tasks serve self-signed certificates, as Marathon accepts).
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap_or_default()
}

/// GET `url`: healthy on 2xx and 3xx, as Marathon's HTTP checks; a 1xx is ignored when asked.
pub(crate) async fn http(client: &reqwest::Client, url: &str, timeout: Duration, ignore_1xx: bool) -> Outcome {
    match client.get(url).timeout(timeout).send().await {
        Ok(res) => {
            let code = res.status().as_u16();
            match code {
                200..=399 => Outcome::Healthy,
                100..=199 if ignore_1xx => Outcome::Ignored,
                _ => Outcome::Unhealthy(format!("HTTP {code} from {url}")),
            }
        }
        Err(e) if e.is_timeout() => Outcome::Unhealthy(format!("{url} did not answer within {timeout:?}")),
        Err(e) => Outcome::Unhealthy(format!("{url}: {}", root_cause(&e))),
    }
}

/// Connects to `addr`; healthy when the connection is accepted in time.
pub(crate) async fn tcp(addr: &str, timeout: Duration) -> Outcome {
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Outcome::Healthy,
        Ok(Err(e)) => Outcome::Unhealthy(format!("{addr}: {e}")),
        Err(_) => Outcome::Unhealthy(format!("{addr} did not accept within {timeout:?}")),
    }
}

/// Runs readiness `check` against `url`: ready when the status is one the check names.
pub(crate) async fn readiness(client: &reqwest::Client, url: &str, check: &ReadinessCheck) -> ReadinessResult {
    let timeout = Duration::from_secs(check.timeout_seconds.into());
    let response = match client.get(url).timeout(timeout).send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let content_type = res
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let mut body = res.text().await.unwrap_or_default();
            if body.len() > BODY_LIMIT {
                let cut = (0..=BODY_LIMIT).rev().find(|i| body.is_char_boundary(*i)).unwrap_or(0);
                body.truncate(cut);
            }
            Some(HttpResponse {
                status,
                content_type,
                body,
            })
        }
        Err(e) => {
            tracing::debug!(url, error = %root_cause(&e), "readiness check got no answer");
            None
        }
    };
    let ready = response
        .as_ref()
        .is_some_and(|r| check.http_status_codes_for_ready.contains(&r.status));
    ReadinessResult {
        name: check.name.clone(),
        ready,
        last_response: response.filter(|_| check.preserve_last_response),
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Serves one canned HTTP answer to every connection.
    async fn serve(status: u16, body: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        format!("http://{addr}/health")
    }

    #[tokio::test]
    async fn http_follows_marathon_status_rules() {
        let c = client();
        let t = Duration::from_secs(5);
        assert_eq!(http(&c, &serve(200, "ok").await, t, false).await, Outcome::Healthy);
        assert_eq!(http(&c, &serve(302, "").await, t, false).await, Outcome::Healthy);
        let bad = http(&c, &serve(503, "").await, t, false).await;
        assert!(
            matches!(bad, Outcome::Unhealthy(ref m) if m.contains("HTTP 503")),
            "{bad:?}"
        );
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let refused = http(&c, &format!("http://{closed}/"), t, false).await;
        assert!(matches!(refused, Outcome::Unhealthy(_)));
    }

    #[tokio::test]
    async fn tcp_needs_a_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        assert_eq!(tcp(&addr, Duration::from_secs(5)).await, Outcome::Healthy);
        drop(listener);
        assert!(matches!(
            tcp(&addr, Duration::from_secs(5)).await,
            Outcome::Unhealthy(_)
        ));
    }

    #[tokio::test]
    async fn readiness_reports_status_and_keeps_the_body_when_asked() {
        let c = client();
        let mut check: ReadinessCheck = serde_json::from_str("{}").unwrap();
        let r = readiness(&c, &serve(503, "warming up").await, &check).await;
        assert!(!r.ready && r.last_response.is_none());
        check.preserve_last_response = true;
        let r = readiness(&c, &serve(503, "warming up").await, &check).await;
        let resp = r.last_response.unwrap();
        assert_eq!((resp.status, resp.body.as_str()), (503, "warming up"));
        let r = readiness(&c, &serve(200, "").await, &check).await;
        assert!(r.ready);
    }
}
