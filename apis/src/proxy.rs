//! A follower forwards writes to the leader, as Marathon's standbys proxy to theirs: the client
//! gets the leader's answer, with `X-Marathon-Via` naming the server that forwarded it. Reads
//! are answered from the follower's own replica.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Ctx;
use crate::error::ApiError;

const VIA: &str = "x-marathon-via";

pub(crate) async fn writes_to_leader(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let reads = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if reads || ctx.is_elected() || req.uri().path().starts_with("/internal/") {
        return next.run(req).await;
    }
    // A request already forwarded once is not forwarded again: leadership moved meanwhile.
    let leader = ctx.leader_addr().filter(|_| !req.headers().contains_key(VIA));
    let Some(leader) = leader else {
        return ApiError::Unavailable("Could not determine the current leader".into()).into_response();
    };
    match forward(&ctx, &leader, req).await {
        Ok(res) => res,
        Err(e) => ApiError::Unavailable(format!("forwarding to the leader {leader} failed: {e}")).into_response(),
    }
}

async fn forward(ctx: &Ctx, leader: &str, req: Request) -> Result<Response, Box<dyn std::error::Error>> {
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, crate::BODY_LIMIT).await?;
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = ctx
        .proxy
        .request(parts.method.clone(), format!("http://{leader}{path}"));
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            out = out.header(name, value);
        }
    }
    let via = format!("1.1 {}:{}", ctx.config.hostname, ctx.config.http_port);
    let res = out.header(VIA, &via).body(body).send().await?;
    let mut answer = Response::builder().status(res.status().as_u16());
    for (name, value) in res.headers() {
        if !matches!(name.as_str(), "transfer-encoding" | "connection" | "content-length") {
            answer = answer.header(name.as_str(), value.as_bytes());
        }
    }
    answer = answer.header(VIA, HeaderValue::from_str(&via)?);
    Ok(answer.body(Body::from(res.bytes().await?))?)
}
