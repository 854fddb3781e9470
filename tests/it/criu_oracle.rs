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
