//! CRIU checkpoints restored on the real kernel (the socket part): `restore run DIR --verify`
//! for the CRIU fixture directories and the Podman-layout archive, each in a private network
//! namespace (`unshare -n`, `lo` up) under a scratch `--root`; and `-- CMD` with the restored
//! fds at the numbers fdinfo gives them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn restore_in_netns(args: &[&str]) -> Output {
    Command::new("unshare")
        .args(["-n", "sh", "-c", r#"ip link set lo up && exec "$0" "$@""#])
        .arg(env!("CARGO_BIN_EXE_restore"))
        .args(args)
        .output()
        .expect("unshare runs (util-linux, root)")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("resocket-criu-kernel-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/criu")
}

#[test]
fn every_valid_criu_fixture_and_the_podman_and_cri_o_archives_restore_and_verify_on_the_real_kernel() {
    let mut inputs: Vec<PathBuf> =
        std::fs::read_dir(fixtures().join("images/valid")).unwrap().map(|e| e.unwrap().path()).collect();
    inputs.sort();
    assert!(inputs.len() >= 15, "{inputs:?}");
    inputs.push(fixtures().join("archives/podman-stream-pair.tar.gz"));
    inputs.push(fixtures().join("archives/checkpoint-web-0_shop-server-2026-12-01T00:00:00Z.tar"));
    // Real CRIU 4.2 dumps (fixtures/criu/real/README.md): AF_UNIX sockets of every naming, a
    // pending client, one in flight, two processes sharing fds, TCP with options and a
    // connection CRIU dropped from an accept queue (restored pending), UDP.
    for real in ["criu-4.2-python", "criu-4.2-tree", "criu-4.2-tcp-in-flight", "criu-4.2-options"] {
        inputs.push(fixtures().join("real").join(real));
    }
    // A real Podman checkpoint archive (runc, CRIU 4.2) of a static program's sockets.
    inputs.push(fixtures().join("real/podman-4.3.1-sockets.tar.gz"));
    let mut failures = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let root = scratch(&format!("run-{i}"));
        let o = restore_in_netns(&["run", "--verify", "--root", root.to_str().unwrap(), input.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        if o.status.code() != Some(0) || !err.contains("verify: the kernel state matches the image") {
            failures.push(format!("{}: {err}", input.display()));
        }
        let _ = std::fs::remove_dir_all(&root);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_criu_directory_hands_its_sockets_to_a_command_at_their_fd_numbers() {
    let dir = fixtures().join("images/valid/stream-pair");
    let root = scratch("exec");
    // fdinfo-100.img places the pair at fds 3 and 4: write on one end, read on the other.
    let o = restore_in_netns(&[
        "run",
        "--root",
        root.to_str().unwrap(),
        dir.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "readlink /proc/self/fd/3 /proc/self/fd/4 | grep -c '^socket:' && printf ping >&3 && timeout 2 dd bs=4 count=1 <&4 2>/dev/null",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out, "2\nping", "{}", String::from_utf8_lossy(&o.stderr));
    let _ = std::fs::remove_dir_all(&root);
}
