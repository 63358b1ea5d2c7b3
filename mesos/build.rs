//! Compiles Pacer's Mesos v1 .proto subset (and the local agent's checkpoint record) with
//! protox, so no system `protoc` is needed.

use std::path::Path;

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
    prost_build::Config::new()
        .include_file("protos.rs")
        .compile_fds(descriptors)?;
    Ok(())
}
