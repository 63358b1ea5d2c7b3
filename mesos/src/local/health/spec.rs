//! A TaskInfo's `health_check`, validated and resolved into durations and a probe target.
//!
//! Like Mesos's built-in executors, HTTP(S) and TCP checks go to the loopback address (`::1`
//! when the check asks for IPv6) and the port the task itself listens on; a check whose
//! `type` is unset is taken for the one kind it describes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::v1::{CommandInfo, HealthCheck, environment, health_check, network_info};

/// What to probe, and how long to wait around the probes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spec {
    pub target: Target,
    pub delay: Duration,
    pub interval: Duration,
    pub timeout: Duration,
    pub grace: Duration,
    /// Counted failures in a row that kill the task; 0 never kills (Marathon's meaning).
    pub max_failures: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    /// Run this command (exit status 0 is healthy).
    Command(CommandInfo),
    /// GET this URL; healthy if the status is in `statuses`, or in 200..=399 when it is empty.
    Http { url: String, statuses: Vec<u32> },
    /// Connect to this address.
    Tcp(SocketAddr),
}

/// Checks the health check and resolves it, or says why the agent cannot run it.
pub(crate) fn parse(check: &HealthCheck) -> Result<Spec, String> {
    use health_check::Type;
    let kind = match check.r#type() {
        Type::Unknown => match (&check.command, &check.http, &check.tcp) {
            (Some(_), None, None) => Type::Command,
            (None, Some(_), None) => Type::Http,
            (None, None, Some(_)) => Type::Tcp,
            _ => return Err("the health check has no type, and does not describe exactly one kind of check".into()),
        },
        known => known,
    };
    let target = match kind {
        Type::Command => command_target(check.command.as_ref())?,
        Type::Http => {
            let http = check.http.as_ref().ok_or("an HTTP health check needs `http`")?;
            let scheme = match http.scheme() {
                "" | "http" => "http",
                "https" => "https",
                other => return Err(format!("unsupported HTTP health check scheme '{other}'")),
            };
            let addr = loopback(http.port, http.protocol())?;
            let path = http.path();
            let slash = if path.starts_with('/') { "" } else { "/" };
            Target::Http {
                url: format!("{scheme}://{addr}{slash}{path}"),
                statuses: http.statuses.clone(),
            }
        }
        Type::Tcp => {
            let tcp = check.tcp.as_ref().ok_or("a TCP health check needs `tcp`")?;
            Target::Tcp(loopback(tcp.port, tcp.protocol())?)
        }
        Type::Unknown => unreachable!("resolved above"),
    };
    let interval = seconds("interval_seconds", check.interval_seconds())?;
    let timeout = seconds("timeout_seconds", check.timeout_seconds())?;
    if interval.is_zero() || timeout.is_zero() {
        return Err("interval_seconds and timeout_seconds must be positive".into());
    }
    Ok(Spec {
        target,
        delay: seconds("delay_seconds", check.delay_seconds())?,
        interval,
        timeout,
        grace: seconds("grace_period_seconds", check.grace_period_seconds())?,
        max_failures: check.consecutive_failures(),
    })
}

fn command_target(command: Option<&CommandInfo>) -> Result<Target, String> {
    let command = command.ok_or("a COMMAND health check needs `command`")?;
    if command.value().is_empty() {
        return Err("the health check's command has no value".into());
    }
    let secret = command.environment.as_ref().is_some_and(|env| {
        env.variables
            .iter()
            .any(|v| v.r#type() == environment::variable::Type::Secret)
    });
    if secret {
        return Err("secret environment variables are not supported by the local agent".into());
    }
    // As Mesos, `uris` and `user` of a check's command are ignored.
    Ok(Target::Command(command.clone()))
}

fn loopback(port: u32, protocol: network_info::Protocol) -> Result<SocketAddr, String> {
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("invalid health check port {port}"))?;
    let ip = match protocol {
        network_info::Protocol::IPv6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    Ok(SocketAddr::new(ip, port))
}

fn seconds(field: &str, value: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value).map_err(|_| format!("{field} must be a non-negative number, not {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::health_check::{HttpCheckInfo, TcpCheckInfo, Type};

    fn http(port: u32, scheme: Option<&str>, path: Option<&str>) -> HealthCheck {
        HealthCheck {
            r#type: Some(Type::Http as i32),
            http: Some(HttpCheckInfo {
                port,
                path: path.map(Into::into),
                scheme: scheme.map(Into::into),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn mesos_defaults_apply_to_unset_timings() {
        let spec = parse(&http(8080, None, None)).unwrap();
        assert_eq!(spec.delay, Duration::from_secs(15));
        assert_eq!(spec.interval, Duration::from_secs(10));
        assert_eq!(spec.timeout, Duration::from_secs(20));
        assert_eq!(spec.grace, Duration::from_secs(10));
        assert_eq!(spec.max_failures, 3);
        assert_eq!(
            spec.target,
            Target::Http {
                url: "http://127.0.0.1:8080/".into(),
                statuses: vec![]
            }
        );
    }

    #[test]
    fn http_urls_use_the_scheme_path_and_protocol() {
        let url = |check| match parse(&check).unwrap().target {
            Target::Http { url, .. } => url,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            url(http(443, Some("https"), Some("health"))),
            "https://127.0.0.1:443/health"
        );
        let mut v6 = http(80, None, Some("/a?b=c"));
        v6.http.as_mut().unwrap().protocol = Some(network_info::Protocol::IPv6 as i32);
        assert_eq!(url(v6), "http://[::1]:80/a?b=c");
    }

    #[test]
    fn an_unset_type_is_taken_from_the_one_check_described() {
        let tcp = HealthCheck {
            tcp: Some(TcpCheckInfo {
                port: 9000,
                protocol: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            parse(&tcp).unwrap().target,
            Target::Tcp("127.0.0.1:9000".parse().unwrap())
        );
        let both = HealthCheck {
            http: http(1, None, None).http,
            ..tcp
        };
        assert!(parse(&both).is_err());
    }

    #[test]
    fn checks_the_agent_cannot_run_are_refused() {
        let no_http = HealthCheck {
            r#type: Some(Type::Http as i32),
            ..Default::default()
        };
        assert!(parse(&no_http).unwrap_err().contains("`http`"));
        assert!(parse(&http(0, None, None)).is_err());
        assert!(parse(&http(70000, None, None)).is_err());
        assert!(parse(&http(80, Some("ftp"), None)).unwrap_err().contains("ftp"));
        let negative = HealthCheck {
            delay_seconds: Some(-1.0),
            ..http(80, None, None)
        };
        assert!(parse(&negative).unwrap_err().contains("delay_seconds"));
        let busy = HealthCheck {
            interval_seconds: Some(0.0),
            ..http(80, None, None)
        };
        assert!(parse(&busy).is_err());
        let empty_command = HealthCheck {
            r#type: Some(Type::Command as i32),
            command: Some(CommandInfo::default()),
            ..Default::default()
        };
        assert!(parse(&empty_command).is_err());
    }
}
