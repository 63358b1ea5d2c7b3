//! `GET /v2/tasks/{taskId}/files/{stdout|stderr}?offset=N&length=M`: what a task wrote, read
//! from its sandbox on this machine (the embedded agent's `<root>/<agent>/sandboxes/<task>/`).
//!
//! The body is the raw bytes from `offset` (at most `length`, default 64 KiB, at most 1 MiB);
//! `Pacer-File-Size` tells the file's size, so a follower asks next from `offset + body
//! length`. Only the two output files of a task of a known instance are served, and a task
//! id must be a plain file name, so no request can reach outside the sandboxes.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::error::{ApiError, Result};
use crate::json::Params;
use crate::{Ctx, desired, view};

const DEFAULT_LENGTH: u64 = 64 * 1024;
const MAX_LENGTH: u64 = 1024 * 1024;

/// The file's size, sent with every answer.
pub const FILE_SIZE_HEADER: &str = "pacer-file-size";

/// A task id that is safe as one path segment: Mesos task ids as Pacer makes them use only
/// these characters.
fn plain_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

pub(crate) async fn read(
    State(ctx): State<Ctx>,
    UrlPath((task_id, name)): UrlPath<(String, String)>,
    params: Params,
) -> Result<Response> {
    if name != "stdout" && name != "stderr" {
        return Err(ApiError::NotFound(format!("No file '{name}': only stdout and stderr")));
    }
    let offset = number(&params, "offset", 0)?;
    let length = number(&params, "length", DEFAULT_LENGTH)?.min(MAX_LENGTH);
    let known = plain_name(&task_id)
        && desired::parse_task_id(&task_id)
            .is_some_and(|(app, instance)| ctx.store.read(|s| view::instance(s, &app, &instance).is_some()));
    if !known {
        return Err(ApiError::task_not_found(&task_id));
    }
    let Some(root) = ctx.config.sandbox_root.clone() else {
        return Err(ApiError::NotFound(
            "Task sandboxes are not on this server (the Mesos master is not the embedded one)".into(),
        ));
    };
    let file = find_sandbox(&root, &task_id)
        .await
        .map(|dir| dir.join(&name))
        .ok_or_else(|| ApiError::NotFound(format!("No sandbox of task '{task_id}' on this server")))?;
    let (size, bytes) = read_range(&file, offset, length)
        .await
        .map_err(|e| ApiError::NotFound(format!("Cannot read {name} of task '{task_id}': {e}")))?;
    let mut res = bytes.into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(FILE_SIZE_HEADER, HeaderValue::from(size));
    Ok(res)
}

fn number(params: &Params, key: &str, default: u64) -> Result<u64> {
    match params.get(key) {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("{key} must be a non-negative integer, not '{v}'"))),
    }
}

/// `<root>/<agent>/sandboxes/<task_id>` for whichever agent ran the task.
async fn find_sandbox(root: &Path, task_id: &str) -> Option<PathBuf> {
    let mut agents = tokio::fs::read_dir(root).await.ok()?;
    while let Ok(Some(agent)) = agents.next_entry().await {
        let dir = agent.path().join("sandboxes").join(task_id);
        if tokio::fs::metadata(&dir).await.is_ok_and(|m| m.is_dir()) {
            return Some(dir);
        }
    }
    None
}

/// The file's size and up to `length` bytes from `offset` (none past the end).
async fn read_range(file: &Path, offset: u64, length: u64) -> std::io::Result<(u64, Vec<u8>)> {
    let mut f = tokio::fs::File::open(file).await?;
    let size = f.metadata().await?.len();
    if offset >= size {
        return Ok((size, Vec::new()));
    }
    f.seek(SeekFrom::Start(offset)).await?;
    let mut buf = Vec::with_capacity(length.min(size - offset) as usize);
    f.take(length).read_to_end(&mut buf).await?;
    Ok((size, buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_task_ids() {
        assert!(plain_name("prod_web.instance-3f0c-11aa._app.2"));
        for bad in ["", ".", "..", "../x", "a/b", ".hidden", "a\\b", "a%2fb", "a b"] {
            assert!(!plain_name(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn ranges_and_sandbox_lookup() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let sandbox = root.join("host-1").join("sandboxes").join("t1");
        std::fs::create_dir_all(&sandbox).unwrap();
        std::fs::create_dir_all(root.join("host-0")).unwrap();
        std::fs::write(sandbox.join("stdout"), b"hello world").unwrap();
        assert_eq!(find_sandbox(&root, "t1").await, Some(sandbox.clone()));
        assert_eq!(find_sandbox(&root, "t2").await, None);
        let file = sandbox.join("stdout");
        assert_eq!(read_range(&file, 0, 5).await.unwrap(), (11, b"hello".to_vec()));
        assert_eq!(read_range(&file, 6, 100).await.unwrap(), (11, b"world".to_vec()));
        assert_eq!(read_range(&file, 20, 100).await.unwrap(), (11, vec![]));
    }
}
