//! Content negotiation between JSON and `text/plain`, and the text/plain task list that
//! HAProxy bridge scripts read (one line per app and service port, TAB-separated).

use std::fmt::Write;
use std::sync::Arc;

use axum::http::{HeaderMap, header};
use schemas::{AppDefinition, Instance, TaskState};

use crate::desired::service_ports;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Media {
    Json,
    Text,
}

impl Media {
    fn parts(self) -> (&'static str, &'static str) {
        match self {
            Media::Json => ("application", "json"),
            Media::Text => ("text", "plain"),
        }
    }
}

/// The one of `offered` the client's `Accept` rates highest; ties go to the earlier offer.
/// No `Accept` header accepts anything.
pub(crate) fn preferred(headers: &HeaderMap, offered: &[Media]) -> Option<Media> {
    let accept: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if accept.is_empty() {
        return offered.first().copied();
    }
    let ranges: Vec<(&str, &str, f32)> = accept
        .iter()
        .flat_map(|h| h.split(','))
        .filter_map(parse_range)
        .collect();
    let mut best: Option<(Media, f32)> = None;
    for &m in offered {
        let q = quality(&ranges, m);
        if q > 0.0 && best.is_none_or(|(_, bq)| q > bq) {
            best = Some((m, q));
        }
    }
    best.map(|(m, _)| m)
}

fn parse_range(s: &str) -> Option<(&str, &str, f32)> {
    let mut parts = s.split(';').map(str::trim);
    let (t, sub) = parts.next()?.split_once('/')?;
    let q = parts
        .filter_map(|p| p.strip_prefix("q="))
        .find_map(|q| q.parse::<f32>().ok())
        .unwrap_or(1.0);
    Some((t, sub, q))
}

/// The q of the most specific range matching `m` (exact, then `type/*`, then `*/*`).
fn quality(ranges: &[(&str, &str, f32)], m: Media) -> f32 {
    let (t, s) = m.parts();
    let mut best: Option<(u8, f32)> = None;
    for &(rt, rs, q) in ranges {
        let specificity = if rt.eq_ignore_ascii_case(t) && rs.eq_ignore_ascii_case(s) {
            3
        } else if rt.eq_ignore_ascii_case(t) && rs == "*" {
            2
        } else if rt == "*" && rs == "*" {
            1
        } else {
            continue;
        };
        if best.is_none_or(|(bs, _)| specificity > bs) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0.0, |(_, q)| q)
}

/// Marathon's text/plain task list: for each app and service port,
/// `<safe id>\t<service port>\t<host>:<host port>\t...\n`; an app without service ports gets
/// one line `<safe id>\t \t<host>\t...\n`. Only running tasks are listed.
pub(crate) fn haproxy(apps: &[(Arc<AppDefinition>, Vec<Arc<Instance>>)]) -> String {
    let mut out = String::new();
    for (app, instances) in apps {
        let id = app.id.safe_id();
        let running: Vec<_> = instances
            .iter()
            .filter_map(|i| i.task.as_ref())
            .filter(|t| t.state == TaskState::TASK_RUNNING)
            .collect();
        let ports = service_ports(app);
        if ports.is_empty() {
            let _ = write!(out, "{id}\t \t");
            for t in &running {
                let _ = write!(out, "{}\t", t.host);
            }
            out.push('\n');
            continue;
        }
        for (i, port) in ports.iter().enumerate() {
            let _ = write!(out, "{id}\t{port}\t");
            for t in &running {
                if let Some(hp) = t.ports.get(i) {
                    let _ = write!(out, "{}:{hp}\t", t.host);
                }
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn json_wins_ties_text_needs_asking() {
        let offered = [Media::Json, Media::Text];
        assert_eq!(preferred(&HeaderMap::new(), &offered), Some(Media::Json));
        assert_eq!(preferred(&accept("*/*"), &offered), Some(Media::Json));
        assert_eq!(preferred(&accept("text/plain"), &offered), Some(Media::Text));
        assert_eq!(preferred(&accept("text/plain, */*;q=0.1"), &offered), Some(Media::Text));
        assert_eq!(preferred(&accept("application/json"), &offered), Some(Media::Json));
        assert_eq!(preferred(&accept("image/png"), &offered), None);
        assert_eq!(
            preferred(&accept("text/*;q=0.9, application/json;q=0.5"), &offered),
            Some(Media::Text)
        );
    }
}
