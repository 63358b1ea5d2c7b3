//! Who sent the request being handled: the client address and URI that `api_post_event`
//! reports. A middleware puts them in a task-local around every handler, so the write path
//! (`desired::deploy`, called from a dozen handlers) can stage them without a parameter.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// The origin of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    pub client_ip: String,
    /// The request path, as Marathon's `getRequestURI` gives it (no query).
    pub uri: String,
    /// True for the requests Marathon reports with `api_post_event`: creating or updating
    /// apps through `/v2/apps` (not restarts, deletes or kills).
    pub posts_app: bool,
}

tokio::task_local! {
    static ORIGIN: Origin;
}

/// The origin of the request this task is handling, if any.
pub(crate) fn current() -> Option<Origin> {
    ORIGIN.try_with(Clone::clone).ok()
}

/// Runs the rest of the stack with the request's [`Origin`] in scope.
pub(crate) async fn scope(req: Request, next: Next) -> Response {
    let origin = Origin {
        client_ip: client_ip(&req),
        uri: req.uri().path().to_string(),
        posts_app: posts_app(req.method(), req.uri().path()),
    };
    ORIGIN.scope(origin, next.run(req)).await
}

/// The peer's address; `unknown` when the server was not started with connect info.
pub(crate) fn client_ip(req: &Request) -> String {
    let info = req.extensions().get::<ConnectInfo<SocketAddr>>();
    info.map_or_else(|| "unknown".to_string(), |ConnectInfo(addr)| addr.ip().to_string())
}

fn posts_app(method: &Method, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    match *method {
        Method::POST => path == "/v2/apps",
        Method::PUT | Method::PATCH => {
            path == "/v2/apps" || (path.starts_with("/v2/apps/") && !path.ends_with("/restart"))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_app_creations_and_updates_post_events() {
        assert!(posts_app(&Method::POST, "/v2/apps"));
        assert!(posts_app(&Method::PUT, "/v2/apps"));
        assert!(posts_app(&Method::PUT, "/v2/apps/prod/web"));
        assert!(posts_app(&Method::PATCH, "/v2/apps/web/"));
        assert!(!posts_app(&Method::POST, "/v2/apps/web/restart"));
        assert!(!posts_app(&Method::DELETE, "/v2/apps/web"));
        assert!(!posts_app(&Method::DELETE, "/v2/deployments/x"));
        assert!(!posts_app(&Method::POST, "/v2/tasks/delete"));
    }

    #[tokio::test]
    async fn the_origin_is_visible_inside_the_scope_only() {
        assert_eq!(current(), None);
        let o = Origin {
            client_ip: "1.2.3.4".into(),
            uri: "/v2/apps".into(),
            posts_app: true,
        };
        let seen = ORIGIN.scope(o.clone(), async { current() }).await;
        assert_eq!(seen, Some(o));
    }
}
