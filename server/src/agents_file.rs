//! `--local-agents FILE`: the agents of the embedded master, as a YAML list.
//!
//! ```yaml
//! - hostname: agent-a
//!   attributes: {rack: r1, disk: ssd, gen: 3, zones: "{a,b}", slots: "[1-4]"}
//!   resources: {cpus: 2, mem: 4096, disk: 10000, gpus: 0, ports: "[31000-31499]"}
//!   role: web        # optional: every resource of this agent is reserved for role web
//! ```
//!
//! Attributes take their Mesos type from their form (a number is a scalar, `[b-e,...]`
//! ranges, `{a,b}` a set, anything else text). Resources left out default to this machine's
//! (ports: the `--agent-ports` range); agents on one machine must not share ports.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use mesos::local::{AgentConfig, AttributeValue, LocalMasterConfig};
use schemas::placement::{self, parse_ranges};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentEntry {
    hostname: String,
    #[serde(default)]
    attributes: BTreeMap<String, serde_yaml::Value>,
    #[serde(default)]
    resources: ResourcesEntry,
    #[serde(default)]
    role: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourcesEntry {
    cpus: Option<f64>,
    mem: Option<f64>,
    disk: Option<f64>,
    gpus: Option<f64>,
    ports: Option<String>,
}

/// Reads `path` into the agents of a local master whose defaults are `defaults` (this
/// machine, offering the `--agent-ports` range).
pub(crate) fn load(path: &Path, defaults: &AgentConfig) -> anyhow::Result<Vec<AgentConfig>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text, defaults).with_context(|| format!("{}: invalid agents file", path.display()))
}

pub(crate) fn parse(text: &str, defaults: &AgentConfig) -> anyhow::Result<Vec<AgentConfig>> {
    let entries: Vec<AgentEntry> = serde_yaml::from_str(text).context("expected a YAML list of agents")?;
    if entries.is_empty() {
        bail!("the list of agents is empty");
    }
    let agents = entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| agent(e, defaults).with_context(|| format!("agent {}", i + 1)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut check = LocalMasterConfig::new("/");
    check.agents = agents.clone();
    check.validate().map_err(anyhow::Error::msg)?;
    Ok(agents)
}

fn agent(e: AgentEntry, defaults: &AgentConfig) -> anyhow::Result<AgentConfig> {
    if e.hostname.is_empty() || e.hostname.chars().any(char::is_whitespace) {
        bail!("hostname {:?} must be a non-empty name without spaces", e.hostname);
    }
    let mut attributes = Vec::new();
    for (name, value) in e.attributes {
        attributes.push((
            name.clone(),
            attribute(&value).with_context(|| format!("attribute {name}"))?,
        ));
    }
    let d = &defaults.resources;
    let scalar = |name: &str, v: Option<f64>, default: f64| match v {
        Some(v) if !v.is_finite() || v < 0.0 => bail!("resource {name} must be a non-negative number"),
        Some(v) => Ok(v),
        None => Ok(default),
    };
    let mut resources = d.clone();
    resources.cpus = scalar("cpus", e.resources.cpus, d.cpus)?;
    resources.mem = scalar("mem", e.resources.mem, d.mem)?;
    resources.disk = scalar("disk", e.resources.disk, d.disk)?;
    resources.gpus = scalar("gpus", e.resources.gpus, d.gpus)?;
    if let Some(ports) = &e.resources.ports {
        let inner = ports.trim();
        let inner = inner
            .strip_prefix('[')
            .and_then(|p| p.strip_suffix(']'))
            .unwrap_or(inner);
        let ranges = parse_ranges(inner).map_err(|m| anyhow::anyhow!("ports {ports:?}: {m}"))?;
        if ranges.is_empty() || ranges.iter().any(|&(b, e)| b == 0 || e > 65535) {
            bail!("ports {ports:?}: give ranges of ports 1-65535, e.g. \"[31000-31499]\"");
        }
        resources.ports = ranges;
    }
    let role = match e.role.as_deref() {
        None | Some("*") => None,
        Some(r) if r.is_empty() || r.contains('/') || r.chars().any(char::is_whitespace) => {
            bail!("role {r:?} must be a name without spaces or '/'")
        }
        Some(r) => Some(r.to_owned()),
    };
    Ok(AgentConfig {
        hostname: e.hostname,
        attributes,
        resources,
        ip: defaults.ip,
        role,
    })
}

fn attribute(v: &serde_yaml::Value) -> anyhow::Result<AttributeValue> {
    use serde_yaml::Value;
    let parsed = match v {
        Value::Number(n) => placement::AttributeValue::Scalar(n.as_f64().context("not a number")?),
        Value::String(s) => placement::AttributeValue::parse(s).map_err(anyhow::Error::msg)?,
        Value::Bool(b) => placement::AttributeValue::Text(b.to_string()),
        Value::Sequence(items) => placement::AttributeValue::Set(
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => bail!("set items must be text or numbers"),
                })
                .collect::<anyhow::Result<_>>()?,
        ),
        _ => bail!("expected text, a number, \"[b-e,...]\" ranges or a \"{{a,b}}\" set"),
    };
    Ok(match parsed {
        placement::AttributeValue::Text(t) => AttributeValue::Text(t),
        placement::AttributeValue::Scalar(s) => AttributeValue::Scalar(s),
        placement::AttributeValue::Ranges(r) => AttributeValue::Ranges(r),
        placement::AttributeValue::Set(s) => AttributeValue::Set(s),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> AgentConfig {
        let mut d = AgentConfig::this_machine(Path::new("/tmp"));
        d.resources.ports = vec![(20000, 20099)];
        d
    }

    #[test]
    fn reads_the_documented_form() {
        let agents = parse(
            r#"
- hostname: agent-a
  attributes: {rack: r1, disk: ssd, gen: 3, slots: "[1-4,8-9]", zones: "{b,a}", tags: [x, y]}
  resources: {cpus: 2, mem: 4096, disk: 10000, ports: "[20000-20049]"}
- hostname: agent-b
  resources: {ports: "20050-20059, 20070-20079"}
  role: web
"#,
            &defaults(),
        )
        .unwrap();
        let a = &agents[0];
        assert_eq!(a.hostname, "agent-a");
        let attr = |n: &str| a.attributes.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(attr("rack"), Some(AttributeValue::Text("r1".into())));
        assert_eq!(attr("gen"), Some(AttributeValue::Scalar(3.0)));
        assert_eq!(attr("slots"), Some(AttributeValue::Ranges(vec![(1, 4), (8, 9)])));
        assert_eq!(attr("zones"), Some(AttributeValue::Set(vec!["b".into(), "a".into()])));
        assert_eq!(attr("tags"), Some(AttributeValue::Set(vec!["x".into(), "y".into()])));
        assert_eq!(
            (a.resources.cpus, a.resources.mem, a.resources.disk),
            (2.0, 4096.0, 10000.0)
        );
        assert_eq!(a.resources.ports, vec![(20000, 20049)]);
        assert_eq!(a.role, None);
        let b = &agents[1];
        assert_eq!(b.resources.cpus, defaults().resources.cpus, "defaults to this machine");
        assert_eq!(b.resources.ports, vec![(20050, 20059), (20070, 20079)]);
        assert_eq!(b.role.as_deref(), Some("web"));
    }

    #[test]
    fn refuses_what_cannot_run_with_a_clear_message() {
        let err = |yaml: &str| format!("{:#}", parse(yaml, &defaults()).unwrap_err());
        assert!(err("[]").contains("empty"));
        assert!(err("- hostname: a\n  cpu: 2\n").contains("unknown field `cpu`"));
        let overlap = err(
            "- hostname: a\n  resources: {ports: \"[100-200]\"}\n- hostname: b\n  resources: {ports: \"[150-300]\"}\n",
        );
        assert!(overlap.contains("agents a and b both offer ports 150-200"), "{overlap}");
        // Two agents left on the default range share it.
        assert!(err("- hostname: a\n- hostname: b\n").contains("disjoint port ranges"));
        assert!(err("- hostname: a\n  resources: {ports: \"[200-100]\"}\n").contains("begin is above end"));
        assert!(err("- hostname: a\n  resources: {cpus: -1}\n").contains("non-negative"));
        assert!(err("- hostname: \"a b\"\n").contains("without spaces"));
        assert!(err("- hostname: a\n  role: \"x/y\"\n").contains("role"));
        assert!(err("- hostname: a\n  attributes: {rack: {x: 1}}\n").contains("attribute rack"));
    }
}
