//! The committed checkpoint archive fixtures (fixtures/criu/archives) are what
//! `fixtures::archives` builds from the committed CRIU images (`./x fixtures` rewrites them),
//! and they unpack to exactly those images.

use resocket_core::archive::{self, Engine, Layout};

#[test]
fn committed_archives_are_up_to_date_and_byte_stable() {
    let built = resocket_fixtures::archives::build_all().expect("build");
    assert!(!built.is_empty());
    for (path, bytes) in &built {
        let committed = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e} (run ./x fixtures)", path.display()));
        assert!(committed == *bytes, "{} is stale: run ./x fixtures", path.display());
        // Built twice, the same bytes.
        let again = resocket_fixtures::archives::build_all().expect("build");
        assert_eq!(again, built);
    }
}

#[test]
fn committed_archives_unpack_to_their_image_directories() {
    use resocket_fixtures::archives::{Engine as Packed, ARCHIVES};
    assert!(ARCHIVES.iter().any(|f| f.engine == Packed::CriO) && ARCHIVES.iter().any(|f| f.engine == Packed::Podman));
    for f in ARCHIVES {
        let (file, set) = (f.file, f.set);
        let path = resocket_fixtures::archives::root().join(file);
        let a = archive::unpack(&std::fs::read(&path).expect("read")).expect("unpack");
        assert_eq!(a.layout, Layout::Container);
        let c = a.container.as_ref().expect("metadata");
        let engine = match f.engine {
            Packed::Podman => Engine::Podman,
            Packed::CriO => Engine::CriO,
        };
        assert_eq!((c.engine, c.name.as_deref()), (Some(engine), Some(f.container)), "{file}");
        if f.engine == Packed::CriO {
            // The kubelet's pod and namespace, and the image from the annotations.
            assert_eq!((c.pod.as_deref(), c.namespace.as_deref()), (Some("web-0"), Some("shop")), "{file}");
            assert_eq!(c.image.as_deref(), Some("registry.example/resocket/server:1.0"), "{file}");
            assert_eq!(c.created.as_deref(), Some("2026-11-30T09:15:00.123456789Z"), "{file}");
        }
        let dir = resocket_fixtures::root().join("criu/images/valid").join(set);
        let mut want: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .expect("dir")
            .map(|e| {
                let e = e.expect("entry");
                (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("image"))
            })
            .collect();
        want.sort();
        let got: Vec<(String, Vec<u8>)> = a.images.iter().map(|i| (i.name.clone(), i.bytes.clone())).collect();
        assert_eq!(got, want, "{file}");
    }
}
