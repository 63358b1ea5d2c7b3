//! The two encodings of the v1 scheduler API: binary protobuf and Mesos's JSON.
//!
//! Mesos's JSON (stout's `jsonify` and `protobuf::parse`, used by the master both ways) is not
//! the proto3 JSON mapping: keys are the proto field names (`framework_info`, never
//! `frameworkInfo`), enums are their names, `bytes` are standard base64, and 64-bit integers
//! are plain JSON numbers. The master ignores keys it does not know (a camelCase key included),
//! rejects enum numbers, drops an unknown enum name, and then insists on every proto2 `required`
//! field. Both directions are driven by the descriptors build.rs compiled from `proto/`, through
//! `prost-reflect`, whose serde support has the options needed for exactly that mapping.
//!
//! Decoding checks the proto2 `required` fields for both encodings, as the master does, since
//! prost fills a missing required field with its default instead of refusing the message.

use std::sync::LazyLock;

use prost::{Message, Name};
use prost_reflect::{
    Cardinality, DescriptorPool, DeserializeOptions, DynamicMessage, Kind, MessageDescriptor, ReflectMessage,
    SerializeOptions, Value,
};

/// The media type of binary protobuf bodies.
pub const PROTOBUF: &str = "application/x-protobuf";
/// The media type of JSON bodies.
pub const JSON: &str = "application/json";

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin")).as_ref())
        .expect("build.rs wrote a valid descriptor set")
});

/// Serialises as Mesos prints: proto names, enum names, 64-bit integers as numbers, only the
/// fields that are set.
const SERIALIZE: SerializeOptions = SerializeOptions::new()
    .use_proto_field_name(true)
    .stringify_64_bit_integers(false)
    .skip_default_fields(true);

/// Unknown enum names are dropped (a `required` one is then reported missing), as by Mesos.
const DESERIALIZE: DeserializeOptions = DeserializeOptions::new().deny_unknown_fields(false);

/// The descriptors of Pacer's Mesos messages (packages `mesos.v1` and `mesos.v1.scheduler`).
pub fn descriptor_pool() -> &'static DescriptorPool {
    &POOL
}

/// Why a body could not be read as a message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not a protobuf message of the expected type.
    #[error("invalid protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// Not JSON, or JSON that does not fit the message.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A proto2 `required` field is absent (paths such as `subscribe.framework_info.user`).
    #[error("missing required fields: {}", .0.join(", "))]
    MissingRequired(Vec<String>),
}

/// One of the two wire encodings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoding {
    #[default]
    Protobuf,
    Json,
}

impl Encoding {
    /// The encoding a `Content-Type` names. As the master, only the exact media type counts:
    /// `application/json; charset=utf-8` is neither.
    pub fn from_content_type(content_type: &str) -> Option<Encoding> {
        match content_type {
            PROTOBUF => Some(Encoding::Protobuf),
            JSON => Some(Encoding::Json),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => PROTOBUF,
            Encoding::Json => JSON,
        }
    }

    pub fn encode<M: Message + Name>(self, message: &M) -> Vec<u8> {
        match self {
            Encoding::Protobuf => message.encode_to_vec(),
            Encoding::Json => to_json(message),
        }
    }

    /// Reads a message, refusing one that lacks a `required` field.
    pub fn decode<M: Message + Name + Default>(self, body: &[u8]) -> Result<M, DecodeError> {
        let dynamic = match self {
            Encoding::Protobuf => DynamicMessage::decode(descriptor::<M>(), body)?,
            Encoding::Json => json_to_dynamic(descriptor::<M>(), body)?,
        };
        let mut missing = Vec::new();
        missing_required(&dynamic, "", &mut missing);
        if !missing.is_empty() {
            return Err(DecodeError::MissingRequired(missing));
        }
        Ok(M::decode(dynamic.encode_to_vec().as_slice())?)
    }
}

/// `message` in Mesos's JSON.
pub fn to_json<M: Message + Name>(message: &M) -> Vec<u8> {
    let dynamic = DynamicMessage::decode(descriptor::<M>(), message.encode_to_vec().as_slice())
        .expect("prost's own encoding decodes with the same descriptors");
    let mut out = serde_json::Serializer::new(Vec::new());
    dynamic
        .serialize_with_options(&mut out, &SERIALIZE)
        .expect("a message always serialises to JSON");
    out.into_inner()
}

fn descriptor<M: Name>() -> MessageDescriptor {
    POOL.get_message_by_name(&M::full_name())
        .unwrap_or_else(|| panic!("{} is not in Pacer's descriptors", M::full_name()))
}

fn json_to_dynamic(desc: MessageDescriptor, body: &[u8]) -> Result<DynamicMessage, DecodeError> {
    let mut json: serde_json::Value = serde_json::from_slice(body).map_err(|e| DecodeError::Json(e.to_string()))?;
    as_mesos_reads(&mut json, &desc, "")?;
    DynamicMessage::deserialize_with_options(desc, json, &DESERIALIZE).map_err(|e| DecodeError::Json(e.to_string()))
}

/// Makes `json` mean to prost-reflect what it means to Mesos: prost-reflect also takes
/// lowerCamelCase keys and enum numbers, which Mesos ignores and refuses respectively.
fn as_mesos_reads(json: &mut serde_json::Value, desc: &MessageDescriptor, path: &str) -> Result<(), DecodeError> {
    let serde_json::Value::Object(object) = json else {
        return Ok(()); // a type mismatch the deserialiser reports
    };
    object.retain(|key, _| desc.get_field_by_name(key).is_some());
    for (key, value) in object.iter_mut() {
        let field = desc.get_field_by_name(key).expect("kept keys are fields");
        let path = format!("{path}{key}");
        let values: Vec<&mut serde_json::Value> = match value {
            serde_json::Value::Array(items) if field.is_list() => items.iter_mut().collect(),
            serde_json::Value::Object(entries) if field.is_map() => entries.values_mut().collect(),
            single => vec![single],
        };
        let kind = match field.kind() {
            Kind::Message(entry) if field.is_map() => entry.map_entry_value_field().kind(),
            kind => kind,
        };
        for value in values {
            match &kind {
                Kind::Enum(_) if value.is_number() => {
                    return Err(DecodeError::Json(format!(
                        "{path}: an enum is given by its name, not {value}"
                    )));
                }
                Kind::Message(inner) => as_mesos_reads(value, inner, &format!("{path}."))?,
                _ => {}
            }
        }
    }
    Ok(())
}

/// Appends the paths of the absent `required` fields of `message` and of the messages in it.
fn missing_required(message: &DynamicMessage, path: &str, out: &mut Vec<String>) {
    for field in message.descriptor().fields() {
        let name = format!("{path}{}", field.name());
        if !message.has_field(&field) {
            if field.cardinality() == Cardinality::Required {
                out.push(name);
            }
            continue;
        }
        match &*message.get_field(&field) {
            Value::Message(inner) => missing_required(inner, &format!("{name}."), out),
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Message(inner) = item {
                        missing_required(inner, &format!("{name}[{i}]."), out);
                    }
                }
            }
            Value::Map(entries) => {
                for (key, item) in entries {
                    if let Value::Message(inner) = item {
                        missing_required(inner, &format!("{name}[{key:?}]."), out);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::scheduler::{Call, Event, call, event};
    use crate::v1::{FrameworkId, FrameworkInfo, TaskId, TaskState, TaskStatus};

    fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn json_uses_proto_names_enum_names_base64_and_numbers() {
        let event = Event {
            r#type: Some(event::Type::Update as i32),
            update: Some(event::Update {
                status: TaskStatus {
                    task_id: TaskId { value: "t1".into() },
                    state: TaskState::TaskRunning as i32,
                    uuid: Some(vec![0xff, 0, 1]),
                    timestamp: Some(1.5),
                    ..Default::default()
                },
            }),
            ..Default::default()
        };
        let out: serde_json::Value = serde_json::from_slice(&to_json(&event)).unwrap();
        assert_eq!(
            out,
            json(
                r#"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t1"},"state":"TASK_RUNNING",
                "timestamp":1.5,"uuid":"/wAB"}}}"#
            )
        );
        assert_eq!(Encoding::Json.decode::<Event>(&to_json(&event)).unwrap(), event);
    }

    #[test]
    fn json_reads_as_mesos_does() {
        let body = br#"{"type":"SUBSCRIBE","framework_id":{"value":"f"},"subscribe":{"framework_info":
            {"user":"root","name":"n","failover_timeout":"60","checkpoint":true,"bogus":1,
             "capabilities":[{"type":"NOT_A_CAPABILITY"},{"type":"MULTI_ROLE"}]}}}"#;
        let call: Call = Encoding::Json.decode(body).unwrap();
        assert_eq!(call.r#type(), call::Type::Subscribe);
        assert_eq!(call.framework_id, Some(FrameworkId { value: "f".into() }));
        let info: &FrameworkInfo = &call.subscribe.as_ref().unwrap().framework_info;
        assert_eq!(info.failover_timeout, Some(60.0));
        // The unknown capability name is dropped, and leaves a capability with no type.
        assert_eq!(info.capabilities.len(), 2);
        assert_eq!(info.capabilities[0].r#type, None);

        // camelCase keys are not Mesos's: ignored, so the required framework_info is missing.
        let camel = br#"{"type":"SUBSCRIBE","subscribe":{"frameworkInfo":{"user":"root","name":"n"}}}"#;
        let err = Encoding::Json.decode::<Call>(camel).unwrap_err();
        assert!(
            matches!(&err, DecodeError::MissingRequired(p) if p == &["subscribe.framework_info"]),
            "{err}"
        );

        let numeric = br#"{"type":1}"#;
        let err = Encoding::Json.decode::<Call>(numeric).unwrap_err();
        assert!(err.to_string().contains("type: an enum is given by its name"), "{err}");
        assert!(Encoding::Json.decode::<Call>(b"{").is_err());
    }

    #[test]
    fn missing_required_fields_are_refused_in_both_encodings() {
        let json = br#"{"type":"ACKNOWLEDGE","acknowledge":{"task_id":{"value":"t"},"agent_id":{}}}"#;
        let err = Encoding::Json.decode::<Call>(json).unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing required fields: acknowledge.agent_id.value, acknowledge.uuid"
        );
        // Event.Error{message} encoded without its message: field 8, length 0.
        let bytes = [0x08, 0x07, 0x42, 0x00];
        let err = Encoding::Protobuf.decode::<Event>(&bytes).unwrap_err();
        assert_eq!(err.to_string(), "missing required fields: error.message");
        assert!(Encoding::Protobuf.decode::<Event>(&[0x08, 0x08]).is_ok());
    }

    #[test]
    fn content_types_match_exactly() {
        assert_eq!(Encoding::from_content_type(JSON), Some(Encoding::Json));
        assert_eq!(Encoding::from_content_type(PROTOBUF), Some(Encoding::Protobuf));
        assert_eq!(Encoding::from_content_type("application/json; charset=utf-8"), None);
    }
}
