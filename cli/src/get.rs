//! `pacer get apps|pods|groups|tasks|deployments|queue [ID] [-o table|wide|json|yaml|name]
//! [-l SELECTOR] [-w]`.
//!
//! Pods are shown from their PodStatus (`/v2/pods/::status`): `-o json|yaml` prints it whole
//! (the spec under `spec`), and `-l` matches the spec's labels here, as `/v2/pods` has no
//! label filter.
//!
//! Groups are one tree: `-o json|yaml` prints the GroupInfo of the group asked for (the root
//! group, so the whole tree, without an id); tables and names list the group asked for, or
//! every group below the root.
//!
//! `-w` prints the result again whenever the event stream reports a change that alters it
//! (events arriving together are handled as one).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use crate::client::{Client, app_path, encode, field};
use crate::error::{Error, Result};
use crate::groups::show as groups;
use crate::sse::Events;
use crate::table;

/// How long `-w` gathers events before fetching again.
const SETTLE: Duration = Duration::from_millis(200);

/// Show apps, pods, groups, tasks, deployments or the launch queue.
#[derive(clap::Args, Debug, Clone)]
pub struct GetArgs {
    /// What to list.
    #[arg(value_enum)]
    pub resource: Resource,
    /// apps: one app by id; pods: one pod; groups: one group by id; tasks: the tasks of this app;
    /// deployments: one deployment by id; queue: the entry of this app.
    pub id: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// Only apps (or pods) with these labels: `KEY=VALUE[,...]` or Marathon's selector syntax.
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Keep watching: print again after every change.
    #[arg(short = 'w', long)]
    pub watch: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    #[value(alias = "app")]
    Apps,
    #[value(alias = "pod")]
    Pods,
    #[value(alias = "group")]
    Groups,
    #[value(alias = "task")]
    Tasks,
    #[value(alias = "deployment")]
    Deployments,
    Queue,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Table,
    /// The table with more columns (status conditions, health).
    Wide,
    Json,
    Yaml,
    /// `kind/id` per line, for scripts.
    Name,
}

/// One resource (when an id was given) or a list of them, as the server sent them.
#[derive(Debug)]
enum Found {
    One(Value),
    List(Vec<Value>),
}

pub(crate) async fn run(client: &Client, args: &GetArgs, out: &mut dyn Write) -> Result<ExitCode> {
    if args.selector.is_some() && !matches!(args.resource, Resource::Apps | Resource::Pods) {
        return Err(Error::Usage("-l selects apps and pods only".into()));
    }
    let selector = args
        .selector
        .as_deref()
        .map(crate::apply::marathon_selector)
        .transpose()?;
    // Subscribed before the first fetch, so that no change between the two is missed.
    let mut events = if args.watch {
        Some(Events::open(client, &[], None).await?)
    } else {
        None
    };
    let mut last = String::new();
    loop {
        let found = fetch(client, args.resource, args.id.as_deref(), selector.as_deref()).await?;
        let text = render(args, found)?;
        if text != last {
            if !last.is_empty() {
                writeln!(out).map_err(Error::Output)?;
            }
            out.write_all(text.as_bytes()).map_err(Error::Output)?;
            out.flush().map_err(Error::Output)?;
            last = text;
        }
        let Some(events) = &mut events else {
            return Ok(ExitCode::SUCCESS);
        };
        loop {
            match events.next().await? {
                None => return Ok(ExitCode::SUCCESS),
                Some(e) if e.kind.starts_with("event_stream_") => continue,
                Some(_) => break,
            }
        }
        while events.next_within(SETTLE).await?.is_some() {}
    }
}

fn render(args: &GetArgs, found: Found) -> Result<String> {
    let items = |found: Found| match found {
        Found::One(v) => vec![v],
        Found::List(vs) => vs,
    };
    // The tree is printed whole as JSON or YAML; rows are its groups.
    let found = match (args.resource, found, args.output) {
        (Resource::Groups, Found::One(tree), Format::Table | Format::Wide | Format::Name) => {
            Found::List(groups::listed(&tree, args.id.is_some()).into_iter().cloned().collect())
        }
        (_, found, _) => found,
    };
    Ok(match args.output {
        Format::Json => {
            let value = match found {
                Found::One(v) => v,
                Found::List(vs) => Value::Array(vs),
            };
            let mut s = serde_json::to_string_pretty(&value).map_err(|e| Error::Output(e.into()))?;
            s.push('\n');
            s
        }
        Format::Yaml => {
            let value = match found {
                Found::One(v) => v,
                Found::List(vs) => Value::Array(vs),
            };
            serde_yaml::to_string(&value).map_err(|e| Error::Output(std::io::Error::other(e)))?
        }
        Format::Name => {
            let (kind, key) = match args.resource {
                Resource::Apps => ("app", "/id"),
                Resource::Pods => ("pod", "/id"),
                Resource::Groups => ("group", "/id"),
                Resource::Tasks => ("task/", "/id"),
                Resource::Deployments => ("deployment/", "/id"),
                Resource::Queue => ("app", "/app/id"),
            };
            items(found)
                .iter()
                .map(|v| format!("{kind}{}\n", v.pointer(key).map(table::scalar).unwrap_or_default()))
                .collect()
        }
        Format::Table | Format::Wide => {
            let rows = items(found);
            let wide = args.output == Format::Wide;
            match args.resource {
                Resource::Apps if wide => table::apps_wide(&rows),
                Resource::Apps => table::apps(&rows),
                Resource::Pods if wide => crate::pods::show::pods_wide(&rows),
                Resource::Pods => crate::pods::show::pods(&rows),
                Resource::Groups if wide => groups::groups_wide(&rows),
                Resource::Groups => groups::groups(&rows),
                Resource::Tasks if wide => table::tasks_wide(&rows),
                Resource::Tasks => table::tasks(&rows),
                Resource::Deployments => table::deployments(&rows),
                Resource::Queue => table::queue(&rows),
            }
            .to_string()
        }
    })
}

async fn fetch(client: &Client, resource: Resource, id: Option<&str>, selector: Option<&str>) -> Result<Found> {
    match (resource, id) {
        (Resource::Apps, None) => {
            // The status (conditions) is Pacer's own: asked for, as Marathon clients get none.
            let path = match selector {
                Some(s) => format!("/v2/apps?embed=apps.status&label={}", encode(s)),
                None => "/v2/apps?embed=apps.status".into(),
            };
            list(client, &path, Some("apps")).await.map(Found::List)
        }
        (Resource::Apps, Some(id)) => {
            let path = format!("{}?embed=app.status", app_path(&crate::parse_app_id(id)?));
            let body = client.get(&path).await?;
            Ok(Found::One(field(&body, "app", "GET", &path)?.clone()))
        }
        (Resource::Pods, None) => {
            let all = crate::pods::show::statuses(client, None).await?;
            let selector = selector.map(crate::pods::selector::Selector::parse).transpose()?;
            Ok(Found::List(
                all.into_iter()
                    .filter(|s| selector.as_ref().is_none_or(|sel| sel.matches(&s["spec"])))
                    .collect(),
            ))
        }
        (Resource::Pods, Some(id)) => Ok(Found::One(
            crate::pods::show::statuses(client, Some(id)).await?.remove(0),
        )),
        (Resource::Groups, id) => groups::tree(client, id, groups::TREE).await.map(Found::One),
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
        (Resource::Queue, None) => list(client, "/v2/queue", Some("queue")).await.map(Found::List),
        (Resource::Queue, Some(app)) => {
            let id = crate::parse_app_id(app)?;
            list(client, "/v2/queue", Some("queue"))
                .await?
                .into_iter()
                .find(|q| q.pointer("/app/id").and_then(Value::as_str) == Some(id.as_str()))
                .map(Found::One)
                .ok_or_else(|| Error::NotFound(format!("app '{id}' waits for nothing")))
        }
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
