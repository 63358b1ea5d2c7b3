//! An independent reading of the Mesos v1 messages: the `.proto` files that Debian's
//! `golang-github-mesos-mesos-go-dev` ships (package `mesos` / `mesos.scheduler`, the same
//! names, numbers and labels as Mesos's `mesos.v1`), compiled at test time by Debian's `protoc`,
//! whose `--decode` / `--encode` are C++ libprotobuf, the implementation a Mesos master uses.
//! Nothing of Mesos is copied into the project; without the packages the tests fail and say
//! what to install (scripts/test installs them).

#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

const GOCODE: &str = "/usr/share/gocode/src";
const MESOS_PROTO: &str = "github.com/mesos/mesos-go/api/v1/lib/mesos.proto";
const SCHEDULER_PROTO: &str = "github.com/mesos/mesos-go/api/v1/lib/scheduler/scheduler.proto";
const GOGO_PROTO: &str = "github.com/gogo/protobuf/gogoproto/gogo.proto";
const INSTALL: &str =
    "apt-get install -y protobuf-compiler golang-github-mesos-mesos-go-dev golang-github-gogo-protobuf-dev";

/// The same options as Pacer's Mesos JSON, so both sides print alike.
const MESOS_JSON: SerializeOptions = SerializeOptions::new()
    .use_proto_field_name(true)
    .stringify_64_bit_integers(false)
    .skip_default_fields(true);

pub struct Oracle {
    /// The mesos-go descriptors, for printing what protoc decoded as JSON.
    pub pool: DescriptorPool,
}

/// The oracle, compiled once per test binary. Panics, naming the packages to install, when the
/// Debian files or `protoc` are missing.
pub fn oracle() -> &'static Oracle {
    static ORACLE: OnceLock<Oracle> = OnceLock::new();
    ORACLE.get_or_init(|| {
        for file in [MESOS_PROTO, SCHEDULER_PROTO, GOGO_PROTO] {
            let path = Path::new(GOCODE).join(file);
            assert!(
                path.exists(),
                "the Mesos wire-compatibility oracle needs {} (Debian packages; run: {INSTALL})",
                path.display()
            );
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let set = dir.path().join("mesos-go.pb");
        let out = protoc(
            &[
                "--include_imports".into(),
                format!("--descriptor_set_out={}", set.display()),
                SCHEDULER_PROTO.into(),
            ],
            &[],
        )
        .unwrap_or_else(|e| panic!("protoc could not compile mesos-go's .proto files: {e}"));
        assert!(out.is_empty());
        let bytes = std::fs::read(&set).expect("protoc wrote the descriptor set");
        Oracle {
            pool: DescriptorPool::decode(bytes.as_slice()).expect("protoc's descriptor set decodes"),
        }
    })
}

/// The oracle's name of a Pacer message: `mesos.v1.scheduler.Call` is `mesos.scheduler.Call`.
pub fn oracle_name(pacer: &str) -> String {
    pacer.replacen("mesos.v1.", "mesos.", 1)
}

impl Oracle {
    /// `bytes` decoded by C++ libprotobuf as `type_name`, in its text format. An error when
    /// they do not parse, lack a `required` field, or hold fields mesos-go does not know.
    pub fn decode(&self, type_name: &str, bytes: &[u8]) -> Result<String, String> {
        let text = protoc(&[format!("--decode={type_name}"), SCHEDULER_PROTO.into()], bytes)?;
        let text = String::from_utf8(text).map_err(|e| format!("protoc printed non-UTF-8 text: {e}"))?;
        // Unknown fields print under their numbers (`12: "x"`) instead of a name.
        if let Some(line) = text
            .lines()
            .find(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        {
            return Err(format!("fields unknown to mesos-go: {line:?} in\n{text}"));
        }
        Ok(text)
    }

    /// The C++ encoding of the text-format message `text` of type `type_name`.
    pub fn encode(&self, type_name: &str, text: &str) -> Result<Vec<u8>, String> {
        protoc(
            &[format!("--encode={type_name}"), SCHEDULER_PROTO.into()],
            text.as_bytes(),
        )
    }

    /// The text-format message as Mesos's JSON, field names and enum names from mesos-go.
    pub fn json_of_text(&self, type_name: &str, text: &str) -> serde_json::Value {
        let desc = self
            .pool
            .get_message_by_name(type_name)
            .unwrap_or_else(|| panic!("mesos-go has no message {type_name}"));
        let message = DynamicMessage::parse_text_format(desc, text)
            .unwrap_or_else(|e| panic!("protoc's text format of {type_name} does not parse: {e}\n{text}"));
        let mut out = serde_json::Serializer::new(Vec::new());
        message
            .serialize_with_options(&mut out, &MESOS_JSON)
            .expect("a message serialises");
        serde_json::from_slice(&out.into_inner()).expect("valid JSON")
    }
}

/// Runs Debian's protoc on mesos-go's files with `input` on stdin; its stdout, or its stderr
/// as the error.
fn protoc(args: &[String], input: &[u8]) -> Result<Vec<u8>, String> {
    let mut child = Command::new("protoc")
        .arg(format!("-I{GOCODE}"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run protoc ({e}); install it: {INSTALL}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().map_err(|e| format!("protoc: {e}"))?;
    writer
        .join()
        .expect("writer thread")
        .map_err(|e| format!("writing to protoc: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Pacer sets `Resource.role`, deprecated but still read by Mesos; any other warning (such
    // as "missing required fields") is a failure.
    let warned = stderr
        .lines()
        .any(|l| !l.trim().is_empty() && !l.contains("text format contains deprecated field \"role\""));
    if !out.status.success() || warned {
        return Err(format!("protoc {args:?} ({}): {stderr}", out.status));
    }
    Ok(out.stdout)
}
