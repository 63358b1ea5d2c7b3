//! `pacer rollout history|undo pod/ID` over `::versions`, and `pacer scale pod/ID N`.
//!
//! The pods API has no rollback of its own: undo reads the chosen version's spec
//! (`::versions/{v}`) and PUTs it back, which makes a new version; by default the version
//! before the current one. Scale PUTs the live spec with `scaling.instances` changed.

use std::io::Write;

use schemas::PathId;
use serde_json::{Value, json};

use super::{live, name, pod_path};
use crate::client::{Client, Reply};
use crate::error::{Error, Result};
use crate::rollout::pick;
use crate::table::{Table, scalar, text};

pub(crate) async fn history(client: &Client, id: &PathId, out: &mut dyn Write) -> Result<()> {
    let versions = versions(client, id).await?;
    let current = current(client, id).await?;
    let mut rows = Vec::new();
    for (n, v) in versions.iter().enumerate() {
        let def = client.get(&format!("{}::versions/{v}", pod_path(id))).await?;
        let mark = if *v == current { "*" } else { "" };
        rows.push(row(n + 1, mark, v, &def));
    }
    let table = Table {
        headers: vec!["REVISION", "VERSION", "INSTANCES", "CONFIG", "CONTAINERS"],
        rows,
    };
    write!(out, "{table}").map_err(Error::Output)
}

fn row(revision: usize, mark: &str, version: &str, def: &Value) -> Vec<String> {
    let containers: Vec<String> = def["containers"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .map(|c| text(c, "name"))
        .collect();
    vec![
        format!("{revision}{mark}"),
        version.to_string(),
        def.pointer("/scaling/instances").map_or("1".into(), scalar),
        def.pointer("/versionInfo/lastConfigChangeAt")
            .map_or("-".into(), scalar),
        containers.join(","),
    ]
}

pub(crate) async fn undo(
    client: &Client,
    id: &PathId,
    to_version: Option<&str>,
    force: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let versions = versions(client, id).await?;
    let current = current(client, id).await?;
    let target = pick(&versions, &current, to_version)?;
    let spec = client.get(&format!("{}::versions/{target}", pod_path(id))).await?;
    let reply = put_spec(client, id, spec, force).await?;
    writeln!(
        out,
        "{} rolled back to {target} (deployment {})",
        name(id),
        reply.deployment.as_deref().unwrap_or("-")
    )
    .map_err(Error::Output)
}

/// Sets the live pod's `scaling.instances`; returns the deployment id.
pub(crate) async fn scale(client: &Client, id: &PathId, instances: u32, force: bool) -> Result<String> {
    let spec = live(client, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("pod '{id}' does not exist")))?;
    let reply = put_spec(client, id, scaled(spec, instances), force).await?;
    Ok(reply.deployment.unwrap_or_else(|| "-".into()))
}

fn scaled(mut spec: Value, instances: u32) -> Value {
    match spec.get_mut("scaling").and_then(Value::as_object_mut) {
        Some(s) => {
            s.insert("instances".into(), json!(instances));
        }
        None => spec["scaling"] = json!({"kind": "fixed", "instances": instances}),
    }
    spec
}

/// PUTs a spec read from the server back, less its read-only fields.
async fn put_spec(client: &Client, id: &PathId, mut spec: Value, force: bool) -> Result<Reply> {
    if let Some(m) = spec.as_object_mut() {
        m.remove("version");
        m.remove("versionInfo");
    }
    let path = format!("{}{}", pod_path(id), if force { "?force=true" } else { "" });
    client.put(&path, &spec).await
}

/// The stored versions, oldest first.
async fn versions(client: &Client, id: &PathId) -> Result<Vec<String>> {
    let path = format!("{}::versions", pod_path(id));
    let Value::Array(list) = client.get(&path).await? else {
        return Err(Error::Response {
            method: "GET",
            path,
            message: "expected a list of versions".into(),
        });
    };
    let mut versions: Vec<String> = list.iter().filter_map(Value::as_str).map(str::to_string).collect();
    // Timestamps in one format sort by time.
    versions.sort();
    Ok(versions)
}

async fn current(client: &Client, id: &PathId) -> Result<String> {
    let pod = live(client, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("pod '{id}' does not exist")))?;
    Ok(text(&pod, "version"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_keeps_the_rest_of_the_spec() {
        let spec =
            json!({"id": "/p", "scaling": {"kind": "fixed", "instances": 1, "maxInstances": 5}, "containers": []});
        let s = scaled(spec, 3);
        assert_eq!(
            s["scaling"],
            json!({"kind": "fixed", "instances": 3, "maxInstances": 5})
        );
        assert_eq!(s["containers"], json!([]));
        assert_eq!(
            scaled(json!({"id": "/p"}), 0)["scaling"],
            json!({"kind": "fixed", "instances": 0})
        );
    }

    #[test]
    fn history_rows() {
        let def = json!({"scaling": {"instances": 2}, "versionInfo": {"lastConfigChangeAt": "C"},
            "containers": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(row(2, "*", "V", &def), ["2*", "V", "2", "C", "a,b"]);
        assert_eq!(row(1, "", "V", &json!({}))[2..4], ["1", "-"]);
    }
}
