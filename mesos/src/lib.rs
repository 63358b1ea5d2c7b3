//! Mesos v1 scheduler API: protobuf types with Mesos's field numbers, RecordIO framing, the
//! [`Transport`] a scheduler subscribes through, and the embedded local master and agent.

mod transport;

pub use transport::{BoxFuture, CallSink, Caller, Connection, Transport, TransportError};
