//! `pacer get apps|tasks|deployments [ID] [-o table|json|yaml]`.

use std::io::Write;
use std::process::ExitCode;

use serde_json::Value;

use crate::client::{Client, app_path, field};
use crate::error::{Error, Result};
use crate::table;

/// Show apps, tasks or deployments.
#[derive(clap::Args, Debug, Clone)]
pub struct GetArgs {
    /// What to list.
    #[arg(value_enum)]
    pub resource: Resource,
    /// apps: one app by id; tasks: the tasks of this app; deployments: one deployment by id.
    pub id: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    #[value(alias = "app")]
    Apps,
    #[value(alias = "task")]
    Tasks,
    #[value(alias = "deployment")]
    Deployments,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    Yaml,
}

/// One resource (when an id was given) or a list of them, as the server sent them.
#[derive(Debug)]
enum Found {
    One(Value),
    List(Vec<Value>),
}

pub(crate) async fn run(client: &Client, args: &GetArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let found = fetch(client, args.resource, args.id.as_deref()).await?;
    let text = match args.output {
        Format::Json => {
            let value = match &found {
                Found::One(v) => v.clone(),
                Found::List(vs) => Value::Array(vs.clone()),
            };
            let mut s = serde_json::to_string_pretty(&value).map_err(|e| Error::Output(e.into()))?;
            s.push('\n');
            s
        }
        Format::Yaml => {
            let value = match &found {
                Found::One(v) => v.clone(),
                Found::List(vs) => Value::Array(vs.clone()),
            };
            serde_yaml::to_string(&value).map_err(|e| Error::Output(std::io::Error::other(e)))?
        }
        Format::Table => {
            let rows = match found {
                Found::One(v) => vec![v],
                Found::List(vs) => vs,
            };
            match args.resource {
                Resource::Apps => table::apps(&rows),
                Resource::Tasks => table::tasks(&rows),
                Resource::Deployments => table::deployments(&rows),
            }
            .to_string()
        }
    };
    out.write_all(text.as_bytes()).map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

async fn fetch(client: &Client, resource: Resource, id: Option<&str>) -> Result<Found> {
    match (resource, id) {
        (Resource::Apps, None) => list(client, "/v2/apps", Some("apps")).await.map(Found::List),
        (Resource::Apps, Some(id)) => {
            let path = app_path(&crate::parse_app_id(id)?);
            let body = client.get(&path).await?;
            Ok(Found::One(field(&body, "app", "GET", &path)?.clone()))
        }
        (Resource::Tasks, None) => list(client, "/v2/tasks", Some("tasks")).await.map(Found::List),
        (Resource::Tasks, Some(app)) => {
            let path = format!("{}/tasks", app_path(&crate::parse_app_id(app)?));
            list(client, &path, Some("tasks")).await.map(Found::List)
        }
        (Resource::Deployments, None) => list(client, "/v2/deployments", None).await.map(Found::List),
        // Marathon has no GET for a single deployment: pick it out of the list.
        (Resource::Deployments, Some(id)) => list(client, "/v2/deployments", None)
            .await?
            .into_iter()
            .find(|d| d.get("id").and_then(Value::as_str) == Some(id))
            .map(Found::One)
            .ok_or_else(|| Error::NotFound(format!("deployment '{id}' does not exist"))),
    }
}

/// GETs `path` and takes the array at `key` (or the body itself when `key` is `None`).
async fn list(client: &Client, path: &str, key: Option<&str>) -> Result<Vec<Value>> {
    let body = client.get(path).await?;
    let items = match key {
        Some(k) => field(&body, k, "GET", path)?,
        None => &body,
    };
    match items {
        Value::Array(items) => Ok(items.clone()),
        _ => Err(Error::Response {
            method: "GET",
            path: path.to_string(),
            message: "expected a list".into(),
        }),
    }
}
