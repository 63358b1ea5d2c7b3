//! Compiles Pacer's Mesos v1 .proto subset (and the local agent's checkpoint record) with
//! protox, so no system `protoc` is needed. The descriptor set is kept too: the JSON encoding
//! (src/encoding.rs) reads field names, enum names and proto2 labels from it at run time.

use std::path::{Path, PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new("proto");
    let files = [
        "mesos/v1/mesos.proto",
        "mesos/v1/scheduler/scheduler.proto",
        "pacer/checkpoint.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let descriptors = protox::compile(files, [root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("descriptors.bin"), descriptors.encode_to_vec())?;
    prost_build::Config::new()
        .include_file("protos.rs")
        .enable_type_names()
        .compile_fds(descriptors)?;
    Ok(())
}
