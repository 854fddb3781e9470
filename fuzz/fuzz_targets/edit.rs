//! The scenario editor's operations (`edit::apply`) on arbitrary sequences of edits, from a
//! fixture scenario or an empty one (inputs built by `gen`):
//!
//! * no edit panics, accepted or refused;
//! * an accepted edit leaves a scenario whose references all resolve (edit.rs's promise) and
//!   that writes an image (`to_image_mapped`, one objref per socket), which `load` reads
//!   without panicking, its diagnostics inside the image;
//! * an image the edits keep valid reads back (`edit::from_image`) into a scenario that writes
//!   it byte for byte with no note (the inspector edits whatever it opened that way).
#![no_main]

mod gen;

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use resocket_core::{edit, load};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(mut sc) = gen::start(&mut u) else { return };
    for _ in 0..64 {
        let Ok(e) = gen::edit(&mut u, &sc) else { break };
        let Ok(next) = edit::apply(&sc, &e) else { continue };
        if let Some(d) = gen::dangling(&next) {
            panic!("{e:?} left a dangling reference: {d}\n{next:#?}");
        }
        let (bytes, objrefs) = match next.to_image_mapped() {
            Ok(w) => w,
            Err(err) => panic!("{e:?} was accepted but the scenario cannot be written: {err}\n{next:#?}"),
        };
        assert_eq!(objrefs.len(), next.sockets.len());
        let r = load(&bytes);
        for d in &r.diagnostics {
            assert!(d.range.start <= d.range.end && d.range.end <= bytes.len(), "diagnostic outside the image: {d}");
        }
        if r.is_valid() {
            let back = edit::from_image(&bytes);
            assert!(
                back.notes.is_empty(),
                "{e:?}: a valid edited image reads back with notes {:?}\n{next:#?}",
                back.notes
            );
            assert!(back.scenario.to_image().ok().as_deref() == Some(&bytes[..]), "{e:?}: not written back exactly");
        }
        sc = next;
    }
});
