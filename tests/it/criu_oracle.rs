//! The crit oracle: every CRIU fixture image decoded by resocket (`criu::crit::file_json`) and
//! by `crit decode` gives equal JSON. Skips, saying why, only when crit is not installed
//! (`./x setup` installs Debian's criu package, so `./x test` and CI run it).

use resocket_core::criu;
use resocket_fixtures::criu as fx;

#[test]
fn criu_fixtures_decode_like_crit() {
    let Some(crit) = fx::crit() else {
        println!("SKIPPED criu_fixtures_decode_like_crit: crit is not installed (apt-get install criu, or ./x setup)");
        return;
    };
    let sets = fx::load_all().expect("CRIU fixtures");
    assert!(!sets.is_empty());
    let mut compared = 0;
    for s in &sets {
        let o = criu::open(s.image_files());
        for f in &o.files {
            let Some(ours) = criu::crit::file_json(f) else { continue };
            // A file that resocket could not read to its end is not compared (crit raises on
            // most of those, and reads a short packet payload without noticing).
            let broken = o.diagnostics.iter().any(|d| {
                d.file.as_deref() == Some(&f.name)
                    && matches!(
                        d.code.as_str(),
                        "criu-truncated"
                            | "criu-size-past-end"
                            | "criu-extra-past-end"
                            | "criu-bad-protobuf"
                            | "criu-missing-field"
                    )
            });
            if broken {
                continue;
            }
            // crit stops with an exception on the framing errors the invalid sets carry.
            let Ok(theirs) = fx::crit_decode(&crit, &s.images_dir().join(&f.name)) else {
                assert!(s.kind == "invalid", "{}/{}: crit cannot decode a valid fixture", s.name, f.name);
                continue;
            };
            assert_eq!(ours, theirs, "{}/{}: resocket and crit disagree", s.name, f.name);
            compared += 1;
        }
    }
    assert!(compared >= 100, "only {compared} images compared");
}

#[test]
fn criu_images_are_up_to_date() {
    let Some(crit) = fx::crit() else {
        println!("SKIPPED criu_images_are_up_to_date: crit is not installed");
        return;
    };
    let committed = fx::load_all().expect("committed CRIU fixtures");
    for s in fx::build_all(&crit).expect("build CRIU fixtures") {
        let on_disk = committed.iter().find(|d| d.name == s.name && d.kind == s.kind).unwrap();
        assert_eq!(on_disk.files, s.files, "{}/{} is stale: run ./x fixtures", s.kind, s.name);
    }
}

/// crit's byte conversions, against Python's own: `quopri.encodestring` (unix names) and
/// `base64.encodebytes` (bytes fields, extras) on 3000 random byte strings rich in the bytes
/// quoted-printable treats specially (CR, LF, space, tab, `.`, `=`, controls, high bytes).
#[test]
fn criu_byte_conversions_match_python() {
    let script = r#"
import quopri, random, json, base64, sys
random.seed(1)
out = []
alpha = [0, 9, 10, 13, 32, 46, 61, 65, 97, 126, 127, 200, 255]
for i in range(3000):
    n = random.randint(0, 200)
    b = bytes(random.choice(alpha) if random.random() < 0.7 else random.randint(0, 255) for _ in range(n))
    out.append([b.hex(), quopri.encodestring(b).decode(), base64.encodebytes(b).decode()])
json.dump(out, sys.stdout)
"#;
    let out = match std::process::Command::new("python3").arg("-c").arg(script).output() {
        Ok(o) if o.status.success() => o.stdout,
        _ => {
            println!("SKIPPED criu_byte_conversions_match_python: python3 is not installed");
            return;
        }
    };
    let cases: Vec<(String, String, String)> = serde_json::from_slice(&out).expect("python output");
    assert_eq!(cases.len(), 3000);
    for (hex, qp, b64) in cases {
        let bytes: Vec<u8> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        assert_eq!(criu::crit::quoted_printable(&bytes), qp, "quoted-printable of {hex}");
        assert_eq!(criu::crit::base64_lines(&bytes), b64, "base64 of {hex}");
    }
}

/// The images of the real CRIU 4.2 dumps (fixtures/criu/real/: `criu dump` of Python processes
/// holding AF_UNIX, TCP and UDP sockets on Linux 6.18, see its README.md), each read by
/// resocket and by the crit of the CRIU that wrote them (its output committed beside them:
/// Debian's crit is 3.17 and does not know the fields 4.x added). They agree field for field,
/// and resocket finds nothing it does not know (no `criu-unknown-field`) and nothing wrong.
#[test]
fn real_criu_4_2_dumps_decode_like_their_own_crit() {
    let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/criu/real");
    let mut dumps: Vec<String> = std::fs::read_dir(&real)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("criu-") && !n.ends_with(".crit"))
        .collect();
    dumps.sort();
    assert_eq!(dumps, ["criu-4.2-options", "criu-4.2-python", "criu-4.2-tcp-in-flight", "criu-4.2-tree"]);
    for name in &dumps {
        compare_with_crit(&real, name);
    }
}

fn compare_with_crit(real: &std::path::Path, name: &str) {
    let dir = real.join(name);
    let mut files: Vec<criu::ImageFile> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| criu::ImageFile {
            name: p.file_name().unwrap().to_string_lossy().into(),
            bytes: std::fs::read(&p).unwrap(),
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    compare_images_with_crit(real, name, files);
}

/// The real Podman checkpoint archive (fixtures/criu/real/podman-4.3.1-sockets.tar.gz:
/// `podman container checkpoint --export` with runc and CRIU 4.2, see its README.md) unpacks
/// (zstd, whatever its name says) to its checkpoint/ images, which decode like the crit of the
/// CRIU that wrote them, with no diagnostic.
#[test]
fn a_real_podman_archive_decodes_like_its_own_crit() {
    let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/criu/real");
    let bytes = std::fs::read(real.join("podman-4.3.1-sockets.tar.gz")).unwrap();
    let a = resocket_core::archive::unpack(&bytes).unwrap();
    assert_eq!(a.compression, resocket_core::archive::Compression::Zstd);
    assert_eq!(a.layout, resocket_core::archive::Layout::Container);
    compare_images_with_crit(&real, "podman-4.3.1-sockets", a.images);
}

fn compare_images_with_crit(real: &std::path::Path, name: &str, files: Vec<criu::ImageFile>) {
    let o = criu::open(files);
    assert!(o.diagnostics.is_empty(), "{name}: {:?}", o.diagnostics);
    let mut compared = 0;
    for f in &o.files {
        let Some(ours) = criu::crit::file_json(f) else { continue };
        let json = real.join(format!("{name}.crit")).join(f.name.replace(".img", ".json"));
        let theirs: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let schema = f.schema().unwrap_or_else(|| panic!("{}: decoded without a schema", f.name));
        let mut errors = Vec::new();
        assert_eq!(ours["magic"], theirs["magic"], "{}", f.name);
        let (o, t) = (ours["entries"].as_array().unwrap(), theirs["entries"].as_array().unwrap());
        assert_eq!(o.len(), t.len(), "{}: entries", f.name);
        for (k, (o, t)) in o.iter().zip(t).enumerate() {
            agree(o, t, schema, &format!("{}#{k}", f.name), &mut errors);
        }
        assert!(errors.is_empty(), "{name}: resocket and CRIU 4.2's crit disagree:\n{}", errors.join("\n"));
        compared += 1;
    }
    assert!(compared >= 9, "{name}: only {compared} images compared");
}

/// `ours` (resocket's crit JSON of one entry) equals `theirs` (crit's) but for the fields the
/// schema walks without decoding (`Ty::Opaque`), which resocket leaves out.
fn agree(
    ours: &serde_json::Value,
    theirs: &serde_json::Value,
    schema: &'static criu::schema::Schema,
    at: &str,
    errors: &mut Vec<String>,
) {
    use criu::schema::Ty;
    let (Some(o), Some(t)) = (ours.as_object(), theirs.as_object()) else {
        if ours != theirs {
            errors.push(format!("{at}: {ours} != {theirs}"));
        }
        return;
    };
    for (key, tv) in t {
        let field = schema.fields.iter().find(|f| f.name == key);
        match (o.get(key), field.map(|f| f.ty)) {
            (None, Some(Ty::Opaque)) => {}
            (Some(ov), Some(Ty::Msg(sub))) => match (ov.as_array(), tv.as_array()) {
                (Some(os), Some(ts)) if os.len() == ts.len() => {
                    for (k, (ov, tv)) in os.iter().zip(ts).enumerate() {
                        agree(ov, tv, sub, &format!("{at}.{key}[{k}]"), errors);
                    }
                }
                (None, None) => agree(ov, tv, sub, &format!("{at}.{key}"), errors),
                _ => errors.push(format!("{at}.{key}: {ov} != {tv}")),
            },
            (Some(ov), _) if ov == tv => {}
            (ov, _) => errors.push(format!("{at}.{key}: resocket {ov:?}, crit {tv}")),
        }
    }
    for key in o.keys().filter(|k| !t.contains_key(*k)) {
        errors.push(format!("{at}.{key}: resocket has it, crit does not"));
    }
}
