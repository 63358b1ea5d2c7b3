//! Splits what follows `/v2/apps/` into the app or group id and the sub-resource, because app
//! ids contain slashes and axum cannot route a suffix after a catch-all.
//!
//! App ids never end in `restart`, `tasks` or `versions` (validation forbids it), so a
//! trailing keyword always names a sub-resource. `…/tasks/{taskId}` and `…/versions/{v}` are
//! only sub-resources for the methods they support (DELETE, GET); otherwise the whole path is
//! an app id, as Jersey's route matching has it.

use axum::http::Method;
use schemas::{PathId, PathIdError};

/// The resource a `/v2/apps/...` path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AppPath {
    App(PathId),
    /// `{group}/*`: every app in the group.
    GroupApps(PathId),
    /// `{group}/*/tasks`: every task of every app in the group.
    GroupTasks(PathId),
    Restart(PathId),
    Tasks(PathId),
    Task(PathId, String),
    Versions(PathId),
    Version(PathId, String),
}

pub(crate) fn parse(method: &Method, path: &str) -> Result<AppPath, PathIdError> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let id = |n: usize| PathId::parse(&segs[..segs.len() - n].join("/"));
    let (last, before) = (segs.last().copied(), segs.len().checked_sub(2).map(|i| segs[i]));
    Ok(match (before, last) {
        (_, Some("*")) => AppPath::GroupApps(id(1)?),
        (Some("*"), Some("tasks")) => AppPath::GroupTasks(id(2)?),
        (Some(_), Some("tasks")) => AppPath::Tasks(id(1)?),
        (Some(_), Some("restart")) => AppPath::Restart(id(1)?),
        (Some(_), Some("versions")) => AppPath::Versions(id(1)?),
        (Some("tasks"), Some(task)) if segs.len() > 2 && method == Method::DELETE => {
            AppPath::Task(id(2)?, task.to_string())
        }
        (Some("versions"), Some(v)) if segs.len() > 2 && method == Method::GET => {
            AppPath::Version(id(2)?, v.to_string())
        }
        _ => AppPath::App(PathId::parse(path)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(m: Method, s: &str) -> AppPath {
        parse(&m, s).unwrap()
    }
    fn id(s: &str) -> PathId {
        PathId::parse(s).unwrap()
    }

    #[test]
    fn splits_sub_resources() {
        assert_eq!(p(Method::GET, "a/b"), AppPath::App(id("/a/b")));
        assert_eq!(p(Method::GET, "a/b/*"), AppPath::GroupApps(id("/a/b")));
        assert_eq!(p(Method::GET, "*"), AppPath::GroupApps(PathId::root()));
        assert_eq!(p(Method::GET, "a/*/tasks"), AppPath::GroupTasks(id("/a")));
        assert_eq!(p(Method::POST, "a/b/restart"), AppPath::Restart(id("/a/b")));
        assert_eq!(p(Method::GET, "a/tasks"), AppPath::Tasks(id("/a")));
        assert_eq!(
            p(Method::DELETE, "a/b/tasks/a_b.instance-1._app.1"),
            AppPath::Task(id("/a/b"), "a_b.instance-1._app.1".into())
        );
        assert_eq!(p(Method::GET, "a/versions"), AppPath::Versions(id("/a")));
        assert_eq!(
            p(Method::GET, "a/versions/2020-01-01T00:00:00.000Z"),
            AppPath::Version(id("/a"), "2020-01-01T00:00:00.000Z".into())
        );
    }

    #[test]
    fn keywords_elsewhere_are_part_of_the_id() {
        // `/tasks/x` is a valid app id: only the last segment is reserved.
        assert_eq!(p(Method::GET, "tasks/x"), AppPath::App(id("/tasks/x")));
        assert_eq!(p(Method::DELETE, "tasks/x"), AppPath::App(id("/tasks/x")));
        assert_eq!(p(Method::GET, "a/tasks/x"), AppPath::App(id("/a/tasks/x")));
        assert_eq!(p(Method::PUT, "a/versions/x"), AppPath::App(id("/a/versions/x")));
        // A bare keyword is an (invalid) app id; validation rejects it later.
        assert_eq!(p(Method::PUT, "tasks"), AppPath::App(id("/tasks")));
    }
}
