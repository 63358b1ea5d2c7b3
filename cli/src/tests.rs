//! Command line parsing and the commands that need no server.

use clap::Parser;

use super::*;

/// The shape the `pacer` binary gives these commands.
#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    cmd: Command,
}

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("pacer").chain(args.iter().copied()))
}

#[test]
fn apply_takes_repeated_files_and_global_flags_anywhere() {
    let cli = parse(&[
        "apply",
        "-f",
        "a.json",
        "--filename",
        "dir",
        "-f",
        "-",
        "--server",
        "http://h:1",
    ])
    .unwrap();
    let Command::Apply(args) = cli.cmd else {
        panic!("not apply")
    };
    assert_eq!(args.sources.files, ["a.json", "dir", "-"].map(std::path::PathBuf::from));
    assert!(!args.sources.recursive && args.dry_run.is_none() && !args.prune);
    assert_eq!(cli.global.server, "http://h:1");
    assert!(parse(&["apply"]).is_err(), "-f is required");
}

#[test]
fn get_resources_ids_and_formats() {
    let cli = parse(&["get", "app", "/hello", "-o", "yaml"]).unwrap();
    let Command::Get(args) = cli.cmd else { panic!("not get") };
    assert_eq!(
        (args.resource, args.id.as_deref(), args.output),
        (Resource::Apps, Some("/hello"), Format::Yaml)
    );
    let Command::Get(args) = parse(&["get", "deployments"]).unwrap().cmd else {
        panic!("not get")
    };
    assert_eq!(
        (args.resource, args.id, args.output),
        (Resource::Deployments, None, Format::Table)
    );
    assert!(parse(&["get", "nodes"]).is_err());
    let Command::Get(args) = parse(&["get", "queue", "-o", "name", "-w"]).unwrap().cmd else {
        panic!("not get")
    };
    assert_eq!(
        (args.resource, args.output, args.watch),
        (Resource::Queue, Format::Name, true)
    );
    assert!(parse(&["get", "apps", "-o", "xml"]).is_err());
}

#[test]
fn scale_and_delete() {
    let Command::Scale(args) = parse(&["scale", "hello", "3"]).unwrap().cmd else {
        panic!("not scale")
    };
    assert_eq!((args.app.as_str(), args.instances, args.force), ("hello", 3, false));
    assert!(parse(&["scale", "hello", "-1"]).is_err());
    let Command::Delete(args) = parse(&["delete", "app", "/x"]).unwrap().cmd else {
        panic!("not delete")
    };
    assert_eq!((args.kind, args.id.as_deref()), (Some(DeleteKind::App), Some("/x")));
    let Command::Delete(args) = parse(&["delete", "-f", "apps/", "-R"]).unwrap().cmd else {
        panic!("not delete")
    };
    assert_eq!((args.kind, args.files.len(), args.recursive), (None, 1, true));
    assert!(parse(&["delete", "app"]).is_err(), "an id is needed");
}

#[test]
fn group_commands() {
    let Command::Get(args) = parse(&["get", "group", "/shop", "-o", "wide"]).unwrap().cmd else {
        panic!("not get")
    };
    assert_eq!((args.resource, args.output), (Resource::Groups, Format::Wide));
    let Command::Describe(args) = parse(&["describe", "group", "shop"]).unwrap().cmd else {
        panic!("not describe")
    };
    assert_eq!(args.kind, DescribeKind::Group);
    let Command::Delete(args) = parse(&["delete", "group", "/shop", "--force"]).unwrap().cmd else {
        panic!("not delete")
    };
    assert_eq!((args.kind, args.force), (Some(DeleteKind::Group), true));
}

#[test]
fn apply_flags() {
    let Command::Apply(args) = parse(&[
        "apply",
        "-f",
        "d",
        "-R",
        "--dry-run",
        "--prune",
        "-l",
        "env=prod",
        "--wait",
        "--timeout",
        "2m",
    ])
    .unwrap()
    .cmd
    else {
        panic!("not apply")
    };
    assert!(args.sources.recursive && args.prune && args.wait);
    assert_eq!(args.dry_run, Some(DryRun::Client));
    assert_eq!(args.selector.as_deref(), Some("env=prod"));
    assert_eq!(args.timeout, Duration::from_secs(120));
    let Command::Apply(args) = parse(&["apply", "-f", "d", "--dry-run=server"]).unwrap().cmd else {
        panic!("not apply")
    };
    assert_eq!(args.dry_run, Some(DryRun::Server));
    assert!(parse(&["apply", "-f", "d", "--prune"]).is_err(), "--prune needs -l");
}

#[test]
fn rollout_wait_logs_watch() {
    let Command::Rollout(r) = parse(&["rollout", "undo", "web", "--to-version", "2"]).unwrap().cmd else {
        panic!("not rollout")
    };
    assert!(
        matches!(r.action, RolloutAction::Undo { ref app, ref to_version, .. } if app == "web" && to_version.as_deref() == Some("2"))
    );
    let Command::Wait(w) = parse(&["wait", "--for=healthy", "web", "--timeout", "10s"])
        .unwrap()
        .cmd
    else {
        panic!("not wait")
    };
    assert_eq!((w.wanted, w.timeout), (Wanted::Healthy, Duration::from_secs(10)));
    assert!(parse(&["wait", "web"]).is_err(), "--for is needed");
    let Command::Logs(l) = parse(&["logs", "web", "-f", "--stderr"]).unwrap().cmd else {
        panic!("not logs")
    };
    assert!(l.follow && l.stderr && l.task.is_none());
    let Command::Watch(w) = parse(&["watch", "--type", "a", "--type", "b", "-o", "json"])
        .unwrap()
        .cmd
    else {
        panic!("not watch")
    };
    assert_eq!((w.types.len(), w.output), (2, WatchFormat::Json));
    let cli = parse(&[
        "get",
        "apps",
        "--server",
        "http://a:1,http://b:2",
        "--user",
        "u",
        "--password",
        "p",
    ])
    .unwrap();
    assert_eq!(
        (cli.global.user.as_deref(), cli.global.password.as_deref()),
        (Some("u"), Some("p"))
    );
}

#[test]
fn schema_prints_the_app_pod_and_group_schemas() {
    let mut out = Vec::new();
    schema(SchemaKind::App, &mut out).unwrap();
    let printed: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(printed, schemas::app_json_schema());
    let mut out = Vec::new();
    schema(SchemaKind::Pod, &mut out).unwrap();
    let printed: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(printed, schemas::pod_json_schema());
    let mut out = Vec::new();
    schema(SchemaKind::Group, &mut out).unwrap();
    let printed: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(printed, schemas::group_json_schema());
}

#[test]
fn pod_commands() {
    let Command::Get(args) = parse(&["get", "pods", "-o", "wide", "-l", "team=a"]).unwrap().cmd else {
        panic!("not get")
    };
    assert_eq!(
        (args.resource, args.output, args.selector.as_deref()),
        (Resource::Pods, Format::Wide, Some("team=a"))
    );
    let Command::Get(args) = parse(&["get", "pod", "/p"]).unwrap().cmd else {
        panic!("not get")
    };
    assert_eq!((args.resource, args.id.as_deref()), (Resource::Pods, Some("/p")));
    let Command::Describe(args) = parse(&["describe", "pod", "p"]).unwrap().cmd else {
        panic!("not describe")
    };
    assert_eq!(args.kind, DescribeKind::Pod);
    let Command::Delete(args) = parse(&["delete", "pod", "/p", "--force"]).unwrap().cmd else {
        panic!("not delete")
    };
    assert_eq!((args.kind, args.force), (Some(DeleteKind::Pod), true));
    let Command::Scale(args) = parse(&["scale", "pod/p", "0"]).unwrap().cmd else {
        panic!("not scale")
    };
    assert_eq!((args.app.as_str(), args.instances), ("pod/p", 0));
    let Command::Rollout(r) = parse(&["rollout", "history", "pod/p"]).unwrap().cmd else {
        panic!("not rollout")
    };
    assert!(matches!(r.action, RolloutAction::History { ref app } if app == "pod/p"));
}

#[test]
fn ids_are_checked_before_sending() {
    assert_eq!(parse_app_id("a/b").unwrap().as_str(), "/a/b");
    assert!(matches!(parse_app_id("/"), Err(Error::Usage(_))));
    assert!(matches!(parse_app_id(".."), Err(Error::Usage(_))));
    assert_eq!(client::app_path(&parse_app_id("/a/b").unwrap()), "/v2/apps/a/b");
}
