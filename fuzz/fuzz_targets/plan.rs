//! The planner and the simulator on whatever image `load` accepts as valid:
//!
//! * planning (`plan_on`, `plan_streaming_on`) never panics; the streamed steps are the plan's;
//! * a plan the planner makes runs on the simulator (`check::run_order_on`) to the end (every
//!   step was proven on the model while planning), and every difference of the simulated state
//!   from the image is on a socket the plan warns about, on the peer of one, or on an embryo
//!   of a listener it warns about (what
//!   `core/tests/it/warn.rs` checks on its scenarios);
//! * the checker runs the seed's v2 plan and the naive order of the plan without panicking.
//!
//! Input: the first byte picks how the image is made — raw bytes (seeds: `fixtures/images`,
//! led by a 0 byte), a scenario built by editor operations (`gen::edited`) or a scenario written
//! directly (`gen::direct`); its high bit plans for the loopback host alone or with the image's
//! own addresses too (`plan::image_addrs`, as a what-if run does); the next bit gives the host a
//! dgram receiver at every outside name the image's dgram sockets record
//! (`Image::outside_dgram_names` as `HostAddrs::unix`, what `restore run`'s probe finds when all
//! are there), so the planner's reconnect to an outside peer is planned and simulated.
#![no_main]

mod gen;

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use resocket_core::check::{naive_order, run_order_on, v2_plan};
use resocket_core::sim::HostAddrs;
use resocket_core::{load, plan};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let bytes = match mode & 0x3f {
        0 => rest.to_vec(),
        m => {
            let mut u = Unstructured::new(rest);
            let sc = if m % 2 == 1 { gen::edited(&mut u) } else { gen::direct(&mut u) };
            match sc.map(|sc| sc.to_image()) {
                Ok(Ok(b)) => b,
                _ => return,
            }
        }
    };
    let r = load(&bytes);
    if !r.is_valid() {
        return;
    }
    let img = &r.image;
    let mut host = if mode & 0x80 == 0 { HostAddrs::loopback() } else { HostAddrs::loopback_and(&plan::image_addrs(img)) };
    if mode & 0x40 != 0 {
        host.unix = img.outside_dgram_names();
    }
    let planned = plan::plan_on(img, &host);
    let mut streamed = Vec::new();
    let again = plan::plan_streaming_on(img, &host, 7, &mut |b| {
        streamed.extend_from_slice(b);
        true
    });
    assert_eq!(planned, again, "plan_streaming differs from plan");
    let Ok(p) = planned else { return };
    assert_eq!(streamed, p.steps, "the streamed steps are not the plan's");
    for w in &p.warnings {
        assert!(w.step.is_none_or(|s| s < p.steps.len()), "warning on step {:?} of {}", w.step, p.steps.len());
    }
    let order: Vec<usize> = (0..p.steps.len()).collect();
    let run = run_order_on(img, &p, &order, &host);
    assert!(run.failure.is_none(), "the simulator fails a plan the planner proved: {:?}", run.failure);
    let warned = |o: i32| p.warnings.iter().any(|w| w.objref == Some(o));
    for d in &run.differences {
        // Its peer (AF_UNIX by record, INET by address pair): a warning on a socket the
        // restore closes covers the peer that sees it close.
        let peer = img.sockets.get(&d.objref).map(|s| match s.peer() {
            0 => resocket_core::image::inet::peer_of(img, s).unwrap_or(0),
            p => p,
        });
        // An embryo goes with its listener: a warning on the listener covers it.
        let listener = img.sockets.values().find(|l| l.pending.iter().any(|q| q.embryo == d.objref));
        assert!(
            warned(d.objref) || peer.is_some_and(warned) || listener.is_some_and(|l| warned(l.objref)),
            "unwarned difference {d:?}; warnings {:#?}",
            p.warnings
        );
    }
    let _ = run_order_on(img, &p, &naive_order(&p), &host);
    let v2 = v2_plan(img);
    let order: Vec<usize> = (0..v2.steps.len()).collect();
    let _ = run_order_on(img, &v2, &order, &host);
});
