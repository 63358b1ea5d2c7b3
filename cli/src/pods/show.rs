//! `pacer get pods [ID]` and `pacer describe pod ID`, from Marathon's PodStatus
//! (`GET /v2/pods/::status`, `/v2/pods/{id}::status`): the spec, the pod's status and each
//! instance with its containers' Mesos task states, and Pacer's GitOps status (generation and
//! conditions), asked for with `embed=status` (a Marathon server ignores it).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use serde_json::Value;

use super::{affecting, parse_pod_id, pod_path};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::table::{Table, scalar, text};

/// The PodStatus of every pod (`None`) or of one.
pub(crate) async fn statuses(client: &Client, raw: Option<&str>) -> Result<Vec<Value>> {
    let Some(raw) = raw else {
        const ALL: &str = "/v2/pods/::status?embed=status";
        return match client.get(ALL).await? {
            Value::Array(list) => Ok(list),
            _ => Err(Error::Response {
                method: "GET",
                path: ALL.into(),
                message: "expected a list".into(),
            }),
        };
    };
    let id = parse_pod_id(raw)?;
    match client.get(&format!("{}::status?embed=status", pod_path(&id))).await {
        Ok(s) => Ok(vec![s]),
        Err(e) if e.is_not_found() => Err(Error::NotFound(format!("pod '{id}' does not exist"))),
        Err(e) => Err(e),
    }
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// An instance runs when each of its containers does.
fn running(instance: &Value) -> bool {
    let cs = list(instance, "containers");
    !cs.is_empty() && cs.iter().all(|c| c["status"] == "TASK_RUNNING")
}

/// `running/wanted` of a PodStatus.
pub(crate) fn instances_cell(status: &Value) -> String {
    let up = list(status, "instances").iter().filter(|i| running(i)).count();
    // A spec without scaling has Marathon's default, one instance.
    let wanted = status
        .pointer("/spec/scaling/instances")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    format!("{up}/{wanted}")
}

fn containers(status: &Value) -> String {
    let names: Vec<String> = list(&status["spec"], "containers")
        .iter()
        .map(|c| text(c, "name"))
        .collect();
    if names.is_empty() { "-".into() } else { names.join(",") }
}

/// ID, INSTANCES (running/wanted), STATUS, CONTAINERS, VERSION.
pub(crate) fn pods(statuses: &[Value]) -> Table {
    let rows = statuses
        .iter()
        .map(|s| {
            vec![
                text(s, "id"),
                instances_cell(s),
                text(s, "status"),
                containers(s),
                text(&s["spec"], "version"),
            ]
        })
        .collect();
    Table {
        headers: vec!["ID", "INSTANCES", "STATUS", "CONTAINERS", "VERSION"],
        rows,
    }
}

/// cpus, mem and disk one instance takes: its containers' and its executor's, as the server
/// counts them (`PodDefinition::instance_resources`), from the spec as the server sent it.
fn per_instance(spec: &Value) -> Option<[f64; 3]> {
    let containers = spec.get("containers")?.as_array()?;
    let mut sum = [0.0; 3];
    for r in containers
        .iter()
        .map(|c| &c["resources"])
        .chain([&spec["executorResources"]])
    {
        for (s, k) in sum.iter_mut().zip(["cpus", "mem", "disk"]) {
            *s += r.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        }
    }
    Some(sum)
}

/// A sum of resources without the float noise of adding them (`0.30000000000000004`).
fn num(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `pods` plus CPUS and MEM per instance and the HOSTS the instances run on.
pub(crate) fn pods_wide(statuses: &[Value]) -> Table {
    let mut t = pods(statuses);
    t.headers.extend(["CPUS", "MEM", "HOSTS"]);
    for (row, s) in t.rows.iter_mut().zip(statuses) {
        match per_instance(&s["spec"]) {
            Some([cpus, mem, _]) => {
                row.push(num(cpus));
                row.push(num(mem));
            }
            None => row.extend(["-".to_string(), "-".to_string()]),
        }
        let hosts: BTreeSet<String> = list(s, "instances")
            .iter()
            .filter_map(|i| i.get("agentHostname")?.as_str().map(str::to_string))
            .collect();
        row.push(if hosts.is_empty() {
            "<none>".into()
        } else {
            hosts.into_iter().collect::<Vec<_>>().join(",")
        });
    }
    t
}

pub(crate) async fn describe_pod(client: &Client, raw: &str, out: &mut dyn Write) -> Result<ExitCode> {
    let id = parse_pod_id(raw)?;
    let status = statuses(client, Some(raw)).await?.remove(0);
    let deployments = client.get("/v2/deployments").await?;
    let mine: Vec<Value> = affecting(&deployments, &id).into_iter().cloned().collect();
    out.write_all(describe(&status, &mine).as_bytes())
        .map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

/// A container's command: its shell line, its argv, or the image's entrypoint.
fn command(c: &Value) -> String {
    match c.pointer("/exec/command") {
        Some(cmd) => match (cmd.get("shell"), cmd.get("argv")) {
            (Some(s), _) => scalar(s),
            (_, Some(Value::Array(a))) => a.iter().map(scalar).collect::<Vec<_>>().join(" "),
            _ => "-".into(),
        },
        None => "<image entrypoint>".into(),
    }
}

fn endpoints(c: &Value) -> String {
    let eps: Vec<String> = list(c, "endpoints")
        .iter()
        .map(|e| {
            let mut s = text(e, "name");
            if let Some(p) = e.get("allocatedHostPort").or_else(|| e.get("hostPort")) {
                let _ = write!(s, ":{}", scalar(p));
            }
            if let Some(p) = e.get("containerPort") {
                let _ = write!(s, "->{}", scalar(p));
            }
            s
        })
        .collect();
    if eps.is_empty() { "-".into() } else { eps.join(",") }
}

fn describe(status: &Value, deployments: &[Value]) -> String {
    let mut s = String::new();
    let line = |s: &mut String, k: &str, v: String| {
        let _ = writeln!(s, "{:<14}{v}", format!("{k}:"));
    };
    let spec = &status["spec"];
    line(&mut s, "Name", text(status, "id"));
    line(&mut s, "Version", text(spec, "version"));
    if status.get("generation").is_some() {
        line(
            &mut s,
            "Generation",
            format!(
                "{} (observed {})",
                text(status, "generation"),
                text(status, "observedGeneration")
            ),
        );
    }
    line(
        &mut s,
        "Status",
        format!("{} since {}", text(status, "status"), text(status, "statusSince")),
    );
    let (up_wanted, n) = (instances_cell(status), list(status, "instances").len());
    line(&mut s, "Instances", format!("{up_wanted} running ({n} known)"));
    if let Some([cpus, mem, disk]) = per_instance(spec) {
        line(
            &mut s,
            "Resources",
            format!(
                "cpus {}, mem {} MiB, disk {} MiB per instance",
                num(cpus),
                num(mem),
                num(disk)
            ),
        );
    }
    let labels: Vec<String> = spec["labels"]
        .as_object()
        .map(|l| l.iter().map(|(k, v)| format!("{k}={}", scalar(v))).collect())
        .unwrap_or_default();
    line(
        &mut s,
        "Labels",
        if labels.is_empty() {
            "<none>".into()
        } else {
            labels.join(", ")
        },
    );
    let networks: Vec<String> = list(spec, "networks").iter().map(|n| text(n, "mode")).collect();
    line(&mut s, "Networks", networks.join(","));
    let constraints: Vec<String> = list(&spec["scheduling"]["placement"], "constraints")
        .iter()
        .map(|c| {
            let parts = ["fieldName", "operator", "value"];
            parts
                .iter()
                .filter_map(|k| c.get(*k).map(scalar))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    if !constraints.is_empty() {
        line(&mut s, "Constraints", constraints.join(", "));
    }

    if status.get("conditions").is_some() {
        let rows = list(status, "conditions")
            .iter()
            .map(|c| {
                ["type", "status", "reason", "lastTransitionTime", "message"]
                    .map(|k| text(c, k))
                    .to_vec()
            })
            .collect();
        section(
            &mut s,
            "Conditions",
            Table {
                headers: vec!["TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"],
                rows,
            },
        );
    }

    let rows = list(spec, "containers")
        .iter()
        .map(|c| {
            vec![
                text(c, "name"),
                c.pointer("/image/id").map_or("-".into(), scalar),
                command(c),
                text(&c["resources"], "cpus"),
                text(&c["resources"], "mem"),
                endpoints(c),
            ]
        })
        .collect();
    section(
        &mut s,
        "Containers",
        Table {
            headers: vec!["NAME", "IMAGE", "COMMAND", "CPUS", "MEM", "ENDPOINTS"],
            rows,
        },
    );
    let rows = list(status, "instances")
        .iter()
        .map(|i| {
            ["id", "status", "agentHostname", "agentId", "statusSince"]
                .map(|k| text(i, k))
                .to_vec()
        })
        .collect();
    section(
        &mut s,
        "Instances",
        Table {
            headers: vec!["ID", "STATUS", "HOST", "AGENT", "SINCE"],
            rows,
        },
    );
    let rows = list(status, "instances")
        .iter()
        .flat_map(|i| {
            list(i, "containers").iter().map(move |c| {
                vec![
                    text(i, "id"),
                    text(c, "name"),
                    text(c, "status"),
                    endpoints(c),
                    text(c, "message"),
                ]
            })
        })
        .collect();
    section(
        &mut s,
        "Container states",
        Table {
            headers: vec!["INSTANCE", "CONTAINER", "STATE", "ENDPOINTS", "MESSAGE"],
            rows,
        },
    );
    let rows = deployments
        .iter()
        .map(|d| {
            let actions: Vec<String> = list(d, "currentActions").iter().map(|a| text(a, "action")).collect();
            vec![
                text(d, "id"),
                format!("{}/{}", text(d, "currentStep"), text(d, "totalSteps")),
                if actions.is_empty() {
                    "-".into()
                } else {
                    actions.join(",")
                },
                text(d, "version"),
            ]
        })
        .collect();
    section(
        &mut s,
        "Deployments",
        Table {
            headers: vec!["ID", "STEP", "ACTIONS", "VERSION"],
            rows,
        },
    );
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

    fn status() -> Value {
        json!({"id": "/p", "status": "STABLE", "statusSince": "S",
            "spec": {"id": "/p", "version": "V1", "labels": {"team": "a"}, "networks": [{"mode": "host"}],
                     "scaling": {"kind": "fixed", "instances": 2},
                     "executorResources": {"cpus": 0.1, "mem": 32, "disk": 10},
                     "containers": [
                        {"name": "web", "exec": {"command": {"shell": "sleep 100"}}, "resources": {"cpus": 0.2, "mem": 64},
                         "endpoints": [{"name": "http", "hostPort": 0}]},
                        {"name": "side", "image": {"kind": "DOCKER", "id": "busybox"}, "resources": {"cpus": 0.1, "mem": 16}}]},
            "instances": [
                {"id": "p.instance-1", "status": "STABLE", "statusSince": "T", "agentHostname": "h1", "agentId": "a1",
                 "containers": [
                    {"name": "web", "status": "TASK_RUNNING", "endpoints": [{"name": "http", "allocatedHostPort": 31005}]},
                    {"name": "side", "status": "TASK_RUNNING", "endpoints": []}]},
                {"id": "p.instance-2", "status": "STAGING", "agentHostname": "h2", "agentId": "a2",
                 "containers": [{"name": "web", "status": "TASK_STAGING"}, {"name": "side", "status": "TASK_RUNNING"}]}]})
    }

    #[test]
    fn sums_print_without_noise() {
        assert_eq!(num(0.1 + 0.2), "0.3");
        assert_eq!(num(112.0), "112");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(0.125), "0.125");
    }

    #[test]
    fn tables() {
        let s = [status()];
        assert_eq!(
            pods(&s).to_string(),
            "ID   INSTANCES   STATUS   CONTAINERS   VERSION\n/p   1/2         STABLE   web,side     V1\n"
        );
        let wide = pods_wide(&s);
        assert_eq!(wide.rows[0][5..], ["0.4", "112", "h1,h2"]);
        let empty = json!({"id": "/q", "status": "DEGRADED", "spec": {"containers": []}, "instances": []});
        assert_eq!(pods_wide(&[empty]).rows[0][1..4], ["0/1", "DEGRADED", "-"]);
    }

    #[test]
    fn description() {
        let d = json!({"id": "d1", "currentStep": 1, "totalSteps": 2, "version": "V1",
            "currentActions": [{"action": "ScalePod", "pod": "/p"}]});
        let text = describe(&status(), &[d]);
        assert!(
            text.starts_with("Name:         /p\nVersion:      V1\nStatus:       STABLE since S\nInstances:    1/2 running (2 known)\n"),
            "{text}"
        );
        assert!(
            text.contains("Resources:    cpus 0.4, mem 112 MiB, disk 10 MiB per instance\n"),
            "{text}"
        );
        assert!(text.contains("Labels:       team=a\n"), "{text}");
        let words = |start: &str| -> Vec<String> {
            let l = text.lines().find(|l| l.trim_start().starts_with(start)).expect(start);
            l.split_whitespace().map(String::from).collect()
        };
        assert_eq!(words("web "), ["web", "-", "sleep", "100", "0.2", "64", "http:0"]);
        assert_eq!(
            words("side "),
            ["side", "busybox", "<image", "entrypoint>", "0.1", "16", "-"]
        );
        assert_eq!(words("p.instance-1 "), ["p.instance-1", "STABLE", "h1", "a1", "T"]);
        assert!(
            text.contains("p.instance-1   web         TASK_RUNNING   http:31005"),
            "{text}"
        );
        assert!(text.contains("p.instance-2   web         TASK_STAGING"), "{text}");
        assert!(
            text.ends_with("Deployments:\n  ID   STEP   ACTIONS    VERSION\n  d1   1/2    ScalePod   V1\n"),
            "{text}"
        );
        let none = describe(&json!({"id": "/q", "spec": {}}), &[]);
        assert!(none.contains("Containers:\n  <none>\nInstances:\n  <none>\n"), "{none}");
    }

    #[test]
    fn description_with_gitops_status_and_constraints() {
        let mut st = status();
        st["generation"] = json!(5);
        st["observedGeneration"] = json!(4);
        st["conditions"] = json!([
            {"type": "Available", "status": "False", "reason": "InstancesUnavailable", "lastTransitionTime": "T1",
             "message": "1/2 instances run the current config and are healthy"},
            {"type": "Progressing", "status": "True", "reason": "DeploymentInProgress", "lastTransitionTime": "T2",
             "message": "deployment d1 at step 1/2"}]);
        st["spec"]["scheduling"] = json!({"placement": {"constraints": [
            {"fieldName": "hostname", "operator": "UNIQUE"}, {"fieldName": "rack", "operator": "LIKE", "value": "r[12]"}]}});
        let text = describe(&st, &[]);
        assert!(
            text.starts_with("Name:         /p\nVersion:      V1\nGeneration:   5 (observed 4)\nStatus:       STABLE"),
            "{text}"
        );
        assert!(
            text.contains("Constraints:  hostname UNIQUE, rack LIKE r[12]\n"),
            "{text}"
        );
        assert!(text.contains("Conditions:\n  TYPE          STATUS   REASON"), "{text}");
        assert!(
            text.contains("  Progressing   True     DeploymentInProgress   T2      deployment d1 at step 1/2\n"),
            "{text}"
        );
        let plain = describe(&status(), &[]);
        assert!(
            !plain.contains("Conditions:") && !plain.contains("Generation:"),
            "{plain}"
        );
    }
}
