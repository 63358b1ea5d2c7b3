//! Pacer's Mesos messages against independent Mesos message classes: the v1 `.proto` files of
//! Debian's mesos-go package, compiled by Debian's protoc (see tests/oracle). Every Call Pacer
//! sends and every Event it reads is decoded by C++ libprotobuf (proto2 `required` fields
//! checked, no field unknown to Mesos), compared field by field under Mesos's own field names,
//! encoded back by C++ and decoded by Pacer to the same message and the very same bytes. The
//! JSON encoding is held against the same reading, and against a real master's JSON.

mod common;
mod oracle;
mod wire;

use std::fmt::Debug;

use mesos::Encoding;
use mesos::encoding::descriptor_pool;
use mesos::local::LocalMaster;
use mesos::v1::scheduler::{Call, Event, call, event};
use mesos::v1::{FrameworkInfo, TaskState, framework_info};
use oracle::{oracle, oracle_name};
use prost::{Message, Name};
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, ReflectMessage, Value as ReflectValue};
use serde_json::Value;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Messages, fields and enum values of Pacer's subset that mesos-go's older copy of the protocol
/// lacks (their wire facts come from Mesos 1.12's files, see shared/mesos-v1-reference.md
/// section 2, and the real master's transcripts); one name a line.
fn newer_than_mesos_go() -> Vec<&'static str> {
    include_str!("data/newer-than-mesos-go.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// `message` crosses to the oracle and back, in protobuf and in JSON, unchanged (but for the
/// fields newer than mesos-go, which it cannot check).
fn crosses_the_oracle<M: Message + Name + Default + PartialEq + Debug>(what: &str, message: &M) {
    assert_eq!(
        &Encoding::Json.decode::<M>(&Encoding::Json.encode(message)).unwrap(),
        message,
        "{what}: Pacer's JSON does not read back"
    );
    let (message, dropped) = known_to_oracle(message);
    let newer = newer_than_mesos_go();
    for field in &dropped {
        assert!(
            newer.contains(&field.as_str()),
            "{what}: {field} is not known to mesos-go"
        );
    }
    let message = &message;
    let oracle = oracle();
    let name = oracle_name(&M::full_name());
    let ours = message.encode_to_vec();
    let text = oracle
        .decode(&name, &ours)
        .unwrap_or_else(|e| panic!("{what}: the oracle refuses Pacer's bytes: {e}"));

    // Field by field, named as mesos-go names them: what C++ read is what Pacer meant.
    let theirs_json = oracle.json_of_text(&name, &text);
    let ours_json: Value = serde_json::from_slice(&Encoding::Json.encode(message)).unwrap();
    assert_eq!(
        ours_json, theirs_json,
        "{what}: Pacer's JSON differs from the oracle's reading of its bytes"
    );

    // The reverse: C++ encodes what it read, and Pacer reads it back as the same message.
    let back = oracle
        .encode(&name, &text)
        .unwrap_or_else(|e| panic!("{what}: the oracle cannot encode {text}: {e}"));
    assert_eq!(hex(&back), hex(&ours), "{what}: C++ and prost encode differently");
    assert_eq!(&Encoding::Protobuf.decode::<M>(&back).unwrap(), message, "{what}");
    let theirs_json = serde_json::to_vec(&theirs_json).unwrap();
    assert_eq!(&Encoding::Json.decode::<M>(&theirs_json).unwrap(), message, "{what}");
}

/// `message` without the fields mesos-go does not know, and the names of those it had.
fn known_to_oracle<M: Message + Name + Default>(message: &M) -> (M, Vec<String>) {
    let desc = descriptor_pool().get_message_by_name(&M::full_name()).unwrap();
    let mut dynamic = DynamicMessage::decode(desc, message.encode_to_vec().as_slice()).unwrap();
    let mut dropped = Vec::new();
    prune(&mut dynamic, &mut dropped);
    (M::decode(dynamic.encode_to_vec().as_slice()).unwrap(), dropped)
}

fn prune(message: &mut DynamicMessage, dropped: &mut Vec<String>) {
    let theirs = oracle()
        .pool
        .get_message_by_name(&oracle_name(message.descriptor().full_name()));
    for field in message.descriptor().fields() {
        if !message.has_field(&field) {
            continue;
        }
        if theirs.as_ref().and_then(|t| t.get_field(field.number())).is_none() {
            dropped.push(field.full_name().to_string());
            message.clear_field(&field);
            continue;
        }
        match message.get_field_mut(&field) {
            ReflectValue::Message(inner) => prune(inner, dropped),
            ReflectValue::List(items) => items.iter_mut().for_each(|item| {
                if let ReflectValue::Message(inner) = item {
                    prune(inner, dropped);
                }
            }),
            ReflectValue::Map(entries) => entries.values_mut().for_each(|item| {
                if let ReflectValue::Message(inner) = item {
                    prune(inner, dropped);
                }
            }),
            _ => {}
        }
    }
}

#[test]
fn every_call_pacer_sends_crosses_the_oracle() {
    for (what, call) in wire::calls() {
        crosses_the_oracle(what, &call);
    }
}

#[test]
fn every_event_pacer_reads_crosses_the_oracle() {
    for (what, event) in wire::events() {
        crosses_the_oracle(what, &event);
    }
}

#[test]
fn the_oracle_refuses_what_a_master_would() {
    let oracle = oracle();
    // ERROR without its required message; HEARTBEAT with a field 31 Mesos does not have.
    let err = oracle
        .decode("mesos.scheduler.Event", &[0x08, 0x07, 0x42, 0x00])
        .unwrap_err();
    assert!(err.contains("missing required fields"), "{err}");
    let err = oracle
        .decode("mesos.scheduler.Event", &[0x08, 0x08, 0xf8, 0x01, 0x05])
        .unwrap_err();
    assert!(err.contains("unknown to mesos-go"), "{err}");
    // A required field prost leaves at its default is still sent, and so still present.
    let call = Call {
        r#type: Some(call::Type::Acknowledge as i32),
        acknowledge: Some(call::Acknowledge::default()),
        ..Default::default()
    };
    oracle.decode("mesos.scheduler.Call", &call.encode_to_vec()).unwrap();
}

#[test]
fn subscribe_golden_vector_is_what_cxx_encodes() {
    const GOLDEN: &str = "10011a240a220a04726f6f7412086d61726174686f6e21000000000075224128015202080662012a";
    let text = r#"type: SUBSCRIBE subscribe { framework_info { user: "root" name: "marathon"
        failover_timeout: 604800 checkpoint: true capabilities { type: MULTI_ROLE } roles: "*" } }"#;
    let theirs = oracle().encode("mesos.scheduler.Call", text).unwrap();
    assert_eq!(hex(&theirs), GOLDEN);
    let ours = Call {
        r#type: Some(call::Type::Subscribe as i32),
        subscribe: Some(call::Subscribe {
            framework_info: FrameworkInfo {
                user: "root".into(),
                name: "marathon".into(),
                failover_timeout: Some(604_800.0),
                checkpoint: Some(true),
                capabilities: vec![framework_info::Capability {
                    r#type: Some(framework_info::capability::Type::MultiRole as i32),
                }],
                roles: vec!["*".into()],
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(hex(&ours.encode_to_vec()), GOLDEN);
    crosses_the_oracle("golden SUBSCRIBE", &ours);
}

/// Events as the local master really builds them: SUBSCRIBED, OFFERS, and the updates of a
/// task and of a task group's task.
#[tokio::test]
async fn the_local_masters_events_cross_the_oracle() {
    let dir = tempfile::tempdir().unwrap();
    let reaper = common::Reaper::default();
    let info = wire::framework_info();
    let info = FrameworkInfo { id: None, ..info };
    let master = LocalMaster::start(common::config(dir.path())).await.unwrap();
    let transport = master.transport();
    let mut conn = transport.subscribe(info).await.unwrap();
    let subscribed = conn.events.recv().await.unwrap();
    crosses_the_oracle("local SUBSCRIBED", &subscribed);
    let mut sched = common::Sched {
        framework_id: subscribed.subscribed.unwrap().framework_id.value,
        events: conn.events,
        caller: conn.caller,
        reaper: reaper.clone(),
        offers: Vec::new(),
        seen: Vec::new(),
    };
    let offers = loop {
        let event = sched.next().await.unwrap();
        if event.r#type() == event::Type::Offers {
            crosses_the_oracle("local OFFERS", &event);
            break event.offers.unwrap().offers;
        }
    };
    let offer = &offers[0];
    let task = common::shell_task("wire.1", &offer.agent_id.value, "sleep 30");
    sched.launch(&[offer], vec![task], None).await.unwrap();
    loop {
        let event = sched.next().await.unwrap();
        if event.r#type() != event::Type::Update {
            continue;
        }
        crosses_the_oracle("local UPDATE", &event);
        let status = event.update.unwrap().status;
        if let Some(pid) = status.container_status.as_ref().and_then(|c| c.executor_pid) {
            reaper.watch(pid);
        }
        sched.ack(&status).await.unwrap();
        if status.state() == TaskState::TaskRunning {
            break;
        }
    }
    // A task group's updates name its executor and nest the task's container in its own.
    let offer = sched.next_offers().await.unwrap().remove(0);
    let task = common::shell_task("wire.2", &offer.agent_id.value, "sleep 30");
    let executor = common::group::default_executor("wire.exec");
    sched.launch_group(&offer, executor, vec![task], 1.0).await.unwrap();
    loop {
        let event = sched.next().await.unwrap();
        if event.r#type() != event::Type::Update {
            continue;
        }
        crosses_the_oracle("local UPDATE of a task group", &event);
        let status = event.update.unwrap().status;
        let container = status.container_status.as_ref().and_then(|c| c.container_id.as_ref());
        assert!(container.is_some_and(|c| c.parent.is_some()), "{status:?}");
        if let Some(pid) = status.container_status.as_ref().and_then(|c| c.executor_pid) {
            reaper.watch(pid);
        }
        sched.ack(&status).await.unwrap();
        if status.state() == TaskState::TaskRunning {
            break;
        }
    }
    master.shutdown().await;
}

/// The JSON a real Mesos 1.12 master printed and accepted (tests/data/session-json.jsonl, from
/// shared/mesos-transcripts): every event and call reads and prints back the same.
#[test]
fn a_real_masters_json_reads_and_prints_back_the_same() {
    let transcript = include_str!("data/session-json.jsonl");
    let mut seen = 0;
    for line in transcript.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        let (json, printed) = match record["dir"].as_str().unwrap() {
            "event" => {
                let event: Event = Encoding::Json.decode(record["event"].to_string().as_bytes()).unwrap();
                (&record["event"], Encoding::Json.encode(&event))
            }
            "call" if record["status"] == 202 => {
                let call: Call = Encoding::Json.decode(record["request"].to_string().as_bytes()).unwrap();
                (&record["request"], Encoding::Json.encode(&call))
            }
            "raw_stream_prefix_hex" => {
                // The first record as the master wrote it: Pacer prints the very same bytes.
                let raw = unhex(record["hex"].as_str().unwrap());
                let newline = raw.iter().position(|b| *b == b'\n').unwrap();
                let len: usize = std::str::from_utf8(&raw[..newline]).unwrap().parse().unwrap();
                let first = &raw[newline + 1..newline + 1 + len];
                let event: Event = Encoding::Json.decode(first).unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&Encoding::Json.encode(&event)),
                    String::from_utf8_lossy(first)
                );
                continue;
            }
            _ => continue,
        };
        let printed: Value = serde_json::from_slice(&printed).unwrap();
        assert!(
            same(json, &printed),
            "read and printed back differently:\n{json}\n{printed}"
        );
        seen += 1;
    }
    assert!(seen > 15, "only {seen} records checked");
}

/// JSON equality with numbers compared by value (a master may print 32 where Pacer prints 32.0).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// Every message, field and enum value of Pacer's `.proto` subset exists in mesos-go with the
/// same name, number, type, label and default, but for the listed newer ones.
#[test]
fn pacer_proto_subset_matches_mesos_go() {
    let theirs = &oracle().pool;
    let mut absent = Vec::new();
    for ours in descriptor_pool().all_messages() {
        if !ours.full_name().starts_with("mesos.v1.") {
            continue;
        }
        let Some(their) = theirs.get_message_by_name(&oracle_name(ours.full_name())) else {
            absent.push(ours.full_name().to_string());
            continue;
        };
        for field in ours.fields() {
            let Some(their_field) = their.get_field(field.number()) else {
                absent.push(format!("{}.{}", ours.full_name(), field.name()));
                continue;
            };
            assert_eq!(describe(&field), describe(&their_field), "{}", field.full_name());
        }
    }
    for ours in descriptor_pool().all_enums() {
        if !ours.full_name().starts_with("mesos.v1.") {
            continue;
        }
        let Some(their) = theirs.get_enum_by_name(&oracle_name(ours.full_name())) else {
            absent.push(ours.full_name().to_string());
            continue;
        };
        for value in ours.values() {
            match their.get_value(value.number()) {
                Some(v) => assert_eq!(v.name(), value.name(), "{}", value.full_name()),
                None => absent.push(value.full_name().to_string()),
            }
        }
    }
    assert_eq!(
        absent,
        newer_than_mesos_go(),
        "Pacer's subset and tests/data/newer-than-mesos-go.txt disagree"
    );
}

/// A field's wire facts, with mesos-go's package names.
fn describe(field: &FieldDescriptor) -> String {
    let kind = match field.kind() {
        Kind::Message(m) => format!("message {}", oracle_name(m.full_name())),
        Kind::Enum(e) => format!("enum {}", oracle_name(e.full_name())),
        other => format!("{other:?}"),
    };
    let default = match field.kind() {
        Kind::Message(_) => None,
        _ if field.is_list() => None,
        _ => Some(field.default_value()),
    };
    format!(
        "{} = {}: {:?} {kind} default {default:?}",
        field.name(),
        field.number(),
        field.cardinality()
    )
}
