//! Plain-text tables for `get`: one row per resource, columns padded to their widest cell.
//!
//! Rows are built from the server's JSON as it is; a field the server did not send shows as
//! `-` rather than a guessed value.

use std::fmt;

use serde_json::Value;

/// A table with a header row; printed with three spaces between columns, like kubectl.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    pub(crate) headers: Vec<&'static str>,
    pub(crate) rows: Vec<Vec<String>>,
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let headers: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
        for row in std::iter::once(&headers).chain(&self.rows) {
            let last = row.len().saturating_sub(1);
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
                line.push_str(cell);
                if i < last {
                    line.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 3));
                }
            }
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// ID, INSTANCES (running/wanted), CPUS, MEM, VERSION, DEPLOYING.
pub(crate) fn apps(apps: &[Value]) -> Table {
    let rows = apps
        .iter()
        .map(|a| {
            vec![
                text(a, "id"),
                format!("{}/{}", text(a, "tasksRunning"), text(a, "instances")),
                text(a, "cpus"),
                text(a, "mem"),
                text(a, "version"),
                match a.get("deployments").and_then(Value::as_array) {
                    Some(ds) if !ds.is_empty() => "yes".into(),
                    Some(_) => "no".into(),
                    None => "-".into(),
                },
            ]
        })
        .collect();
    Table {
        headers: vec!["ID", "INSTANCES", "CPUS", "MEM", "VERSION", "DEPLOYING"],
        rows,
    }
}

/// ID, APP, HOST, PORTS, STATE, STARTED.
pub(crate) fn tasks(tasks: &[Value]) -> Table {
    let rows = tasks
        .iter()
        .map(|t| {
            let ports = match t.get("ports").and_then(Value::as_array) {
                Some(ps) if !ps.is_empty() => ps.iter().map(scalar).collect::<Vec<_>>().join(","),
                Some(_) => "".into(),
                None => "-".into(),
            };
            vec![
                text(t, "id"),
                text(t, "appId"),
                text(t, "host"),
                ports,
                text(t, "state"),
                text(t, "startedAt"),
            ]
        })
        .collect();
    Table {
        headers: vec!["ID", "APP", "HOST", "PORTS", "STATE", "STARTED"],
        rows,
    }
}

/// ID, APPS, STEP (n/total), VERSION.
pub(crate) fn deployments(deployments: &[Value]) -> Table {
    let rows = deployments
        .iter()
        .map(|d| {
            let apps = match d.get("affectedApps").and_then(Value::as_array) {
                Some(a) => a.iter().map(scalar).collect::<Vec<_>>().join(","),
                None => "-".into(),
            };
            vec![
                text(d, "id"),
                apps,
                format!("{}/{}", text(d, "currentStep"), text(d, "totalSteps")),
                text(d, "version"),
            ]
        })
        .collect();
    Table {
        headers: vec!["ID", "APPS", "STEP", "VERSION"],
        rows,
    }
}

/// APP, WAITING (instances to launch), DELAY (seconds of backoff left), SINCE.
pub(crate) fn queue(items: &[Value]) -> Table {
    let rows = items
        .iter()
        .map(|q| {
            let delay = match q.get("delay") {
                Some(d) if d["overdue"] == true => "0".into(),
                Some(d) => format!("{}s", scalar(&d["timeLeftSeconds"])),
                None => "-".into(),
            };
            vec![scalar(&q["app"]["id"]), text(q, "count"), delay, text(q, "since")]
        })
        .collect();
    Table {
        headers: vec!["APP", "WAITING", "DELAY", "SINCE"],
        rows,
    }
}

/// `apps` plus HEALTHY, GENERATION (observed/current) and the status of each condition.
pub(crate) fn apps_wide(apps: &[Value]) -> Table {
    let mut t = self::apps(apps);
    t.headers
        .extend(["HEALTHY", "GENERATION", "AVAILABLE", "PROGRESSING", "DEGRADED"]);
    for (row, a) in t.rows.iter_mut().zip(apps) {
        row.push(text(a, "tasksHealthy"));
        row.push(match (a.get("observedGeneration"), a.get("generation")) {
            (Some(o), Some(g)) => format!("{}/{}", scalar(o), scalar(g)),
            _ => "-".into(),
        });
        for kind in ["Available", "Progressing", "Degraded"] {
            row.push(condition_cell(a, kind));
        }
    }
    t
}

/// `True`, or `False` with the reason: `False (InstancesUnavailable)`.
fn condition_cell(app: &Value, kind: &str) -> String {
    let c = app
        .get("conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind));
    match c {
        Some(c) if c["status"] == "True" && kind != "Available" => format!("True ({})", scalar(&c["reason"])),
        Some(c) if c["status"] == "False" && kind == "Available" => format!("False ({})", scalar(&c["reason"])),
        Some(c) => scalar(&c["status"]),
        None => "-".into(),
    }
}

/// `tasks` plus VERSION and HEALTH (from the task's health check results).
pub(crate) fn tasks_wide(tasks: &[Value]) -> Table {
    let mut t = self::tasks(tasks);
    t.headers.extend(["VERSION", "HEALTH"]);
    for (row, task) in t.rows.iter_mut().zip(tasks) {
        row.push(text(task, "version"));
        let results = task.get("healthCheckResults").and_then(Value::as_array);
        row.push(match results {
            Some(r) if r.is_empty() => "-".into(),
            Some(r) if r.iter().all(|c| c["alive"] == true) => "healthy".into(),
            Some(_) => "unhealthy".into(),
            None => "-".into(),
        });
    }
    t
}

pub(crate) fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        None | Some(Value::Null) => "-".into(),
        Some(other) => scalar(other),
    }
}

/// Strings without quotes; whole floats without `.0` (Marathon sends `"mem": 128.0`).
pub(crate) fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn apps_table_aligns_columns() {
        let apps = [
            json!({"id": "/hello", "instances": 2, "tasksRunning": 1, "cpus": 0.1, "mem": 32.0,
                   "version": "2024-01-01T00:00:00.000Z", "deployments": [{"id": "d"}]}),
            json!({"id": "/prod/web-frontend", "instances": 10, "tasksRunning": 10, "cpus": 1.0, "mem": 128,
                   "version": "2024-01-02T00:00:00.000Z", "deployments": []}),
        ];
        let out = super::apps(&apps).to_string();
        assert_eq!(
            out,
            "\
ID                   INSTANCES   CPUS   MEM   VERSION                    DEPLOYING
/hello               1/2         0.1    32    2024-01-01T00:00:00.000Z   yes
/prod/web-frontend   10/10       1      128   2024-01-02T00:00:00.000Z   no
"
        );
    }

    #[test]
    fn tasks_and_missing_fields() {
        let tasks = [
            json!({"id": "hello.instance-1._app.1", "appId": "/hello", "host": "localhost", "ports": [31000, 31001],
                   "state": "TASK_RUNNING", "startedAt": "2024-01-01T00:00:01.000Z"}),
            json!({"id": "hello.instance-2._app.1", "appId": "/hello", "host": "localhost", "ports": [],
                   "state": "TASK_STAGING"}),
        ];
        let t = super::tasks(&tasks);
        assert_eq!(t.rows[0][3], "31000,31001");
        assert_eq!(t.rows[1][3], "");
        assert_eq!(t.rows[1][5], "-");
        assert!(
            t.to_string()
                .starts_with("ID                        APP      HOST        PORTS         STATE          STARTED\n")
        );
    }

    #[test]
    fn deployments_show_step_of_total() {
        let d = [
            json!({"id": "97c136bf", "affectedApps": ["/a", "/b"], "currentStep": 1, "totalSteps": 2,
                        "version": "2024-01-01T00:00:00.000Z"}),
        ];
        assert_eq!(
            super::deployments(&d).to_string(),
            "ID         APPS    STEP   VERSION\n97c136bf   /a,/b   1/2    2024-01-01T00:00:00.000Z\n"
        );
    }

    #[test]
    fn queue_and_wide_columns() {
        let q = [
            json!({"app": {"id": "/crash"}, "count": 1, "delay": {"timeLeftSeconds": 7, "overdue": false}, "since": "S"}),
        ];
        assert_eq!(super::queue(&q).rows, [["/crash", "1", "7s", "S"]]);
        let app = json!({"id": "/a", "instances": 1, "tasksRunning": 0, "tasksHealthy": 0, "deployments": [{"id": "d"}],
            "generation": 7, "observedGeneration": 5,
            "conditions": [{"type": "Available", "status": "False", "reason": "InstancesUnavailable"},
                           {"type": "Progressing", "status": "True", "reason": "DeploymentInProgress"},
                           {"type": "Degraded", "status": "False", "reason": "AsExpected"}]});
        let t = super::apps_wide(std::slice::from_ref(&app));
        assert_eq!(
            t.rows[0][6..],
            [
                "0",
                "5/7",
                "False (InstancesUnavailable)",
                "True (DeploymentInProgress)",
                "False"
            ]
        );
        let task = json!({"id": "t", "healthCheckResults": [{"alive": true}], "version": "V"});
        assert_eq!(super::tasks_wide(&[task]).rows[0][6..], ["V", "healthy"]);
    }

    #[test]
    fn empty_list_prints_headers_only() {
        assert_eq!(super::deployments(&[]).to_string(), "ID   APPS   STEP   VERSION\n");
    }
}
