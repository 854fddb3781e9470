//! CRIU input in the CLI: image directories, checkpoint archives (built here from the CRIU
//! fixture directories, and the committed Podman-layout fixture), one image file; detection by
//! content; every command that takes an image.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn criu_dir(kind: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/criu/images").join(kind).join(name)
}

fn podman_archive() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/criu/archives/podman-stream-pair.tar.gz")
}

/// The kubelet's checkpoint of a CRI-O container (an uncompressed tar).
fn crio_archive() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/criu/archives/checkpoint-web-0_shop-server-2026-12-01T00:00:00Z.tar")
}

fn restore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_restore")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("resocket-criu-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A tar of a CRIU directory's images under `prefix` (`checkpoint/` for Podman's layout), with
/// extra (path, bytes) members.
fn tar_of_dir(dir: &Path, prefix: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_path(path).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(0);
        h.set_cksum();
        b.append(&h, data).unwrap();
    };
    for (p, d) in extra {
        add(p, d);
    }
    let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    for n in names {
        let data = std::fs::read(dir.join(&n)).unwrap();
        add(&format!("{prefix}{}", n.to_string_lossy()), &data);
    }
    b.into_inner().unwrap()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

const CONFIG: &[u8] =
    br#"{"id":"c0ffee","name":"pair","rootfsImageName":"example/pair:1","createdTime":"2026-11-30T09:15:00Z"}"#;
const SPEC: &[u8] = br#"{"annotations":{"io.container.manager":"libpod"}}"#;

#[test]
fn criu_input_is_recognised_by_content_not_by_name() {
    let dir = criu_dir("valid", "stream-pair");
    let d = scratch("detect");
    // A Podman-layout tar.gz named like a CRIU image, and a plain tar named like a resocket image.
    let tgz = d.join("files.img");
    std::fs::write(&tgz, gz(&tar_of_dir(&dir, "checkpoint/", &[("config.dump", CONFIG), ("spec.dump", SPEC)])))
        .unwrap();
    let o = restore(&["show", s(&tgz)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("tar.gz archive, Podman container checkpoint"), "{out}");
    assert!(out.contains("name          pair") && out.contains("example/pair:1"), "{out}");
    let tar = d.join("pair.rsimg");
    std::fs::write(&tar, tar_of_dir(&dir, "", &[])).unwrap();
    let o = restore(&["show", s(&tar)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("tar archive, CRIU image directory"), "{}", stdout(&o));
    // zstd, named .json.
    let zst = d.join("pair.json");
    let bytes = ruzstd::encoding::compress_to_vec(
        &tar_of_dir(&dir, "checkpoint/", &[])[..],
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    std::fs::write(&zst, bytes).unwrap();
    let o = restore(&["check", s(&zst)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("tar.zst archive, container checkpoint"), "{}", stdout(&o));
    // The directory itself.
    let o = restore(&["show", s(&dir)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("CRIU image directory: "), "{}", stdout(&o));
    // One image file.
    let o = restore(&["show", s(&dir.join("files.img"))]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("CRIU image file"), "{}", stdout(&o));
    // Garbage, an empty file and a directory without images: clear errors, exit 2.
    let junk = d.join("junk.tar.gz");
    std::fs::write(&junk, b"this is not a checkpoint at all").unwrap();
    for (path, says) in [
        (junk.clone(), "not a checkpoint"),
        (d.join("empty"), "an empty file"),
        (d.join("nothing"), "without CRIU images"),
    ] {
        if says == "an empty file" {
            std::fs::write(&path, b"").unwrap();
        } else if says.contains("without") {
            std::fs::create_dir_all(&path).unwrap();
            std::fs::write(path.join("notes.txt"), b"hi").unwrap();
        }
        for cmd in ["show", "check", "decode", "plan", "simulate", "convert"] {
            let mut args = vec![cmd, s(&path)];
            if cmd == "convert" {
                args.extend(["-o", "/dev/null"]);
            }
            let o = restore(&args);
            assert_eq!(o.status.code(), Some(2), "{cmd} {}", path.display());
            assert!(stderr(&o).contains(says), "{cmd}: {}", stderr(&o));
        }
    }
    // A gzip of something that is not a tar.
    std::fs::write(&junk, gz(b"plain text")).unwrap();
    let o = restore(&["check", s(&junk)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does not hold a tar archive"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_decompression_bomb_is_refused() {
    let dir = criu_dir("valid", "stream-pair");
    let d = scratch("bomb");
    let zeros = vec![0u8; 64 << 20];
    let bomb = d.join("bomb.tar.gz");
    let bytes = gz(&tar_of_dir(&dir, "checkpoint/", &[("rootfs-diff.tar", &zeros)]));
    assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
    std::fs::write(&bomb, bytes).unwrap();
    let o = restore(&["show", "--max-unpacked", "8388608", s(&bomb)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unpacks to more than 8388608 bytes (a decompression bomb?)"), "{}", stderr(&o));
    // Within the limit it opens, and the member is listed with its size.
    let o = restore(&["show", s(&bomb)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("rootfs-diff.tar") && stdout(&o).contains(&format!("{}", 64 << 20)), "{}", stdout(&o));
    // A truncated archive: the declared size is checked against what is there.
    let t = tar_of_dir(&dir, "checkpoint/", &[("rootfs-diff.tar", &zeros[..4096])]);
    std::fs::write(&bomb, &t[..512 + 1000]).unwrap();
    let o = restore(&["check", s(&bomb)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("declares 4096 bytes but only 1000 are present"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_symlinked_image_pointing_outside_is_refused() {
    let dir = criu_dir("valid", "stream-pair");
    let d = scratch("symlink");
    let copy = d.join("dump");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    // Inside: followed.
    std::fs::rename(copy.join("files.img"), copy.join("real-files")).unwrap();
    std::os::unix::fs::symlink("real-files", copy.join("files.img")).unwrap();
    let o = restore(&["check", s(&copy)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // Outside: refused.
    std::fs::write(d.join("outside.img"), b"x").unwrap();
    std::fs::remove_file(copy.join("files.img")).unwrap();
    std::os::unix::fs::symlink("../outside.img", copy.join("files.img")).unwrap();
    let o = restore(&["check", s(&copy)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("outside the image directory; refused"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn show_lists_images_metadata_sockets_and_notes() {
    for input in [criu_dir("valid", "stream-pair"), podman_archive()] {
        let o = restore(&["show", s(&input)]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains("valid (0 errors, 0 warnings)"), "{out}");
        assert!(out.contains("files.img") && out.contains("FILES") && out.contains("2 entries"), "{out}");
        assert!(out.contains("pstree.img") && out.contains("PSTREE"), "{out}");
        assert!(out.contains("sockets (mapped onto resocket's model):"), "{out}");
        assert!(out.contains("2 unix sockets"), "{out}");
        let o = restore(&["show", "--json", s(&input)]);
        assert_eq!(o.status.code(), Some(0));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["format"], "criu");
        assert_eq!(v["valid"], true);
        assert!(v["images"].as_array().unwrap().iter().any(|i| i["name"] == "files.img" && i["magic"] == "FILES"));
    }
    let out = stdout(&restore(&["show", s(&podman_archive())]));
    for want in [
        "tar.gz archive, Podman container checkpoint",
        "name          stream-pair",
        "engine        Podman",
        "image         registry.example/resocket/pair:latest",
        "created       2026-11-30T09:15:00.123456789Z",
        "rootfs-diff.tar",
        "config.dump",
        "network.status",
        "stats-dump",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    let v: serde_json::Value =
        serde_json::from_slice(&restore(&["show", "--json", s(&podman_archive())]).stdout).unwrap();
    assert_eq!(v["origin"]["container"]["engine"], "Podman");
    assert_eq!(v["origin"]["compression"], "gzip");

    let out = stdout(&restore(&["show", s(&crio_archive())]));
    for want in [
        "tar archive, CRI-O container checkpoint",
        "4 unix sockets",
        "valid (0 errors, 0 warnings)",
        "name          server",
        "engine        CRI-O",
        "image         registry.example/resocket/server:1.0",
        "pod           shop/web-0",
        "io.kubernetes.cri-o.LogPath",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    let v: serde_json::Value =
        serde_json::from_slice(&restore(&["show", "--json", s(&crio_archive())]).stdout).unwrap();
    assert_eq!(v["origin"]["container"]["engine"], "CRI-O");
    assert_eq!(
        (&v["origin"]["container"]["pod"], &v["origin"]["container"]["namespace"]),
        (&"web-0".into(), &"shop".into())
    );
}

#[test]
fn check_prints_located_diagnostics_and_exits_1() {
    let valid = criu_dir("valid", "stream-pair");
    let o = restore(&["check", s(&valid)]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("valid (0 errors, 0 warnings)"));
    let o = restore(&["check", s(&podman_archive())]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    let bad = criu_dir("invalid", "fd-dangling");
    let o = restore(&["check", s(&bad)]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("error[criu-fd-dangling]: "), "{out}");
    // File, entry index, byte offset, field path, hex excerpt, help.
    let arrow = out.lines().find(|l| l.trim_start().starts_with("--> ")).expect("a location line");
    assert!(arrow.contains("fdinfo-") && arrow.contains(".img @ 0x") && arrow.contains("(entry "), "{arrow}");
    assert!(arrow.contains("field "), "{arrow}");
    assert!(out.contains("^^"), "{out}");
    assert!(out.contains("= help: an fdinfo entry's id names a file"), "{out}");
    assert!(out.contains("INVALID ("), "{out}");
    // The same checkpoint in an archive: located as ARCHIVE:checkpoint/FILE.
    let d = scratch("bad-archive");
    let tgz = d.join("bad.tar.gz");
    std::fs::write(&tgz, gz(&tar_of_dir(&bad, "checkpoint/", &[("config.dump", b"{oops")]))).unwrap();
    let o = restore(&["check", s(&tgz)]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains(&format!("--> {}:checkpoint/fdinfo-", tgz.display())), "{out}");
    assert!(out.contains("warning: config.dump: not valid JSON metadata"), "{out}");
    let o = restore(&["check", "--json", s(&tgz)]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["archive_warnings"].as_array().map(Vec::len), Some(1), "{v}");
    let _ = std::fs::remove_dir_all(&d);
    let o = restore(&["check", "--json", s(&bad)]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "criu-fd-dangling");
    assert!(d["file"].as_str().unwrap().starts_with("fdinfo-"));
    assert!(d["entry"].is_u64() && d["offset"].is_u64() && d["field"].is_string(), "{d}");
}

#[test]
fn decode_prints_crit_shaped_json() {
    let dir = criu_dir("valid", "stream-pair");
    let o = restore(&["decode", s(&dir)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let all: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(all["files.img"]["magic"], "FILES");
    assert_eq!(all["files.img"]["entries"].as_array().map(Vec::len), Some(2));
    assert_eq!(all["pstree.img"]["entries"][0]["pid"], 100);
    // One file: as `crit decode -i files.img` prints it.
    let o = restore(&["decode", s(&dir), "--file", "files.img"]);
    assert_eq!(o.status.code(), Some(0));
    let one: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(one, all["files.img"]);
    let o = restore(&["decode", s(&dir.join("files.img"))]);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap(), all["files.img"]);
    // The archive decodes to the same images.
    let o = restore(&["decode", s(&podman_archive())]);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap(), all);
    let o = restore(&["decode", s(&dir), "--file", "nope.img"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not in the checkpoint"), "{}", stderr(&o));
}

#[test]
fn plan_simulate_convert_and_diff_go_through_the_scenario() {
    let dir = criu_dir("valid", "stream-pair");
    let d = scratch("convert");
    for input in [dir.clone(), podman_archive()] {
        let o = restore(&["plan", s(&input)]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stdout(&o).contains("socketpair("), "{}", stdout(&o));
        let o = restore(&["plan", "--json", s(&input)]);
        assert_eq!(o.status.code(), Some(0));
        let _: serde_json::Value = serde_json::from_slice(&o.stdout).expect("only JSON on stdout");
        let o = restore(&["simulate", s(&input)]);
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
        assert!(stdout(&o).contains("the simulated state equals the image"), "{}", stdout(&o));
        let o = restore(&["run", "--dry-run", s(&input)]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let from_archive = d.join("from-archive.rsimg");
    let o = restore(&["convert", s(&podman_archive()), "-o", s(&from_archive)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let img = d.join("pair.rsimg");
    let o = restore(&["convert", s(&dir), "-o", s(&img)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("2 sockets") && stdout(&o).contains("valid (0 errors"), "{}", stdout(&o));
    let o = restore(&["check", s(&img)]);
    assert_eq!(o.status.code(), Some(0), "the converted image is a valid resocket image: {}", stdout(&o));
    // The directory, its archive and the converted image describe the same sockets.
    for (a, b) in [(&dir, &img), (&dir, &podman_archive()), (&img, &from_archive)] {
        let o = restore(&["diff", s(a), s(b)]);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
        assert!(stdout(&o).contains("the images describe the same sockets"));
    }
    // An invalid checkpoint is refused by every command that needs an image, with exit 1.
    let bad = criu_dir("invalid", "fd-dangling");
    for cmd in [&["plan"][..], &["simulate"], &["run", "--dry-run"], &["convert", "-o", s(&d.join("x.rsimg"))]] {
        let mut args = cmd.to_vec();
        args.insert(1, s(&bad));
        let o = restore(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains("invalid CRIU checkpoint"), "{}", stderr(&o));
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// A checkpoint that saved its namespace's addresses (ifaddr-2.img: 10.0.0.5/24 and
/// 2001:db8::5/64 on eth0) is planned and simulated for them: its sockets on those addresses are
/// bound, with no `inet-address-missing` warning, whatever this host's addresses are; `show`
/// lists them. Without the ifaddr image the same sockets are planned for this host, which lacks
/// them.
/// A real CRIU 4.2 dump of a Python process (fixtures/criu/real/README.md) opens with no
/// diagnostic and maps onto resocket's model: its path-named listener (CRIU records the name
/// with the NUL the kernel counts in the bound address: the whole checkpoint did not map while
/// that NUL was taken as part of the path), and the TCP options CRIU 4.x saves in
/// `inet_sk_entry.tcp_opts` (TCP_NODELAY on the client, TCP_KEEPIDLE 60 on the listener and
/// inherited by the accepted socket); plan and simulate reproduce it.
#[test]
fn a_real_criu_4_2_dump_maps_plans_and_simulates() {
    let dir = real("criu-4.2-python");
    let o = restore(&["check", s(&dir)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("valid (0 errors, 0 warnings)"), "{}", stdout(&o));
    let o = restore(&["show", "--json", s(&dir)]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let socks = v["scenario"]["sockets"].as_array().unwrap_or_else(|| panic!("not mapped: {}", stdout(&o)));
    assert_eq!(socks.len(), 13);
    assert!(socks.iter().any(|s| s["addr"] == "/tmp/realcriu/path.sock" && s["listen"].is_number()), "{socks:?}");
    assert!(socks.iter().any(|s| s["addr"] == "@resocket-real-listener" && s["listen"].is_number()));
    let opts = |want: &str| socks.iter().filter(|s| s["opts"].to_string().contains(want)).count();
    assert_eq!(opts(r#""name":"tcp_no_delay","value":true"#), 1, "{socks:?}");
    assert_eq!(opts(r#""name":"tcp_keep_idle","value":60"#), 2, "{socks:?}");
    let o = restore(&["simulate", s(&dir)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("the simulated state equals the image"), "{}", stdout(&o));
}

fn real(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/criu/real").join(name)
}

/// The scenario `restore show --json` maps a checkpoint onto, by socket name, and its notes.
fn mapped_real(name: &str) -> (BTreeMap<String, serde_json::Value>, String) {
    let o = restore(&["show", "--json", s(&real(name))]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let socks = v["scenario"]["sockets"].as_array().unwrap_or_else(|| panic!("{name} not mapped: {}", stdout(&o)));
    (socks.iter().map(|s| (s["name"].as_str().unwrap().to_string(), s.clone())).collect(), v["notes"].to_string())
}

/// A real CRIU 4.2 dump of a process tree (fixtures/criu/real/src/criu-4.2-tree.py): two
/// processes sharing every fd, a listener on a relative name bound from its working directory
/// with a pending client, a seqpacket pair shut down one way with records queued, a dgram
/// socket in flight in an SCM_RIGHTS message (no fd holds it), a dgram receiver whose path was
/// unlinked fed by two senders, a dgram socket connected to itself — each mapped as it was.
#[test]
fn a_real_criu_4_2_process_tree_maps_every_af_unix_case() {
    let (socks, notes) = mapped_real("criu-4.2-tree");
    assert_eq!(socks.len(), 12, "{socks:?}");
    let find = |f: &dyn Fn(&serde_json::Value) -> bool| socks.values().filter(|s| f(s)).cloned().collect::<Vec<_>>();
    let rel = find(&|s| s["addr"] == "rel.sock");
    assert_eq!(rel.len(), 1);
    assert_eq!(rel[0]["cwd"], "/tmp/realcriu2/work");
    assert_eq!(rel[0]["pending"].as_array().map(Vec::len), Some(1), "{rel:?}");
    assert_eq!(find(&|s| s["type"] == "seqpacket" && s["shutdown"] == "wr").len(), 1);
    let carrier = find(&|s| s["queue"][0]["rights"].is_array());
    let carried = carrier[0]["queue"][0]["rights"][0].as_str().unwrap().to_string();
    assert_eq!(socks[&carried]["no_fd"], true, "{:?}", socks[&carried]);
    let gone = find(&|s| s["addr"] == "/tmp/realcriu2/work/gone.sock");
    assert_eq!(gone[0]["unlinked"], true);
    assert_eq!(gone[0]["queue"].as_array().map(Vec::len), Some(2));
    assert!(notes.contains("sender-address"), "{notes}");
    let me = find(&|s| s["addr"] == "@resocket-self");
    assert_eq!(me[0]["peer"], me[0]["name"]);
    let o = restore(&["show", s(&real("criu-4.2-tree"))]);
    assert!(stdout(&o).contains("2 tasks"), "{}", stdout(&o));
    let o = restore(&["simulate", s(&real("criu-4.2-tree"))]);
    assert!(stdout(&o).contains("the simulated state equals the image"), "{}{}", stdout(&o), stderr(&o));
}

/// A real CRIU 4.2 dump taken with `--skip-in-flight` (fixtures/criu/real/src/criu-4.2-tcp-in-flight.py):
/// CRIU dropped the connection still in the TCP listener's accept queue and kept its client,
/// connected to nothing. resocket restores it as the listener's pending connection (note
/// `in-flight-skipped`), with its shutdown; the two accepted connections stay paired.
#[test]
fn a_connection_criu_dropped_from_an_accept_queue_is_restored_pending() {
    let (socks, notes) = mapped_real("criu-4.2-tcp-in-flight");
    let listener: Vec<_> = socks.values().filter(|s| s["listen"].is_number()).collect();
    assert_eq!(listener.len(), 1);
    let pending = listener[0]["pending"].as_array().unwrap_or_else(|| panic!("no pending: {listener:?}"));
    assert_eq!(pending.len(), 1);
    let client = &socks[pending[0]["client"].as_str().unwrap()];
    assert_eq!(client["shutdown"], "wr", "{client:?}");
    assert!(client.get("external_peer").is_none(), "{client:?}");
    assert!(notes.contains("in-flight-skipped"), "{notes}");
    assert_eq!(socks.values().filter(|s| s["accepted_from"].is_string()).count(), 2);
    let o = restore(&["plan", s(&real("criu-4.2-tcp-in-flight"))]);
    assert!(!stdout(&o).contains("tcp-external-peer"), "{}", stdout(&o));
    let o = restore(&["simulate", s(&real("criu-4.2-tcp-in-flight"))]);
    assert!(stdout(&o).contains("the simulated state equals the image"), "{}{}", stdout(&o), stderr(&o));
}

/// A real CRIU 4.2 dump of sockets with options set (fixtures/criu/real/src/criu-4.2-options.py):
/// an AF_INET client of a dual-stack AF_INET6 listener is paired with its accepted end, whose
/// address is v4-mapped (both were restored as closed sockets to outside peers while the
/// mapping compared 127.0.0.1:P with [::ffff:127.0.0.1]:P), half-closed both ways with data
/// queued each way; and the options CRIU saves come back as the scenario's.
#[test]
fn a_real_criu_4_2_dump_keeps_v4_mapped_connections_and_socket_options() {
    let (socks, _) = mapped_real("criu-4.2-options");
    let client = socks.values().find(|s| s["family"] == "inet").expect("the AF_INET client");
    let server = &socks[client["peer"].as_str().unwrap_or_else(|| panic!("no peer: {client:?}"))];
    assert_eq!(server["peer"], client["name"]);
    assert!(server["addr"].as_str().unwrap().starts_with("[::ffff:127.0.0.1]:"), "{server:?}");
    assert_eq!((client["shutdown"].as_str(), server["shutdown"].as_str()), (Some("wr"), Some("rd")));
    let opts = |s: &serde_json::Value| s["opts"].to_string();
    let tuned = socks.values().find(|s| opts(s).contains("linger")).expect("the socket with options");
    for want in [
        r#"{"name":"rcv_timeo","value":2500000}"#,
        r#"{"name":"priority","value":3}"#,
        r#"{"name":"keep_alive","value":true}"#,
        r#"{"name":"oob_inline","value":true}"#,
        r#"{"name":"linger","value":{"on":true,"secs":5}}"#,
        r#"{"name":"tcp_keep_intvl","value":30}"#,
        r#"{"name":"tcp_keep_cnt","value":4}"#,
    ] {
        assert!(opts(tuned).contains(want), "{want} in {}", opts(tuned));
    }
    assert_eq!((tuned["rcvbuf"].as_i64(), tuned["rcvbuf_lock"].as_bool()), (Some(131072), Some(true)));
    assert!(socks.values().any(|s| opts(s).contains(r#"{"name":"tcp_cork","value":true}"#)));
    assert!(socks.values().any(|s| opts(s).contains(r#"{"name":"rcv_lowat","value":4}"#)));
    assert!(socks.values().any(|s| s["passcred"] == true));
}

/// A real Podman checkpoint archive (fixtures/criu/real/podman-4.3.1-sockets.tar.gz: `podman
/// container checkpoint --export --tcp-established` of a container running
/// src/podman-4.3.1-sockets.c, runc and CRIU 4.2): zstd under a `.tar.gz` name, opened by
/// content; `check` finds it valid; `show` lists what checkpointctl lists from config.dump and
/// spec.dump (container name, image, id, runtime, created, engine) and maps every socket the
/// program made (a path listener with an accepted and a pending connection, a socketpair, an
/// abstract dgram pair, UDP, TCP); `plan` and `simulate` reproduce it.
#[test]
fn a_real_podman_archive_checks_shows_plans_and_simulates() {
    let ar = real("podman-4.3.1-sockets.tar.gz");
    let o = restore(&["check", s(&ar)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("tar.zst archive, Podman container checkpoint"), "{}", stdout(&o));
    assert!(stdout(&o).contains("valid (0 errors, 0 warnings)"), "{}", stdout(&o));
    let o = restore(&["show", s(&ar)]);
    let text = stdout(&o);
    for want in [
        "name          sockets",
        "engine        Podman",
        "image         localhost/resocket-sockets:1",
        "created       2026-12-07T17:51:40.837862177Z",
        "id            93885e26a9a4bbbcfd1cb038c5bc5f93388c6335323867175fc48d0c95f0794d",
        "runtime       runc",
        "rootfs-diff.tar",
        "checkpoint/pages-1.img",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    // CRIU's raw images (the tmpfs contents under /dev, gzipped tars) have no magic: listed as
    // RAW, not with their gzip header read as one (0x88b1f).
    let tmpfs: Vec<&str> = text.lines().filter(|l| l.trim_start().starts_with("tmpfs-dev-")).collect();
    assert_eq!(tmpfs.len(), 5, "{text}");
    assert!(tmpfs.iter().all(|l| l.split_whitespace().nth(1) == Some("RAW")), "{tmpfs:?}");
    let (socks, notes) = mapped_real("podman-4.3.1-sockets.tar.gz");
    assert_eq!(socks.len(), 13, "{socks:?}");
    let find = |f: &dyn Fn(&serde_json::Value) -> bool| socks.values().filter(|s| f(s)).cloned().collect::<Vec<_>>();
    let listener = find(&|s| s["addr"] == "/tmp/listener.sock" && s["listen"].is_number());
    assert_eq!(listener[0]["pending"].as_array().map(Vec::len), Some(1), "{listener:?}");
    let accepted = find(&|s| s["accepted_from"] == listener[0]["name"] && s["family"] == "unix");
    assert_eq!(accepted[0]["queue"][0]["data"], "client to server", "{accepted:?}");
    let dgram = find(&|s| s["addr"] == "@resocket-podman-dgram");
    assert_eq!(dgram[0]["queue"].as_array().map(Vec::len), Some(2), "{dgram:?}");
    let tcp = find(&|s| s["addr"] == "127.0.0.1:47100" && s["accepted_from"].is_string());
    assert_eq!(tcp[0]["queue"][0]["data"], "tcp bytes", "{tcp:?}");
    assert!(socks.values().any(|s| s["addr"] == "127.0.0.1:47101" && s["type"] == "dgram"));
    assert!(socks.values().any(|s| s["opts"].to_string().contains(r#""name":"tcp_no_delay","value":true"#)));
    assert!(notes.contains("udp-queue"), "{notes}");
    let o = restore(&["plan", s(&ar)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = restore(&["simulate", s(&ar)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("the simulated state equals the image"), "{}", stdout(&o));
}

#[test]
fn plan_and_simulate_use_the_checkpoints_saved_addresses() {
    let dir = criu_dir("valid", "inet-netns");
    let o = restore(&["plan", s(&dir)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("bind(#3, (inet 10.0.0.5:8080))"), "{}", stdout(&o));
    assert!(stdout(&o).contains("bind(#7, (inet [2001:db8::5]:5354))"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("inet-address-missing"), "{}", stdout(&o));
    assert!(stderr(&o).contains("planned for the checkpoint's network namespace 2 (ifaddr-2.img)"), "{}", stderr(&o));
    assert!(stderr(&o).contains("; 2 routes (route-2.img), 2 routes (route6-2.img)"), "{}", stderr(&o));
    let o = restore(&["simulate", s(&dir)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("the simulated state equals the image"), "{}", stdout(&o));
    let o = restore(&["show", s(&dir)]);
    assert!(stdout(&o).contains("eth0       10.0.0.5/24"), "{}", stdout(&o));
    // The devices and routes CRIU saved, as `ip link` and `ip route` would say them.
    assert!(stdout(&o).contains("3   eth0       veth      up   mtu 1500   02:00:00:00:00:05"), "{}", stdout(&o));
    assert!(stdout(&o).contains("netns 2    192.168.7.0/24 via 10.0.0.1 dev eth0"), "{}", stdout(&o));
    assert!(stdout(&o).contains("netns 2    2001:db8:7::/48 via 2001:db8::1 dev eth0 metric 1024"), "{}", stdout(&o));
    let o = restore(&["show", "--json", s(&dir)]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["host_ns"], 2);
    assert_eq!(v["addresses"].as_array().map(Vec::len), Some(4));
    assert_eq!(v["routes"].as_array().map(Vec::len), Some(4));
    assert_eq!(v["devices"][2]["mtu"], 1500);
    assert_eq!(v["netns"][0]["nsids"][0][0], 9);
    // Without ifaddr-2.img: this host's addresses (which have no 10.0.0.5 here).
    let d = scratch("no-ifaddr");
    for e in std::fs::read_dir(&dir).unwrap().filter_map(Result::ok) {
        if e.file_name() != "ifaddr-2.img" {
            std::fs::copy(e.path(), d.join(e.file_name())).unwrap();
        }
    }
    let o = restore(&["plan", s(&d)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("network namespace"), "{}", stderr(&o));
    let here = resocket_restore::host::read_or_loopback().0;
    if !here.is_local("10.0.0.5".parse().unwrap()) {
        assert!(stdout(&o).contains("inet-address-missing"), "{}", stdout(&o));
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn help_says_what_run_restores_and_what_decode_prints() {
    let o = restore(&["run", "--help"]);
    let out = stdout(&o);
    assert!(out.contains("SOCKET PART") && out.contains("criu restore"), "{out}");
    let out = stdout(&restore(&["decode", "--help"]));
    assert!(out.contains("crit decode") && out.contains("keyed by image file name"), "{out}");
    assert!(stdout(&restore(&["convert", "--help"])).contains("note"));
}

/// What an image directory holds beside its images is listed with why it is not read: CRIU's
/// `stats-dump` is its statistics of the dump (a STATS image without the `.img` suffix), not
/// "not a CRIU image"; the raw memory pages and any other file have their own reasons.
#[test]
fn an_image_directory_lists_what_it_does_not_read_and_why() {
    let dir = scratch("criu-skipped");
    for e in std::fs::read_dir(real("criu-4.2-python")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    // CRIU's STATS magic and an empty stats_entry, as `criu dump` writes it.
    std::fs::write(dir.join("stats-dump"), [0x40, 0x59, 0x10, 0x55, 0x06, 0x33, 0x09, 0x57, 0, 0, 0, 0]).unwrap();
    std::fs::write(dir.join("pages-1.img"), [0u8; 4096]).unwrap();
    std::fs::write(dir.join("dump.log"), b"(00.000000) Dumping finished successfully\n").unwrap();
    let v: serde_json::Value = serde_json::from_slice(&restore(&["show", "--json", s(&dir)]).stdout).unwrap();
    let why = |name: &str| {
        let skipped = v["origin"]["skipped"].as_array().unwrap_or_else(|| panic!("{v}"));
        skipped.iter().find(|e| e["name"] == name).map(|e| e["why"].as_str().unwrap().to_string())
    };
    assert_eq!(why("stats-dump").as_deref(), Some("CRIU's statistics of the dump (a STATS image), not read"));
    assert_eq!(why("pages-1.img").as_deref(), Some("raw memory pages, not read"));
    assert_eq!(why("dump.log").as_deref(), Some("not a CRIU image"));
    assert_eq!(why("files.img"), None);
    std::fs::remove_dir_all(&dir).unwrap();
}
