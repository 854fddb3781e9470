//! Checkpoint archives (core/src/archive.rs): detection by content, the Podman, CRI-O and bare
//! layouts, the three compressions, and the limits (bombs, truncation, member counts).

use resocket_core::archive::{self, ArchiveError, Compression, Engine, Layout, Limits, MemberKind, Warning};
use std::io::Write as _;

/// A tar of (path, bytes) members with fixed mtime, owner and mode.
fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_path(path).expect("path");
        h.set_cksum();
        b.append(&h, *data).expect("append");
    }
    b.into_inner().expect("tar")
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gz");
    e.finish().expect("gz")
}

fn zst(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

const PODMAN_CONFIG: &str = r#"{"id":"4b1c0e7d2a9f","name":"web","rootfsImage":"sha256:abc","rootfsImageName":"docker.io/library/nginx:latest","runtime":"crun","createdTime":"2026-11-30T10:00:00.123456789Z","checkpointedTime":"2026-12-01T08:00:00Z","restoredTime":"0001-01-01T00:00:00Z","restored":false}"#;
const PODMAN_SPEC: &str = r#"{"ociVersion":"1.0.2","annotations":{"io.container.manager":"libpod"}}"#;

fn podman_members() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("config.dump", PODMAN_CONFIG.as_bytes().to_vec()),
        ("spec.dump", PODMAN_SPEC.as_bytes().to_vec()),
        ("network.status", b"{}".to_vec()),
        ("stats-dump", vec![1, 2, 3]),
        ("checkpoint/inventory.img", vec![0x19, 0x43, 0x56, 0x54, 1, 2, 3, 4]),
        ("checkpoint/files.img", vec![0x19, 0x43, 0x56, 0x54, 5, 6, 7, 8]),
        ("checkpoint/pages-1.img", vec![0; 4096]),
        ("checkpoint/dump.log", b"log".to_vec()),
        ("rootfs-diff.tar", vec![0; 1024]),
    ]
}

fn podman_tar() -> Vec<u8> {
    let m = podman_members();
    let refs: Vec<(&str, &[u8])> = m.iter().map(|(p, d)| (*p, d.as_slice())).collect();
    tar_of(&refs)
}

#[test]
fn detected_by_content_not_name() {
    let t = podman_tar();
    assert_eq!(archive::detect(&t), Some(Compression::None));
    assert_eq!(archive::detect(&gz(&t)), Some(Compression::Gzip));
    assert_eq!(archive::detect(&zst(&t)), Some(Compression::Zstd));
    assert_eq!(archive::detect(b"\x19\x43\x56\x54 not an archive"), None);
    assert_eq!(archive::detect(&[]), None);
    assert_eq!(archive::unpack(b"garbage").unwrap_err(), ArchiveError::NotAnArchive);
}

#[test]
fn podman_layout_in_each_compression() {
    let t = podman_tar();
    for (bytes, c) in [(t.clone(), Compression::None), (gz(&t), Compression::Gzip), (zst(&t), Compression::Zstd)] {
        let a = archive::unpack(&bytes).expect("unpack");
        assert_eq!(a.compression, c);
        assert_eq!(a.layout, Layout::Container);
        let names: Vec<&str> = a.images.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["files.img", "inventory.img"], "sorted; raw pages are not images");
        assert_eq!(a.images[0].bytes, [0x19, 0x43, 0x56, 0x54, 5, 6, 7, 8]);
        let c = a.container.as_ref().expect("metadata");
        assert_eq!(c.engine, Some(Engine::Podman));
        assert_eq!(c.name.as_deref(), Some("web"));
        assert_eq!(c.id.as_deref(), Some("4b1c0e7d2a9f"));
        assert_eq!(c.image.as_deref(), Some("docker.io/library/nginx:latest"));
        assert_eq!(c.runtime.as_deref(), Some("crun"));
        assert_eq!(c.created.as_deref(), Some("2026-11-30T10:00:00.123456789Z"));
        assert_eq!(c.checkpointed.as_deref(), Some("2026-12-01T08:00:00Z"));
        let members: Vec<(&str, u64)> = a.members.iter().map(|m| (m.path.as_str(), m.size)).collect();
        assert_eq!(
            members,
            [
                ("config.dump", PODMAN_CONFIG.len() as u64),
                ("spec.dump", PODMAN_SPEC.len() as u64),
                ("network.status", 2),
                ("stats-dump", 3),
                ("checkpoint/pages-1.img", 4096),
                ("checkpoint/dump.log", 3),
                ("rootfs-diff.tar", 1024),
            ]
        );
        assert!(a.members.iter().all(|m| m.kind == MemberKind::File));
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
        // Counted up to the end-of-archive block (the padding after it is not read).
        assert!(a.unpacked > 4096 + 1024 && a.unpacked <= t.len() as u64, "{}", a.unpacked);
    }
}

#[test]
fn crio_and_containerd_metadata() {
    let spec = r#"{"annotations":{"io.container.manager":"cri-o","io.kubernetes.cri-o.Metadata":"{\"name\":\"counter\",\"attempt\":1}","io.kubernetes.cri-o.Created":"2026-10-01T00:00:00Z","io.kubernetes.pod.namespace":"default","io.kubernetes.pod.name":"counters","io.kubernetes.cri-o.ImageName":"quay.io/x/counter:1"}}"#;
    let config = r#"{"id":"abc","name":"k8s_counter","createdTime":"0001-01-01T00:00:00Z"}"#;
    let t = tar_of(&[
        ("./config.dump", config.as_bytes()),
        ("./spec.dump", spec.as_bytes()),
        ("./checkpoint/inventory.img", b"x"),
    ]);
    let a = archive::unpack(&gz(&t)).expect("unpack");
    let c = a.container.expect("metadata");
    assert_eq!(c.engine, Some(Engine::CriO));
    assert_eq!(c.name.as_deref(), Some("counter"));
    assert_eq!(c.created.as_deref(), Some("2026-10-01T00:00:00Z"));
    assert_eq!(c.namespace.as_deref(), Some("default"));
    assert_eq!(c.pod.as_deref(), Some("counters"));
    assert_eq!(c.image.as_deref(), Some("quay.io/x/counter:1"));

    let spec = r#"{"annotations":{"io.kubernetes.cri.container-name":"app","io.kubernetes.cri.sandbox-namespace":"ns","io.kubernetes.cri.image-name":"img:2"}}"#;
    let t = tar_of(&[("spec.dump", spec.as_bytes()), ("config.dump", b"{}"), ("checkpoint/core-1.img", b"x")]);
    let c = archive::unpack(&t).expect("unpack").container.expect("metadata");
    assert_eq!(c.engine, Some(Engine::Containerd));
    assert_eq!(
        (c.name.as_deref(), c.namespace.as_deref(), c.image.as_deref()),
        (Some("app"), Some("ns"), Some("img:2"))
    );
}

#[test]
fn bad_metadata_is_a_warning() {
    let t = tar_of(&[("config.dump", b"{not json"), ("spec.dump", b"[1]"), ("checkpoint/inventory.img", b"x")]);
    let a = archive::unpack(&t).expect("unpack");
    assert_eq!(a.container.and_then(|c| c.engine), Some(Engine::Unknown));
    assert!(matches!(&a.warnings[..], [Warning::BadMetadata { file: f1, .. }, Warning::BadMetadata { file: f2, .. }]
        if f1 == "config.dump" && f2 == "spec.dump"));
}

#[test]
fn bare_image_directory_tarballs() {
    let top = tar_of(&[("inventory.img", b"a"), ("files.img", b"b"), ("README", b"c")]);
    let a = archive::unpack(&top).expect("unpack");
    assert_eq!(a.layout, Layout::Bare { dir: String::new() });
    assert_eq!(a.images.len(), 2);
    assert!(a.container.is_none());
    let under = tar_of(&[("dump/inventory.img", b"a"), ("dump/files.img", b"b")]);
    let a = archive::unpack(&zst(&under)).expect("unpack");
    assert_eq!(a.layout, Layout::Bare { dir: "dump".into() });
    assert_eq!(a.images.len(), 2);
    let none = tar_of(&[("config.dump", b"{}"), ("rootfs-diff.tar", b"")]);
    assert_eq!(archive::unpack(&none).unwrap_err(), ArchiveError::NoImages);
    let two_dirs = tar_of(&[("a/inventory.img", b"a"), ("b/inventory.img", b"b")]);
    assert_eq!(archive::unpack(&two_dirs).unwrap_err(), ArchiveError::NoImages);
}

#[test]
fn parent_paths_are_never_images() {
    let mut t = tar_of(&[("checkpoint/inventory.img", b"a"), ("checkpoint/xxxxxxxxxx.img", b"b")]);
    // tar::Header::set_path refuses `..`; write it into the second header by hand.
    let second = 512 + 512;
    t[second..second + 17].copy_from_slice(b"checkpoint/../x.i");
    t[second + 17..second + 20].copy_from_slice(b"mg\0");
    // Fix the checksum.
    let mut h = tar::Header::new_old();
    h.as_mut_bytes().copy_from_slice(&t[second..second + 512]);
    h.set_cksum();
    t[second..second + 512].copy_from_slice(h.as_bytes());
    let a = archive::unpack(&t).expect("unpack");
    assert_eq!(a.images.len(), 1);
    assert!(a.members.iter().any(|m| m.path == "checkpoint/../x.img"), "{:?}", a.members);
}

#[test]
fn duplicate_image_uses_the_last_copy() {
    let t = tar_of(&[("checkpoint/files.img", b"old"), ("checkpoint/files.img", b"new")]);
    let a = archive::unpack(&t).expect("unpack");
    assert_eq!(a.images.len(), 1);
    assert_eq!(a.images[0].bytes, b"new");
    assert_eq!(a.warnings, [Warning::DuplicateImage { path: "checkpoint/files.img".into() }]);
}

#[test]
fn decompression_bomb_is_refused() {
    // 64 MiB of zeros in one member: about 64 KiB of gzip, 20 KiB of zstd.
    let zeros = vec![0u8; 64 << 20];
    let t = tar_of(&[("checkpoint/inventory.img", b"a"), ("rootfs-diff.tar", &zeros)]);
    let limits = Limits { max_unpacked: 8 << 20, ..Limits::default() };
    for bytes in [gz(&t), zst(&t)] {
        assert!(bytes.len() < 1 << 20);
        assert_eq!(archive::unpack_with(&bytes, limits).unwrap_err(), ArchiveError::TooLarge { limit: 8 << 20 });
    }
    // The same archive within a big enough limit.
    let a = archive::unpack_with(&gz(&t), Limits { max_unpacked: 128 << 20, ..Limits::default() }).expect("unpack");
    assert_eq!(a.members.iter().find(|m| m.path == "rootfs-diff.tar").map(|m| m.size), Some(64 << 20));
    // Images are kept in memory: a huge one hits the kept limit before anything is read.
    let t = tar_of(&[("checkpoint/files.img", &zeros[..4 << 20])]);
    let limits = Limits { max_kept: 1 << 20, ..Limits::default() };
    assert!(matches!(archive::unpack_with(&t, limits), Err(ArchiveError::TooMuchKept { size, .. }) if size == 4 << 20));
}

#[test]
fn too_many_members() {
    let names: Vec<String> = (0..10).map(|i| format!("checkpoint/f{i}.img")).collect();
    let m: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let t = tar_of(&m);
    let limits = Limits { max_members: 5, ..Limits::default() };
    assert_eq!(archive::unpack_with(&t, limits).unwrap_err(), ArchiveError::TooManyMembers { limit: 5 });
    assert_eq!(archive::unpack_with(&t, Limits { max_members: 10, ..limits }).expect("unpack").images.len(), 10);
}

#[test]
fn declared_size_beyond_the_data() {
    let data = vec![7u8; 3000];
    let t = tar_of(&[("checkpoint/files.img", &data)]);
    // Cut inside the member's data: 512 header + 1000 bytes.
    let cut = &t[..1512];
    assert_eq!(
        archive::unpack(cut).unwrap_err(),
        ArchiveError::Truncated { path: "checkpoint/files.img".into(), declared: 3000, actual: 1000 }
    );
    assert!(matches!(archive::unpack(&gz(cut)).unwrap_err(), ArchiveError::Truncated { .. }));
    // A skipped member too.
    let t = tar_of(&[("checkpoint/inventory.img", b"a"), ("rootfs-diff.tar", &data)]);
    let cut = &t[..1024 + 512 + 100];
    assert!(matches!(archive::unpack(cut).unwrap_err(), ArchiveError::Truncated { actual: 100, .. }));
}

#[test]
fn corrupt_compressed_streams() {
    let t = podman_tar();
    let mut g = gz(&t);
    let n = g.len();
    g.truncate(n / 2);
    assert!(matches!(archive::unpack(&g).unwrap_err(), ArchiveError::Decompress { compression: "gzip", .. }));
    let mut z = zst(&t);
    let n = z.len();
    z.truncate(n / 2);
    assert!(matches!(archive::unpack(&z).unwrap_err(), ArchiveError::Decompress { compression: "zstd", .. }));
    assert_eq!(archive::unpack(&gz(b"just some text, no tar")).unwrap_err(), ArchiveError::NotTar("gzip"));
    assert_eq!(archive::unpack(&zst(&[0u8; 2000])).unwrap_err(), ArchiveError::NotTar("zstd"));
    assert!(matches!(archive::unpack(&[0x1f, 0x8b, 8, 0, 1, 2]).unwrap_err(), ArchiveError::Decompress { .. }));
}

#[test]
fn multi_member_gzip_and_multi_frame_zstd() {
    let t = podman_tar();
    let (a, b) = t.split_at(1000);
    let mut g = gz(a);
    g.extend(gz(b));
    assert_eq!(archive::unpack(&g).expect("gzip members").images.len(), 2);
    let mut z = zst(a);
    // A skippable frame between the two.
    z.extend([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
    z.extend(zst(b));
    assert_eq!(archive::unpack(&z).expect("zstd frames").images.len(), 2);
}

#[cfg(not(target_arch = "wasm32"))]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn seeds() -> Vec<Vec<u8>> {
        let t = podman_tar();
        vec![t.clone(), gz(&t), zst(&t)]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(prefix in 0usize..4, body in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut b: Vec<u8> = match prefix {
                0 => vec![0x1f, 0x8b],
                1 => vec![0x28, 0xb5, 0x2f, 0xfd],
                _ => Vec::new(),
            };
            b.extend(body);
            if prefix == 2 && b.len() >= 262 {
                b[257..262].copy_from_slice(b"ustar");
            }
            let limits = Limits { max_unpacked: 1 << 20, max_members: 64, max_kept: 1 << 20 };
            let _ = archive::unpack_with(&b, limits);
        }

        #[test]
        fn mutated_archives_never_panic(
            which in 0usize..3,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut b = seeds().swap_remove(which);
            for (at, v) in edits {
                let i = at.index(b.len());
                b[i] = v;
            }
            let _ = archive::unpack_with(&b, Limits { max_unpacked: 1 << 20, max_members: 64, max_kept: 1 << 20 });
            let n = cut.index(b.len());
            let _ = archive::unpack(&b[..n]);
        }
    }
}

#[test]
fn long_names_are_read_and_huge_headers_refused() {
    let with_name = |name: &str| {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o600);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, &b"x"[..]).expect("append");
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        b.append_data(&mut h, "checkpoint/inventory.img", &b"y"[..]).expect("append");
        gz(&b.into_inner().expect("tar"))
    };
    let long = format!("checkpoint/{}.img", "n".repeat(300));
    let a = archive::unpack(&with_name(&long)).expect("a GNU long name");
    assert!(a.images.iter().any(|i| i.name.len() == 304), "{:?}", a.images.iter().map(|i| &i.name).collect::<Vec<_>>());
    let huge = format!("{}.img", "n".repeat(2 << 20));
    assert_eq!(
        archive::unpack(&with_name(&huge)).unwrap_err(),
        ArchiveError::HeadersTooLarge { member: 0, limit: archive::MAX_HEADERS }
    );
}

/// The progress of an unpack (the browser's worker shows it): reports as the bytes come out,
/// the archive's bytes consumed never going back, the last report at the whole archive and
/// the unpacked total; in every compression (zstd in several frames too).
#[test]
fn unpack_reports_its_progress() {
    // Two raw-pages members of incompressible bytes: several reports' worth of data.
    let mut noise = Vec::with_capacity(3 << 20);
    let mut x: u32 = 12345;
    for _ in 0..(3 << 20) {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        noise.push((x >> 16) as u8);
    }
    let t = tar_of(&[
        ("checkpoint/inventory.img", &[0x19, 0x43, 0x56, 0x54, 1, 2, 3, 4]),
        ("checkpoint/pages-1.img", &noise[..2 << 20]),
        ("checkpoint/pages-2.img", &noise[2 << 20..]),
    ]);
    let mut frames = zst(&t[..t.len() / 2]);
    frames.extend(zst(&t[t.len() / 2..]));
    for bytes in [t.clone(), gz(&t), zst(&t), frames] {
        let mut seen = Vec::new();
        let a = archive::unpack_observed(&bytes, Limits::default(), &mut |p| seen.push(p)).expect("unpack");
        assert!(seen.len() >= 3, "{} reports", seen.len());
        assert!(seen.windows(2).all(|w| w[0].consumed <= w[1].consumed && w[0].unpacked <= w[1].unpacked));
        assert!(seen.iter().all(|p| p.total == bytes.len() as u64 && p.consumed <= p.total));
        let last = seen.last().expect("a report");
        assert_eq!((last.consumed, last.unpacked), (bytes.len() as u64, a.unpacked), "{:?}", archive::detect(&bytes));
        // Some report before the end is part-way through the archive.
        assert!(seen.iter().any(|p| p.consumed > 0 && p.consumed < p.total), "{seen:?}");
    }
}
