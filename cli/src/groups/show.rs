//! `pacer get groups [ID]` and `pacer describe group ID`: groups as tables and descriptions,
//! read from `GET /v2/groups/{id}` with the app counts embedded.

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use schemas::PathId;
use serde_json::Value;

use super::{fetch, parse_group_id};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::table::{self, Table, scalar, text};

/// What `get` and `describe` ask of a group: the whole tree, with each app's counts.
pub(crate) const TREE: &str = "?embed=group.groups&embed=group.apps&embed=group.apps.counts";

/// The GroupInfo of `raw` (the root group when `None`); a missing group is an error.
pub(crate) async fn tree(client: &Client, raw: Option<&str>, query: &str) -> Result<Value> {
    let id = raw.map(parse_group_id).transpose()?.unwrap_or_else(PathId::root);
    fetch(client, &id, query)
        .await?
        .ok_or_else(|| Error::NotFound(format!("group '{id}' does not exist")))
}

/// The groups a listing shows: the one asked for, or every group below the root.
pub(crate) fn listed(tree: &Value, one: bool) -> Vec<&Value> {
    if one {
        return vec![tree];
    }
    let mut out = Vec::new();
    below(tree, &mut out);
    out
}

fn below<'a>(group: &'a Value, out: &mut Vec<&'a Value>) {
    for g in list(group, "groups") {
        out.push(g);
        below(g, out);
    }
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Every app of a group, its subgroups' included.
fn all_apps(group: &Value) -> Vec<&Value> {
    let mut out: Vec<&Value> = list(group, "apps").iter().collect();
    for g in list(group, "groups") {
        out.extend(all_apps(g));
    }
    out
}

fn count(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// ID, APPS, GROUPS (direct members), DEPENDENCIES, VERSION.
pub(crate) fn groups(groups: &[Value]) -> Table {
    let rows = groups
        .iter()
        .map(|g| {
            let deps: Vec<String> = list(g, "dependencies").iter().map(scalar).collect();
            vec![
                text(g, "id"),
                list(g, "apps").len().to_string(),
                list(g, "groups").len().to_string(),
                if deps.is_empty() {
                    "<none>".into()
                } else {
                    deps.join(",")
                },
                text(g, "version"),
            ]
        })
        .collect();
    Table {
        headers: vec!["ID", "APPS", "GROUPS", "DEPENDENCIES", "VERSION"],
        rows,
    }
}

/// `groups` plus ENFORCEROLE and INSTANCES (running/wanted over every app below).
pub(crate) fn groups_wide(gs: &[Value]) -> Table {
    let mut t = groups(gs);
    t.headers.extend(["ENFORCEROLE", "INSTANCES"]);
    for (row, g) in t.rows.iter_mut().zip(gs) {
        let apps = all_apps(g);
        let running: u64 = apps.iter().map(|a| count(a, "tasksRunning")).sum();
        let wanted: u64 = apps.iter().map(|a| count(a, "instances")).sum();
        row.push(text(g, "enforceRole"));
        row.push(format!("{running}/{wanted}"));
    }
    t
}

/// Marathon's app status: Deploying, Suspended (0 instances), Running or Waiting.
fn status(app: &Value) -> &'static str {
    if !list(app, "deployments").is_empty() {
        "Deploying"
    } else if count(app, "instances") == 0 {
        "Suspended"
    } else if count(app, "tasksRunning") >= count(app, "instances") {
        "Running"
    } else {
        "Waiting"
    }
}

pub(crate) async fn describe_group(client: &Client, raw: &str, out: &mut dyn Write) -> Result<ExitCode> {
    let id = parse_group_id(raw)?;
    let query = format!("{TREE}&embed=group.apps.deployments");
    let group = tree(client, Some(raw), &query).await?;
    let deployments: Vec<Value> = client
        .get("/v2/deployments")
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default();
    let touching: Vec<Value> = deployments
        .into_iter()
        .filter(|d| {
            list(d, "affectedApps")
                .iter()
                .filter_map(|a| PathId::parse(a.as_str()?).ok())
                .any(|a| a.is_within(&id))
        })
        .collect();
    out.write_all(describe(&group, &touching).as_bytes())
        .map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

fn describe(group: &Value, deployments: &[Value]) -> String {
    let mut s = String::new();
    let line = |s: &mut String, k: &str, v: String| {
        let _ = writeln!(s, "{:<14}{v}", format!("{k}:"));
    };
    let apps = all_apps(group);
    line(&mut s, "Name", text(group, "id"));
    line(&mut s, "Version", text(group, "version"));
    line(&mut s, "Enforce role", text(group, "enforceRole"));
    let deps: Vec<String> = list(group, "dependencies").iter().map(scalar).collect();
    line(
        &mut s,
        "Dependencies",
        if deps.is_empty() {
            "<none>".into()
        } else {
            deps.join(", ")
        },
    );
    line(
        &mut s,
        "Instances",
        format!(
            "{} running of {} wanted in {} app(s)",
            apps.iter().map(|a| count(a, "tasksRunning")).sum::<u64>(),
            apps.iter().map(|a| count(a, "instances")).sum::<u64>(),
            apps.len()
        ),
    );
    let app_rows = apps
        .iter()
        .map(|a| {
            vec![
                text(a, "id"),
                format!("{}/{}", text(a, "tasksRunning"), text(a, "instances")),
                text(a, "tasksHealthy"),
                status(a).to_string(),
                text(a, "version"),
            ]
        })
        .collect();
    let apps_table = Table {
        headers: vec!["ID", "INSTANCES", "HEALTHY", "STATUS", "VERSION"],
        rows: app_rows,
    };
    section(&mut s, "Apps", apps_table);
    let below: Vec<Value> = listed(group, false).into_iter().cloned().collect();
    section(&mut s, "Groups", groups(&below));
    section(&mut s, "Deployments", table::deployments(deployments));
    s
}

fn section(s: &mut String, title: &str, table: Table) {
    let _ = writeln!(s, "{title}:");
    if table.rows.is_empty() {
        s.push_str("  <none>\n");
        return;
    }
    for l in table.to_string().lines() {
        let _ = writeln!(s, "  {l}");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tree() -> Value {
        json!({"id": "/", "apps": [], "dependencies": [], "version": "V0", "enforceRole": false, "groups": [
            {"id": "/shop", "dependencies": ["/db"], "version": "V1", "enforceRole": true,
             "apps": [{"id": "/shop/web", "instances": 2, "tasksRunning": 1, "tasksHealthy": 0, "deployments": [{"id": "d1"}], "version": "V1"}],
             "groups": [{"id": "/shop/back", "dependencies": [], "version": "V2", "enforceRole": false,
                         "apps": [{"id": "/shop/back/api", "instances": 3, "tasksRunning": 3, "tasksHealthy": 3, "deployments": [], "version": "V2"},
                                  {"id": "/shop/back/off", "instances": 0, "tasksRunning": 0, "deployments": [], "version": "V2"}],
                         "groups": []}]},
            {"id": "/db", "dependencies": [], "version": "V3", "enforceRole": false, "apps": [], "groups": []}]})
    }

    #[test]
    fn listings_and_tables() {
        let t = tree();
        let all: Vec<Value> = listed(&t, false).into_iter().cloned().collect();
        assert_eq!(
            all.iter().map(|g| g["id"].as_str().unwrap()).collect::<Vec<_>>(),
            ["/shop", "/shop/back", "/db"]
        );
        assert_eq!(listed(&t, true).len(), 1);
        assert_eq!(
            groups(&all).to_string(),
            "\
ID           APPS   GROUPS   DEPENDENCIES   VERSION
/shop        1      1        /db            V1
/shop/back   2      0        <none>         V2
/db          0      0        <none>         V3
"
        );
        let wide = groups_wide(&all);
        assert_eq!(wide.rows[0][5..], ["true", "4/5"]);
        assert_eq!(wide.rows[2][5..], ["false", "0/0"]);
    }

    #[test]
    fn description_of_a_group() {
        let t = tree();
        let shop = &t["groups"][0];
        let d = json!({"id": "d1", "affectedApps": ["/shop/web"], "currentStep": 1, "totalSteps": 2, "version": "V1"});
        let text = describe(shop, &[d]);
        assert!(
            text.starts_with("Name:         /shop\nVersion:      V1\nEnforce role: true\nDependencies: /db\n"),
            "{text}"
        );
        assert!(
            text.contains("Instances:    4 running of 5 wanted in 3 app(s)\n"),
            "{text}"
        );
        let row = |id: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(id))
                .unwrap()
                .to_string()
        };
        let words = |l: String| l.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(words(row("/shop/web ")), ["/shop/web", "1/2", "0", "Deploying", "V1"]);
        assert_eq!(
            words(row("/shop/back/api")),
            ["/shop/back/api", "3/3", "3", "Running", "V2"]
        );
        assert_eq!(words(row("/shop/back/off"))[3], "Suspended");
        assert!(text.contains("Groups:\n  ID           APPS"), "{text}");
        assert!(text.contains("Deployments:\n  ID   APPS        STEP"), "{text}");
        let empty = describe(&t["groups"][1], &[]);
        assert!(
            empty.ends_with("Apps:\n  <none>\nGroups:\n  <none>\nDeployments:\n  <none>\n"),
            "{empty}"
        );
    }
}
