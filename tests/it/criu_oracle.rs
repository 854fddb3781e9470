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
