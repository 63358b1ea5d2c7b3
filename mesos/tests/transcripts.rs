//! Pacer's Mesos types against a real Mesos 1.12 master: the protobuf bytes it sent and
//! accepted (tests/data/session-protobuf.jsonl, copied from shared/mesos-transcripts) decode
//! into the fields its JSON rendering shows, and re-encode to the very same bytes (prost drops
//! unknown fields, so equal bytes mean every field was known with the right number and type).

use mesos::v1::scheduler::{Call, Event, call, event};
use mesos::v1::{FrameworkId, FrameworkInfo, TaskStatus, framework_info};
use prost::Message;
use serde_json::Value;

fn transcript() -> Vec<Value> {
    let text = include_str!("data/session-protobuf.jsonl");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("transcript line is JSON"))
        .collect()
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("expected a string, got {v}"))
}

fn int(v: &Value) -> u64 {
    // 64-bit integers are strings in the JSON rendering, others are numbers.
    v.as_u64()
        .or_else(|| v.as_str().and_then(|t| t.parse().ok()))
        .unwrap_or_else(|| panic!("expected an integer, got {v}"))
}

fn check_status(status: &TaskStatus, json: &Value) {
    assert_eq!(status.task_id.value, s(&json["task_id"]["value"]));
    assert_eq!(status.state().as_str_name(), s(&json["state"]));
    assert_eq!(status.message.as_deref(), json.get("message").map(s));
    assert_eq!(
        status.agent_id.as_ref().map(|a| a.value.as_str()),
        json.get("agent_id").map(|a| s(&a["value"]))
    );
    assert_eq!(status.timestamp, json["timestamp"].as_f64());
    assert_eq!(
        status.executor_id.as_ref().map(|e| e.value.as_str()),
        json.get("executor_id").map(|e| s(&e["value"]))
    );
    assert_eq!(
        status.source.map(|_| status.source().as_str_name()),
        json.get("source").map(s)
    );
    assert_eq!(
        status.reason.map(|_| status.reason().as_str_name()),
        json.get("reason").map(s)
    );
    assert_eq!(
        status.uuid.as_deref().map(base64),
        json.get("uuid").map(|u| s(u).to_owned())
    );
    match (&status.container_status, json.get("container_status")) {
        (None, None) => {}
        (Some(c), Some(j)) => {
            assert_eq!(c.executor_pid.map(u64::from), j.get("executor_pid").map(int));
            assert_eq!(c.container_id.as_ref().unwrap().value, s(&j["container_id"]["value"]));
            let ip = &c.network_infos[0].ip_addresses[0];
            assert_eq!(
                ip.ip_address.as_deref(),
                Some(s(&j["network_infos"][0]["ip_addresses"][0]["ip_address"]))
            );
        }
        (ours, theirs) => panic!("container_status differs: {ours:?} vs {theirs:?}"),
    }
}

fn check_event(event: &Event, json: &Value) {
    assert_eq!(event.r#type().as_str_name(), s(&json["type"]));
    match event.r#type() {
        event::Type::Subscribed => {
            let sub = event.subscribed.as_ref().unwrap();
            let j = &json["subscribed"];
            assert_eq!(sub.framework_id.value, s(&j["framework_id"]["value"]));
            assert_eq!(sub.heartbeat_interval_seconds, j["heartbeat_interval_seconds"].as_f64());
            let info = sub.master_info.as_ref().unwrap();
            let ji = &j["master_info"];
            assert_eq!(info.id, s(&ji["id"]));
            assert_eq!(u64::from(info.ip), int(&ji["ip"]));
            assert_eq!(u64::from(info.port), int(&ji["port"]));
            assert_eq!(info.pid.as_deref(), Some(s(&ji["pid"])));
            assert_eq!(info.hostname.as_deref(), Some(s(&ji["hostname"])));
            assert_eq!(info.version.as_deref(), Some(s(&ji["version"])));
            let address = info.address.as_ref().unwrap();
            assert_eq!(address.ip.as_deref(), Some(s(&ji["address"]["ip"])));
            assert_eq!(address.port as u64, int(&ji["address"]["port"]));
            let caps: Vec<&str> = info.capabilities.iter().map(|c| c.r#type().as_str_name()).collect();
            let jcaps: Vec<&str> = ji["capabilities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| s(&c["type"]))
                .collect();
            assert_eq!(caps, jcaps);
        }
        event::Type::Offers => {
            let offers = &event.offers.as_ref().unwrap().offers;
            let joffers = json["offers"]["offers"].as_array().unwrap();
            assert_eq!(offers.len(), joffers.len());
            for (offer, j) in offers.iter().zip(joffers) {
                assert_eq!(offer.id.value, s(&j["id"]["value"]));
                assert_eq!(offer.framework_id.value, s(&j["framework_id"]["value"]));
                assert_eq!(offer.agent_id.value, s(&j["agent_id"]["value"]));
                assert_eq!(offer.hostname, s(&j["hostname"]));
                assert_eq!(
                    offer.allocation_info.as_ref().unwrap().role.as_deref(),
                    Some(s(&j["allocation_info"]["role"]))
                );
                let url = offer.url.as_ref().unwrap();
                assert_eq!(url.scheme, s(&j["url"]["scheme"]));
                assert_eq!(url.path.as_deref(), Some(s(&j["url"]["path"])));
                assert_eq!(url.address.port as u64, int(&j["url"]["address"]["port"]));
                let jres = j["resources"].as_array().unwrap();
                assert_eq!(offer.resources.len(), jres.len());
                for (r, jr) in offer.resources.iter().zip(jres) {
                    assert_eq!(r.name, s(&jr["name"]));
                    assert_eq!(r.r#type().as_str_name(), s(&jr["type"]));
                    assert_eq!(r.role.as_deref(), Some(s(&jr["role"])));
                    assert_eq!(
                        r.allocation_info.as_ref().unwrap().role.as_deref(),
                        Some(s(&jr["allocation_info"]["role"]))
                    );
                    assert_eq!(r.scalar.as_ref().map(|x| x.value), jr["scalar"]["value"].as_f64());
                    if let Some(ranges) = &r.ranges {
                        assert_eq!(ranges.range[0].begin, int(&jr["ranges"]["range"][0]["begin"]));
                        assert_eq!(ranges.range[0].end, int(&jr["ranges"]["range"][0]["end"]));
                    }
                }
            }
        }
        event::Type::Update => check_status(&event.update.as_ref().unwrap().status, &json["update"]["status"]),
        event::Type::Heartbeat => {}
        other => panic!("the transcript has no {other:?} events"),
    }
}

fn check_call(call: &Call, json: &Value) {
    assert_eq!(
        call.framework_id.as_ref().unwrap().value,
        s(&json["framework_id"]["value"])
    );
    assert_eq!(call.r#type().as_str_name(), s(&json["type"]));
    match call.r#type() {
        call::Type::Accept => {
            let accept = call.accept.as_ref().unwrap();
            let j = &json["accept"];
            assert_eq!(accept.offer_ids[0].value, s(&j["offer_ids"][0]["value"]));
            assert_eq!(
                accept.filters.as_ref().unwrap().refuse_seconds(),
                j["filters"]["refuse_seconds"].as_f64().unwrap()
            );
            let op = &accept.operations[0];
            assert_eq!(op.r#type().as_str_name(), s(&j["operations"][0]["type"]));
            let task = &op.launch.as_ref().unwrap().task_infos[0];
            let jt = &j["operations"][0]["launch"]["task_infos"][0];
            assert_eq!(task.name, s(&jt["name"]));
            assert_eq!(task.task_id.value, s(&jt["task_id"]["value"]));
            assert_eq!(task.agent_id.value, s(&jt["agent_id"]["value"]));
            assert_eq!(task.command.as_ref().unwrap().value(), s(&jt["command"]["value"]));
            for (r, jr) in task.resources.iter().zip(jt["resources"].as_array().unwrap()) {
                assert_eq!(r.name, s(&jr["name"]));
                assert_eq!(
                    r.scalar.as_ref().unwrap().value,
                    jr["scalar"]["value"].as_f64().unwrap()
                );
            }
        }
        call::Type::Acknowledge => {
            let ack = call.acknowledge.as_ref().unwrap();
            let j = &json["acknowledge"];
            assert_eq!(ack.agent_id.value, s(&j["agent_id"]["value"]));
            assert_eq!(ack.task_id.value, s(&j["task_id"]["value"]));
            assert_eq!(base64(&ack.uuid), s(&j["uuid"]));
        }
        call::Type::Reconcile => {
            let tasks = &call.reconcile.as_ref().unwrap().tasks;
            let jt = json["reconcile"]["tasks"].as_array().cloned().unwrap_or_default();
            assert_eq!(tasks.len(), jt.len());
            for (t, j) in tasks.iter().zip(&jt) {
                assert_eq!(t.task_id.value, s(&j["task_id"]["value"]));
                assert_eq!(
                    t.agent_id.as_ref().map(|a| a.value.as_str()),
                    j.get("agent_id").map(|a| s(&a["value"]))
                );
            }
        }
        call::Type::Kill => {
            let kill = call.kill.as_ref().unwrap();
            assert_eq!(kill.task_id.value, s(&json["kill"]["task_id"]["value"]));
            assert_eq!(
                kill.agent_id.as_ref().unwrap().value,
                s(&json["kill"]["agent_id"]["value"])
            );
        }
        call::Type::Revive | call::Type::Teardown | call::Type::Decline => {}
        other => panic!("the transcript has no {other:?} calls"),
    }
}

#[test]
fn every_event_of_the_real_master_decodes_and_reencodes_identically() {
    let mut seen = Vec::new();
    for line in transcript().iter().filter(|l| l["dir"] == "event") {
        let bytes = unhex(s(&line["event"]["hex"]));
        assert_eq!(bytes.len() as u64, int(&line["record_length"]));
        let event = Event::decode(&bytes[..]).expect("a real master's event decodes");
        assert_eq!(
            event.encode_to_vec(),
            bytes,
            "re-encoding {:?} changed its bytes",
            event.r#type()
        );
        check_event(&event, &line["event"]["decoded"]);
        seen.push(event.r#type());
    }
    assert!(seen.contains(&event::Type::Subscribed) && seen.contains(&event::Type::Offers));
    assert!(seen.iter().filter(|t| **t == event::Type::Update).count() >= 6);
}

#[test]
fn every_call_the_real_master_took_decodes_and_reencodes_identically() {
    let mut checked = 0;
    for line in transcript().iter().filter(|l| l["dir"] == "call") {
        let bytes = unhex(s(&line["request_bytes_hex"]));
        if line["note"] == "undecodable body" {
            assert!(Call::decode(&bytes[..]).is_err(), "garbage must not decode");
            continue;
        }
        let call = Call::decode(&bytes[..]).expect("a call the master parsed decodes");
        assert_eq!(
            call.encode_to_vec(),
            bytes,
            "re-encoding {:?} changed its bytes",
            call.r#type()
        );
        if line["note"] != "unknown framework id" {
            check_call(&call, &line["request"]);
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} calls checked");
}

#[test]
fn the_raw_stream_prefix_is_recordio_framed_events() {
    use bytes::BytesMut;
    use mesos::recordio::RecordIoCodec;
    use tokio_util::codec::Decoder;
    let line = transcript()
        .into_iter()
        .find(|l| l["dir"] == "raw_stream_prefix_hex")
        .unwrap();
    let mut buf = BytesMut::from(&unhex(s(&line["hex"]))[..]);
    let mut codec = RecordIoCodec::default();
    let first = codec.decode(&mut buf).unwrap().expect("a whole first record");
    let event = Event::decode(first).unwrap();
    assert_eq!(event.r#type(), event::Type::Subscribed);
}

#[test]
fn subscribe_matches_the_golden_vector() {
    let info = FrameworkInfo {
        user: "root".into(),
        name: "marathon".into(),
        failover_timeout: Some(604_800.0),
        checkpoint: Some(true),
        capabilities: vec![framework_info::Capability {
            r#type: Some(framework_info::capability::Type::MultiRole as i32),
        }],
        roles: vec!["*".into()],
        ..Default::default()
    };
    let call = Call {
        r#type: Some(call::Type::Subscribe as i32),
        subscribe: Some(call::Subscribe {
            framework_info: info,
            ..Default::default()
        }),
        ..Default::default()
    };
    let golden = unhex("10011a240a220a04726f6f7412086d61726174686f6e21000000000075224128015202080662012a");
    assert_eq!(call.encode_to_vec(), golden);
    assert_eq!(Call::decode(&golden[..]).unwrap(), call);
}

#[test]
fn calls_and_events_of_every_type_round_trip() {
    let fid = FrameworkId { value: "f-0001".into() };
    let calls = vec![
        Call {
            r#type: Some(call::Type::Teardown as i32),
            framework_id: Some(fid.clone()),
            ..Default::default()
        },
        Call {
            r#type: Some(call::Type::Revive as i32),
            revive: Some(call::Revive {
                roles: vec!["*".into()],
            }),
            ..Default::default()
        },
        Call {
            r#type: Some(call::Type::Suppress as i32),
            suppress: Some(call::Suppress {
                roles: vec!["web".into()],
            }),
            ..Default::default()
        },
        Call {
            r#type: Some(call::Type::UpdateFramework as i32),
            update_framework: Some(call::UpdateFramework {
                framework_info: FrameworkInfo {
                    user: "u".into(),
                    name: "n".into(),
                    ..Default::default()
                },
                suppressed_roles: vec!["x".into()],
                offer_constraints: None,
            }),
            ..Default::default()
        },
        Call {
            r#type: Some(call::Type::Message as i32),
            message: Some(call::Message {
                agent_id: mesos::v1::AgentId { value: "a".into() },
                executor_id: mesos::v1::ExecutorId { value: "e".into() },
                data: vec![0, 1, 2],
            }),
            ..Default::default()
        },
    ];
    for c in calls {
        assert_eq!(Call::decode(&c.encode_to_vec()[..]).unwrap(), c);
    }
    let events = vec![
        Event {
            r#type: Some(event::Type::Heartbeat as i32),
            ..Default::default()
        },
        Event {
            r#type: Some(event::Type::Error as i32),
            error: Some(event::Error {
                message: "Framework failed over".into(),
            }),
            ..Default::default()
        },
        Event {
            r#type: Some(event::Type::Failure as i32),
            failure: Some(event::Failure {
                agent_id: None,
                executor_id: None,
                status: Some(137),
            }),
            ..Default::default()
        },
        Event {
            r#type: Some(event::Type::Rescind as i32),
            rescind: Some(event::Rescind {
                offer_id: mesos::v1::OfferId { value: "o".into() },
            }),
            ..Default::default()
        },
    ];
    for e in events {
        assert_eq!(Event::decode(&e.encode_to_vec()[..]).unwrap(), e);
    }
    // An event type from a newer Mesos is kept as its number, not an error.
    let unknown = Event::decode(&[0x08, 0x63][..]).unwrap();
    assert_eq!(unknown.r#type, Some(99));
    assert_eq!(unknown.r#type(), event::Type::Unknown);
}
