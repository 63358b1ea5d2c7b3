//! The one error type of the client commands, and how each error maps to an exit code.

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;

/// Everything that can stop a client command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line made sense to clap but not to the command (exit 2).
    #[error("{0}")]
    Usage(String),

    /// A manifest file, directory or stdin could not be read (exit 2).
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A manifest is not valid JSON (exit 2).
    #[error("{origin}: invalid JSON: {source}")]
    Json {
        origin: String,
        #[source]
        source: serde_json::Error,
    },

    /// A manifest is not valid YAML (exit 2).
    #[error("{origin}: invalid YAML: {source}")]
    Yaml {
        origin: String,
        #[source]
        source: serde_yaml::Error,
    },

    /// A manifest parsed but does not describe apps or groups: not an object, no `id`, ... (exit 2).
    #[error("{origin}: {message}")]
    Manifest { origin: String, message: String },

    /// A manifest puts something where the API takes none: a pod inside a group document
    /// (`/v2/groups` refuses pods) (exit 2).
    #[error(
        "{origin}: {kind}s inside group documents are not supported (the groups API takes no {kind}s); write each {kind} as a document of its own"
    )]
    Unsupported { origin: String, kind: &'static str },

    /// What was waited for did not happen in time (exit 1).
    #[error("timed out after {after:?}: {waiting_for}")]
    Timeout {
        after: std::time::Duration,
        waiting_for: String,
    },

    /// The server could not be reached or the connection broke (exit 1).
    #[error("{method} {url}: {source}")]
    Http {
        method: &'static str,
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// The server answered with an error status; its Marathon error body is kept (exit 1).
    #[error("{method} {path}: {status}: {body}")]
    Server {
        method: &'static str,
        path: String,
        status: u16,
        body: ServerError,
    },

    /// What was asked for does not exist, found by the client itself, e.g. in a list (exit 1).
    #[error("{0}")]
    NotFound(String),

    /// The server answered 2xx with a body this client does not understand (exit 1).
    #[error("{method} {path}: unexpected response: {message}")]
    Response {
        method: &'static str,
        path: String,
        message: String,
    },

    /// Writing the output failed, e.g. a closed pipe (exit 1).
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
}

/// `pub type Result<T, E = Error>`, as everywhere in the workspace.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The process exit code this error stands for: 2 for local mistakes (usage, files),
    /// 1 for everything the server refused or that went wrong talking to it.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_)
            | Error::Read { .. }
            | Error::Json { .. }
            | Error::Yaml { .. }
            | Error::Manifest { .. }
            | Error::Unsupported { .. } => 2,
            Error::Timeout { .. }
            | Error::Http { .. }
            | Error::Server { .. }
            | Error::NotFound(_)
            | Error::Response { .. }
            | Error::Output(_) => 1,
        }
    }

    /// Prints the error to stderr and returns its exit code: the whole error path of `main`.
    pub fn report(&self) -> ExitCode {
        eprintln!("error: {self}");
        ExitCode::from(self.exit_code())
    }

    /// True for a 404 from the server, or an id missing from a list.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Server { status: 404, .. } | Error::NotFound(_))
    }
}

/// A Marathon error body: `{"message": ..., "details": [{"path": ..., "errors": [...]}]}`.
///
/// `details` is a list of path errors for validation failures, a plain string for parse
/// failures, and absent otherwise; bodies that are not JSON at all are kept as text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerError {
    pub message: String,
    pub details: Vec<(String, Vec<String>)>,
    /// Ids of the deployments that lock the app (409 bodies).
    pub deployments: Vec<String>,
}

impl ServerError {
    /// Reads a response body the way Marathon writes errors; never fails.
    pub fn parse(body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body).trim().to_string();
        let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice::<serde_json::Value>(body) else {
            return ServerError {
                message: text,
                ..Default::default()
            };
        };
        let message = match obj.get("message") {
            Some(serde_json::Value::String(m)) => m.clone(),
            _ => text,
        };
        let details = match obj.get("details") {
            Some(serde_json::Value::Array(items)) => items.iter().map(detail).collect(),
            Some(serde_json::Value::String(s)) => vec![(String::new(), vec![s.clone()])],
            _ => Vec::new(),
        };
        let deployments = obj
            .get("deployments")
            .and_then(|d| d.as_array())
            .map(|ds| {
                ds.iter()
                    .filter_map(|d| d.get("id")?.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        ServerError {
            message,
            details,
            deployments,
        }
    }
}

fn detail(item: &serde_json::Value) -> (String, Vec<String>) {
    let path = item.get("path").and_then(|p| p.as_str()).unwrap_or("").to_string();
    let errors = match item.get("errors") {
        Some(serde_json::Value::Array(es)) => es
            .iter()
            .map(|e| e.as_str().map(str::to_string).unwrap_or_else(|| e.to_string()))
            .collect(),
        _ => vec![item.to_string()],
    };
    (path, errors)
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.message.is_empty() {
            "(no message)"
        } else {
            &self.message
        })?;
        for (path, errors) in &self.details {
            for e in errors {
                if path.is_empty() {
                    write!(f, "\n  {e}")?;
                } else {
                    write!(f, "\n  {path}: {e}")?;
                }
            }
        }
        for d in &self.deployments {
            write!(f, "\n  locked by deployment {d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_details_are_listed_per_path() {
        let body = br#"{"message":"Object is not valid","details":[{"path":"/cpus","errors":["error.min","must be >= 0"]},{"path":"/id","errors":["bad"]}]}"#;
        let e = ServerError::parse(body);
        assert_eq!(e.message, "Object is not valid");
        assert_eq!(
            e.to_string(),
            "Object is not valid\n  /cpus: error.min\n  /cpus: must be >= 0\n  /id: bad"
        );
    }

    #[test]
    fn string_details_locks_and_plain_text() {
        let e = ServerError::parse(br#"{"message":"Invalid JSON","details":"Unexpected end"}"#);
        assert_eq!(e.to_string(), "Invalid JSON\n  Unexpected end");
        let e = ServerError::parse(br#"{"message":"App is locked","deployments":[{"id":"d1"}]}"#);
        assert_eq!(e.deployments, vec!["d1".to_string()]);
        assert!(e.to_string().ends_with("locked by deployment d1"));
        let e = ServerError::parse(b"Bad Gateway\n");
        assert_eq!(e.message, "Bad Gateway");
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        let e = Error::Server {
            method: "GET",
            path: "/v2/apps/x".into(),
            status: 404,
            body: ServerError::default(),
        };
        assert_eq!(e.exit_code(), 1);
        assert!(e.is_not_found());
    }
}
