//! Turns an app and one of its instances into the Mesos TaskInfo that runs it, with the task
//! environment Marathon gives (PORT0.., PORTS, HOST, MARATHON_APP_*, ...).

use mesos::v1::{
    AgentId, CommandInfo, DurationInfo, Environment, HealthCheck, KillPolicy, Label, Labels, Resource, TaskId,
    TaskInfo, environment::Variable, health_check, resource,
};
use schemas::{AppDefinition, CheckRunner, EnvValue};

#[cfg(test)]
use mesos::v1::value;

/// What an offer gave one task: where it runs and which host ports it got.
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    pub agent_id: String,
    pub hostname: String,
    pub ports: Vec<u32>,
    /// The offer's resources the task takes, each with the role it was offered with (the
    /// matcher's [`super::matcher::Taken`]).
    pub resources: Vec<Resource>,
    /// The role the offer was allocated to: a MULTI_ROLE framework names it on every resource
    /// it uses.
    pub allocation_role: Option<String>,
}

/// The TaskInfo for `task_id` of `app`, placed as `placement` says.
pub fn build_task_info(app: &AppDefinition, task_id: &str, placement: &Placement) -> TaskInfo {
    let (shell, value, arguments) = match (&app.cmd, &app.args) {
        // A command of plain words needs no shell: exec it directly, one process per task.
        (Some(cmd), _) => match plain_words(cmd) {
            Some(words) => (false, words[0].clone(), words),
            None => (true, cmd.clone(), Vec::new()),
        },
        (None, Some(args)) => (false, args.first().cloned().unwrap_or_default(), args.clone()),
        (None, None) => (true, String::new(), Vec::new()),
    };
    let command = CommandInfo {
        shell: Some(shell),
        value: Some(value),
        arguments,
        user: app.user.clone(),
        environment: Some(Environment {
            variables: task_env(app, task_id, placement)
                .into_iter()
                .map(|(name, value)| Variable {
                    name,
                    value: Some(value),
                    ..Default::default()
                })
                .collect(),
        }),
        ..Default::default()
    };
    TaskInfo {
        name: app.id.safe_id(),
        task_id: TaskId {
            value: task_id.to_string(),
        },
        agent_id: AgentId {
            value: placement.agent_id.clone(),
        },
        resources: placement
            .resources
            .iter()
            .cloned()
            .map(|mut r| {
                r.allocation_info = placement
                    .allocation_role
                    .clone()
                    .map(|role| resource::AllocationInfo { role: Some(role) });
                r
            })
            .collect(),
        command: Some(command),
        health_check: agent_health_check(app, &placement.ports),
        kill_policy: app.task_kill_grace_period_seconds.map(|s| KillPolicy {
            grace_period: Some(DurationInfo {
                nanoseconds: i64::from(s) * 1_000_000_000,
            }),
        }),
        labels: (!app.labels.is_empty()).then(|| Labels {
            labels: app
                .labels
                .iter()
                .map(|(k, v)| Label {
                    key: k.clone(),
                    value: Some(v.clone()),
                })
                .collect(),
        }),
        ..Default::default()
    }
}

/// The one health check the agent runs for the task (`COMMAND`, `MESOS_HTTP`, `MESOS_HTTPS`,
/// `MESOS_TCP`); Pacer probes the others itself. `maxConsecutiveFailures: 0` means "never
/// kill" for every kind of check, as for Marathon's own (Mesos alone would kill at once).
fn agent_health_check(app: &AppDefinition, ports: &[u32]) -> Option<HealthCheck> {
    use health_check::{HttpCheckInfo, TcpCheckInfo, Type};
    let check = app.health_checks.iter().find(|c| c.runner() == CheckRunner::Agent)?;
    let port = || {
        check
            .port
            .or_else(|| ports.get(check.port_index.unwrap_or(0) as usize).copied())
    };
    let mut hc = HealthCheck {
        delay_seconds: Some(f64::from(check.delay_seconds)),
        interval_seconds: Some(f64::from(check.interval_seconds)),
        timeout_seconds: Some(f64::from(check.timeout_seconds)),
        consecutive_failures: Some(check.max_consecutive_failures),
        grace_period_seconds: Some(f64::from(check.grace_period_seconds)),
        ..Default::default()
    };
    match check.protocol.as_str() {
        "COMMAND" => {
            hc.r#type = Some(Type::Command as i32);
            hc.command = Some(CommandInfo {
                shell: Some(true),
                value: check.command.as_ref().map(|c| c.value.clone()),
                ..Default::default()
            });
        }
        "MESOS_HTTP" | "MESOS_HTTPS" => {
            hc.r#type = Some(Type::Http as i32);
            hc.http = Some(HttpCheckInfo {
                port: port()?,
                path: Some(check.path.clone().unwrap_or_else(|| "/".into())),
                scheme: Some(
                    if check.protocol == "MESOS_HTTPS" {
                        "https"
                    } else {
                        "http"
                    }
                    .into(),
                ),
                ..Default::default()
            });
        }
        "MESOS_TCP" => {
            hc.r#type = Some(Type::Tcp as i32);
            hc.tcp = Some(TcpCheckInfo {
                port: port()?,
                ..Default::default()
            });
        }
        _ => return None,
    }
    Some(hc)
}

/// The words of `cmd` when a shell would only split it on spaces: no quoting, expansion,
/// redirection, globbing or control operators, and no shell builtin or keyword first.
fn plain_words(cmd: &str) -> Option<Vec<String>> {
    const PLAIN: &str = "_-./:=@%+,";
    const SHELL_ONLY: [&str; 12] = [
        "cd", "exec", "exit", "export", "set", "source", ".", "ulimit", "umask", "trap", "eval", "wait",
    ];
    if !cmd
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ' ' || PLAIN.contains(c))
    {
        return None;
    }
    let words: Vec<String> = cmd.split(' ').filter(|w| !w.is_empty()).map(str::to_string).collect();
    let first = words.first()?;
    // `a=b cmd` sets a variable for the command: only a shell does that.
    (!SHELL_ONLY.contains(&first.as_str()) && !first.contains('=')).then_some(words)
}

/// The resources a task of `app` takes, as unreserved Mesos resources.
#[cfg(test)]
pub(crate) fn task_resources(app: &AppDefinition, ports: &[u32]) -> Vec<Resource> {
    let mut res = vec![scalar("cpus", app.cpus), scalar("mem", app.mem)];
    if app.disk > 0.0 {
        res.push(scalar("disk", app.disk));
    }
    if app.gpus > 0 {
        res.push(scalar("gpus", f64::from(app.gpus)));
    }
    if !ports.is_empty() {
        res.push(Resource {
            name: "ports".into(),
            r#type: value::Type::Ranges as i32,
            ranges: Some(value::Ranges {
                range: ports
                    .iter()
                    .map(|p| value::Range {
                        begin: u64::from(*p),
                        end: u64::from(*p),
                    })
                    .collect(),
            }),
            role: Some("*".into()),
            ..Default::default()
        });
    }
    res
}

#[cfg(test)]
fn scalar(name: &str, v: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: v }),
        role: Some("*".into()),
        ..Default::default()
    }
}

/// Marathon's task environment (`EnvironmentHelper`); the app's own `env` comes last and wins.
pub fn task_env(app: &AppDefinition, task_id: &str, placement: &Placement) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set = |k: String, v: String| match env.iter_mut().find(|(name, _)| *name == k) {
        Some(slot) => slot.1 = v,
        None => env.push((k, v)),
    };
    set("MESOS_TASK_ID".into(), task_id.into());
    set("MARATHON_APP_ID".into(), app.id.to_string());
    set("MARATHON_APP_VERSION".into(), app.version_or_epoch().to_string());
    if let Some(docker) = app.container.as_ref().and_then(|c| c.docker.as_ref()) {
        set("MARATHON_APP_DOCKER_IMAGE".into(), docker.image.clone());
    }
    set("MARATHON_APP_RESOURCE_CPUS".into(), scala_double(app.cpus));
    set("MARATHON_APP_RESOURCE_MEM".into(), scala_double(app.mem));
    set("MARATHON_APP_RESOURCE_DISK".into(), scala_double(app.disk));
    set("MARATHON_APP_RESOURCE_GPUS".into(), app.gpus.to_string());
    let mut label_keys = Vec::new();
    for (k, v) in &app.labels {
        // Marathon skips labels too long to be useful as variables.
        if k.len() >= 493 || v.len() >= 512 {
            continue;
        }
        let key = sanitize_label_key(k);
        set(format!("MARATHON_APP_LABEL_{key}"), v.clone());
        label_keys.push(key);
    }
    set("MARATHON_APP_LABELS".into(), label_keys.join(" "));

    let ports = &placement.ports;
    for (i, p) in ports.iter().enumerate() {
        set(format!("PORT{i}"), p.to_string());
    }
    if let Some(first) = ports.first() {
        set("PORT".into(), first.to_string());
    }
    set(
        "PORTS".into(),
        ports.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
    );
    // Each requested port (a port definition, or a container port mapping with a host port)
    // is also reachable by its number (`PORT_<n>`, the host port itself when 0) and its name.
    let requested: Vec<(u32, Option<&str>)> = if app.uses_host_networking() {
        let defs = app.port_definitions.as_deref().unwrap_or_default();
        defs.iter().map(|d| (d.port, d.name.as_deref())).collect()
    } else {
        let mappings = app.container.as_ref().and_then(|c| c.port_mappings.as_deref());
        mappings
            .unwrap_or_default()
            .iter()
            .filter(|m| m.host_port.is_some())
            .map(|m| (m.container_port, m.name.as_deref()))
            .collect()
    };
    for ((port, name), host_port) in requested.into_iter().zip(ports) {
        let number = if port == 0 { *host_port } else { port };
        set(format!("PORT_{number}"), host_port.to_string());
        if let Some(name) = name {
            set(
                format!("PORT_{}", name.to_uppercase().replace('-', "_")),
                host_port.to_string(),
            );
        }
    }
    set("HOST".into(), placement.hostname.clone());
    for (k, v) in &app.env {
        // Secret references need a secret store, which the local agent does not have.
        if let EnvValue::Plain(v) = v {
            set(k.clone(), v.clone());
        }
    }
    env
}

/// Scala's `Double.toString`: whole numbers keep one decimal (`1.0`), others print as is.
fn scala_double(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e7 {
        format!("{v:.1}")
    } else {
        v.to_string()
    }
}

/// Upper-cases a label key and turns every run of other characters into one `_`.
fn sanitize_label_key(k: &str) -> String {
    let mut out = String::with_capacity(k.len());
    let mut in_run = false;
    for c in k.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c.to_ascii_uppercase());
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(json: &str) -> AppDefinition {
        serde_json::from_str(json).unwrap()
    }

    fn placement(ports: Vec<u32>) -> Placement {
        Placement {
            agent_id: "agent-1".into(),
            hostname: "node-a".into(),
            ports,
            resources: Vec::new(),
            allocation_role: None,
        }
    }

    fn get<'a>(env: &'a [(String, String)], k: &str) -> Option<&'a str> {
        env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn marathon_environment() {
        let a = app(r#"{"id":"/prod/web","cmd":"run","cpus":0.5,"mem":64,
            "portDefinitions":[{"port":10000,"name":"http"},{"port":10001}],
            "labels":{"team.name":"core","x":"y"},"env":{"PORT0":"override","FOO":"bar"}}"#);
        let env = task_env(&a, "prod_web.instance-1._app.1", &placement(vec![31000, 31001]));
        assert_eq!(get(&env, "MARATHON_APP_ID"), Some("/prod/web"));
        assert_eq!(get(&env, "MARATHON_APP_RESOURCE_CPUS"), Some("0.5"));
        assert_eq!(get(&env, "MARATHON_APP_RESOURCE_MEM"), Some("64.0"));
        assert_eq!(get(&env, "MARATHON_APP_RESOURCE_GPUS"), Some("0"));
        assert_eq!(get(&env, "PORT"), Some("31000"));
        assert_eq!(get(&env, "PORT1"), Some("31001"));
        assert_eq!(get(&env, "PORTS"), Some("31000,31001"));
        assert_eq!(get(&env, "PORT_10000"), Some("31000"));
        assert_eq!(get(&env, "PORT_HTTP"), Some("31000"));
        assert_eq!(get(&env, "HOST"), Some("node-a"));
        assert_eq!(get(&env, "MARATHON_APP_LABEL_TEAM_NAME"), Some("core"));
        assert_eq!(get(&env, "MARATHON_APP_LABELS"), Some("TEAM_NAME X"));
        assert_eq!(get(&env, "FOO"), Some("bar"));
        // The user's env is applied last.
        assert_eq!(get(&env, "PORT0"), Some("override"));
        assert_eq!(env.iter().filter(|(k, _)| k == "PORT0").count(), 1);
    }

    #[test]
    fn port_mappings_are_named_by_container_port_and_name() {
        let a = app(r#"{"id":"/a","cmd":"x","networks":[{"mode":"container/bridge"}],
            "container":{"type":"MESOS","portMappings":[
                {"containerPort":8080,"hostPort":0,"name":"web-api"},
                {"containerPort":0,"hostPort":0},
                {"containerPort":9000,"name":"internal"}]}}"#);
        let env = task_env(&a, "t", &placement(vec![31000, 31001]));
        assert_eq!(get(&env, "PORT_8080"), Some("31000"));
        assert_eq!(get(&env, "PORT_WEB_API"), Some("31000"));
        assert_eq!(get(&env, "PORT_31001"), Some("31001"));
        assert_eq!(get(&env, "PORT_INTERNAL"), None, "no host port, no variable");
        assert_eq!(get(&env, "PORTS"), Some("31000,31001"));
    }

    #[test]
    fn command_and_resources() {
        let a = app(
            r#"{"id":"/a","args":["/bin/sleep","600"],"cpus":0.1,"mem":32,"disk":10,"taskKillGracePeriodSeconds":7}"#,
        );
        let placed = Placement {
            resources: task_resources(&a, &[31005]),
            ..placement(vec![31005])
        };
        let t = build_task_info(&a, "a.instance-1._app.1", &placed);
        let cmd = t.command.unwrap();
        assert_eq!(cmd.shell, Some(false));
        assert_eq!(cmd.value.as_deref(), Some("/bin/sleep"));
        assert_eq!(cmd.arguments, vec!["/bin/sleep", "600"]);
        let names: Vec<_> = t.resources.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, vec!["cpus", "mem", "disk", "ports"]);
        assert_eq!(t.kill_policy.unwrap().grace_period.unwrap().nanoseconds, 7_000_000_000);
        let shell = build_task_info(
            &app(r#"{"id":"/b","cmd":"echo $HOST; sleep 1"}"#),
            "b",
            &placement(vec![]),
        );
        assert_eq!(shell.command.unwrap().shell, Some(true));
        let direct = build_task_info(&app(r#"{"id":"/b","cmd":"sleep  600"}"#), "b", &placement(vec![]));
        let direct = direct.command.unwrap();
        assert_eq!((direct.shell, direct.value.as_deref()), (Some(false), Some("sleep")));
        assert_eq!(direct.arguments, vec!["sleep", "600"]);
    }

    #[test]
    fn only_plain_words_skip_the_shell() {
        assert_eq!(
            plain_words("python3 -m http.server 8080"),
            Some(vec!["python3".into(), "-m".into(), "http.server".into(), "8080".into()])
        );
        for needs_shell in [
            "echo $PORT0",
            "a && b",
            "x > f",
            "ls *",
            "cd /tmp",
            "FOO=1 run",
            "say 'hi'",
            "a;b",
            "",
            "   ",
        ] {
            assert_eq!(plain_words(needs_shell), None, "{needs_shell:?}");
        }
    }

    #[test]
    fn agent_checks_go_to_the_agent_and_the_others_stay_home() {
        let a = app(
            r#"{"id":"/a","cmd":"x","portDefinitions":[{"port":0},{"port":0}],"healthChecks":[
            {"protocol":"HTTP"},
            {"protocol":"MESOS_HTTPS","portIndex":1,"path":"/h","maxConsecutiveFailures":0}]}"#,
        );
        let hc = build_task_info(&a, "t", &placement(vec![31000, 31001]))
            .health_check
            .unwrap();
        assert_eq!(hc.r#type, Some(health_check::Type::Http as i32));
        let http = hc.http.unwrap();
        assert_eq!(
            (http.port, http.path.as_deref(), http.scheme.as_deref()),
            (31001, Some("/h"), Some("https"))
        );
        assert_eq!(hc.consecutive_failures, Some(0));
        assert_eq!(
            (hc.grace_period_seconds, hc.interval_seconds),
            (Some(300.0), Some(60.0))
        );

        let cmd =
            app(r#"{"id":"/a","cmd":"x","healthChecks":[{"protocol":"COMMAND","command":{"value":"test -f ok"}}]}"#);
        let hc = build_task_info(&cmd, "t", &placement(vec![])).health_check.unwrap();
        assert_eq!(hc.command.unwrap().value.as_deref(), Some("test -f ok"));

        let marathon_only = app(r#"{"id":"/a","cmd":"x","healthChecks":[{"protocol":"TCP"}]}"#);
        assert_eq!(
            build_task_info(&marathon_only, "t", &placement(vec![1])).health_check,
            None
        );
    }
}
