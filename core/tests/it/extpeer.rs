//! A dgram AF_UNIX socket connected to a socket outside the image (EXTERNAL_PEER, its peer's
//! name in `raddr`, the scenario's `remote`): reconnected when the host has a dgram receiver
//! at that name (`HostAddrs::unix`), else restored unconnected with `unix-external-peer`.

use resocket_core::check::{self, run_order_on};
use resocket_core::image::UnixAddr;
use resocket_core::plan;
use resocket_core::scenario::Scenario;
use resocket_core::sim::{Errno, HostAddrs, Kernel, Op, Outcome, SockAddr, SockType};
use resocket_core::warn::WarnCode;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn scenario(remote: &str) -> String {
    format!(
        r#"{{"sockets": [{{"name": "log", "type": "dgram", "external_peer": true, "remote": "{remote}"}},
                          {{"name": "other", "type": "dgram", "addr": "/tmp/extpeer-own"}}]}}"#
    )
}

fn host_with(names: &[UnixAddr]) -> HostAddrs {
    HostAddrs { unix: names.to_vec(), ..HostAddrs::loopback() }
}

/// The plan on `host` of the scenario whose socket `log` was connected to `remote`, run on the
/// simulator of the same host: (warnings' codes on `log`, the name of log's simulated peer,
/// the differences).
fn restored(remote: &str, host: &HostAddrs) -> (Vec<WarnCode>, Option<UnixAddr>, Vec<(bool, String)>) {
    let (bytes, objrefs) = Scenario::from_json(&scenario(remote)).expect("scenario").to_image_mapped().expect("image");
    let o = objrefs[0];
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let p = plan::plan_on(&r.image, host).expect("a plan");
    let order: Vec<usize> = (0..p.steps.len()).collect();
    let report = run_order_on(&r.image, &p, &order, host);
    assert!(report.failure.is_none(), "{:?}", report.failure);
    let mut run = check::Run::new_on(&p, host);
    for s in &p.steps {
        assert!(run.step(s).is_ok(), "{s:?}");
    }
    let log = run.objref_sock[&o];
    let peer = run.kernel.socks[log].peer.and_then(|q| run.kernel.socks[q].name.clone());
    let codes = p.warnings.iter().filter(|w| w.objref == Some(o)).map(|w| w.code).collect();
    (codes, peer, report.differences.into_iter().map(|d| (d.objref == o, d.what)).collect())
}

#[test]
fn a_dgram_socket_is_reconnected_to_its_outside_path_when_the_host_has_a_receiver_there() {
    let name = UnixAddr::Path(b"/run/extpeer-log"[..].into());
    let (codes, peer, diffs) = restored("/run/extpeer-log", &host_with(std::slice::from_ref(&name)));
    assert_eq!(codes, vec![], "no warning");
    assert_eq!(peer, Some(name));
    assert_eq!(diffs, vec![], "the image is reproduced: ESTABLISHED, peer outside");
}

#[test]
fn a_dgram_socket_is_reconnected_to_its_outside_abstract_name() {
    let name = UnixAddr::Abstract(b"extpeer-log"[..].into());
    let (codes, peer, diffs) = restored("@extpeer-log", &host_with(std::slice::from_ref(&name)));
    assert_eq!(codes, vec![]);
    assert_eq!(peer, Some(name));
    assert_eq!(diffs, vec![]);
}

#[test]
fn without_a_receiver_at_the_name_it_is_restored_unconnected_and_warned() {
    // The host has another name only.
    let host = host_with(&[UnixAddr::Path(b"/run/elsewhere"[..].into())]);
    let (codes, peer, diffs) = restored("/run/extpeer-log", &host);
    assert_eq!(codes, vec![WarnCode::UnixExternalPeer]);
    assert_eq!(peer, None, "unconnected");
    assert!(diffs.iter().all(|d| d.0), "only on the warned socket: {diffs:?}");
    let bytes = Scenario::from_json(&scenario("/run/extpeer-log")).unwrap().to_image().unwrap();
    let r = resocket_core::load(&bytes);
    let p = plan::plan_on(&r.image, &host).unwrap();
    let w = p.warnings.iter().find(|w| w.code == WarnCode::UnixExternalPeer).unwrap();
    assert!(w.message.contains("/run/extpeer-log") && w.message.contains("dgram socket #"), "{}", w.message);
}

#[test]
fn the_outside_name_is_raddr_and_reads_back_as_remote() {
    let bytes = Scenario::from_json(&scenario("@extpeer-log")).unwrap().to_image().unwrap();
    let r = resocket_core::load(&bytes);
    let u = r
        .image
        .sockets
        .values()
        .find_map(|s| s.unix.as_ref().filter(|u| u.has(resocket_core::wire::UNIX_EXTERNAL_PEER)))
        .expect("the external one");
    assert_eq!(u.raddr, UnixAddr::Abstract(b"extpeer-log"[..].into()));
    let back = resocket_core::edit::from_image(&bytes);
    assert_eq!(back.notes, Vec::<String>::new());
    let log = back.scenario.sockets.iter().find(|s| s.external_peer).expect("the external one");
    assert_eq!(log.remote.as_deref(), Some("@extpeer-log"));
}

#[test]
fn an_af_unix_remote_is_only_the_outside_name_of_a_dgram_external_peer() {
    for json in [
        r#"{"sockets": [{"name": "s", "type": "stream", "external_peer": true, "remote": "/run/x"}]}"#,
        r#"{"sockets": [{"name": "s", "type": "dgram", "remote": "/run/x"}]}"#,
        r#"{"sockets": [{"name": "s", "type": "dgram", "external_peer": true, "remote": "rel/x"}]}"#,
    ] {
        let e = Scenario::from_json(json).expect("parses").to_image().expect_err(json);
        assert!(e.to_string().contains("remote"), "{e}");
    }
}

#[test]
fn the_simulated_outside_receiver_takes_connects_and_datagrams_and_a_missing_name_is_refused() {
    let mut k = Kernel::with_host(host_with(&[UnixAddr::Path(b"/run/extpeer-log"[..].into())]));
    assert!(k.apply(&Op::Socket { slot: 1, ty: SockType::Dgram }).is_ok());
    let missing = Op::Connect { slot: 1, addr: SockAddr::Path(b"/run/missing".to_vec()) };
    assert_eq!(k.apply(&missing), Outcome::Err { errno: Errno::ENOENT });
    let gone = Op::Connect { slot: 1, addr: SockAddr::Abstract(b"missing".to_vec()) };
    assert_eq!(k.apply(&gone), Outcome::Err { errno: Errno::ECONNREFUSED });
    assert!(k.apply(&Op::Connect { slot: 1, addr: SockAddr::Path(b"/run/extpeer-log".to_vec()) }).is_ok());
    let receiver = k.sock(1).and_then(|s| s.peer).expect("connected");
    assert_eq!(k.socks[receiver].ty, SockType::Dgram);
    assert_ne!(k.sock_ref(1), Some(receiver), "the receiver is its own socket, in no slot");
}
