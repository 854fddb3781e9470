//! Diagnostics not covered by an invalid fixture: each one triggered by a small patch of a
//! valid fixture (same patch language as `fixtures/src/invalid`).

use resocket_core::load;
use resocket_fixtures::{patch, root};
use serde_json::{json, Value};

fn base(name: &str) -> Vec<u8> {
    std::fs::read(root().join("images/valid").join(format!("{name}.rsimg"))).unwrap()
}

fn scenario(v: Value) -> Vec<u8> {
    serde_json::from_value::<resocket_core::scenario::Scenario>(v).unwrap().to_image().unwrap()
}

fn fires(code: &str, image: &[u8]) {
    let r = load(image);
    assert!(r.diagnostics.iter().any(|d| d.code.as_str() == code), "expected {code}, got {:#?}", r.diagnostics);
}

fn patched(name: &str, ops: Value) -> Vec<u8> {
    patch(&base(name), ops.as_array().unwrap()).unwrap()
}

#[test]
fn nonzero_uflags() {
    fires("nonzero-uflags", &patched("stream-pair", json!([{"at": {"type": "HEADER"}, "set": {"uflags": "0x1"}}])));
}

#[test]
fn bad_uts() {
    fires("bad-uts", &patched("stream-pair", json!([{"at": {"type": "BUFFER"}, "set": {"nuls": 10}}])));
}

#[test]
fn objref_bad_type() {
    let ins = json!([{"type": "OBJREF", "objtype": "MM", "objref": 50}]);
    fires("objref-bad-type", &patched("stream-pair", json!([{"at": {"type": "TAIL"}, "insert_before": ins}])));
}

#[test]
fn misplaced_record() {
    let ins = json!([{"type": "FILE_DESC", "fd_objref": 2, "fd_descriptor": 9}]);
    fires("misplaced-record", &patched("stream-pair", json!([{"at": {"type": "OBJREF"}, "insert_before": ins}])));
}

#[test]
fn family_mismatch() {
    fires("family-mismatch", &patched("path-name", json!([{"at": {"type": "SOCKET_UNIX"}, "set": {"this": 99}}])));
}

#[test]
fn unsupported_file() {
    fires("unsupported-file", &patched("path-name", json!([{"at": {"type": "FILE"}, "set": {"f_type": "PIPE"}}])));
}

#[test]
fn peer_gone_needs_full_shutdown() {
    fires("peer-gone", &patched("peer-closed-data", json!([{"at": {"type": "SOCKET"}, "set": {"shutdown": []}}])));
}

#[test]
fn peer_gone_flag_or_peer_needed() {
    let ops = json!([{"at": {"type": "SOCKET_UNIX"}, "set": {"flags": []}}]);
    fires("peer-gone", &patched("peer-closed-data", ops));
}

/// A dgram socket whose connected peer closed (PEER_GONE) still points at it: ESTABLISHED.
#[test]
fn a_dgram_peer_gone_is_established() {
    let ops = json!([{"at": {"type": "SOCKET"}, "set": {"state": "TCP_CLOSE", "common_state": "TCP_CLOSE"}}]);
    let image = patched("dgram-peer-gone", ops);
    let r = load(&image);
    assert!(
        r.diagnostics.iter().any(|d| d.code.as_str() == "peer-gone" && d.message.contains("dgram")),
        "{:#?}",
        r.diagnostics
    );
}

#[test]
fn bad_shutdown() {
    fires("bad-shutdown", &patched("stream-pair", json!([{"at": {"type": "SOCKET"}, "set": {"shutdown": 4}}])));
}

#[test]
fn bad_unix_flags() {
    let ops = json!([{"at": {"type": "SOCKET_UNIX"}, "set": {"flags": ["0x100"]}}]);
    fires("bad-unix-flags", &patched("stream-pair", ops));
}

#[test]
fn bad_buffer_frags() {
    let ops = json!([{"at": {"type": "SOCKET_BUFFER"}, "set": {"nr_frags": 1}}]);
    fires("bad-buffer", &patched("stream-pair", ops));
}

#[test]
fn bad_buffer_payload_length() {
    let ops = json!([{"at": {"type": "SOCKET_BUFFER"}, "set": {"lin_len": 3, "skb_len": 3}}]);
    fires("bad-buffer", &patched("stream-pair", ops));
}

#[test]
fn bad_sender_on_a_stream() {
    let ops = json!([{"at": {"type": "SOCKET_BUFFER"}, "set": {"sk_objref": 3}}]);
    fires("bad-sender", &patched("stream-pair", ops));
}

#[test]
fn dgram_queue_full_counts_only_other_senders() {
    let msgs: Vec<Value> = (0..12).map(|i| json!({"from": "s", "data": format!("m{i}")})).collect();
    let full = scenario(json!({"sockets": [
        {"name": "r", "type": "dgram", "addr": "@r", "queue": msgs},
        {"name": "s", "type": "dgram"}]}));
    fires("dgram-queue-full", &full);
    // The same twelve from the receiver's own peer are not limited by max_dgram_qlen.
    let msgs: Vec<Value> = (0..12).map(|i| json!({"data": format!("m{i}")})).collect();
    let pair = scenario(json!({"sockets": [
        {"name": "r", "type": "dgram", "pair": "s", "queue": msgs},
        {"name": "s", "type": "dgram", "pair": "r"}]}));
    assert!(load(&pair).diagnostics.is_empty());
}

#[test]
fn bad_rights() {
    fires("bad-rights", &patched("scm-rights", json!([{"at": {"type": "RS_RIGHTS"}, "set": {"nr_fds": 300}}])));
}

#[test]
fn bad_rights_position() {
    let ins = json!([{"type": "RS_RIGHTS", "objrefs": [2]}]);
    fires("bad-rights", &patched("stream-pair", json!([{"at": {"type": "TAIL"}, "insert_before": ins}])));
}

#[test]
fn bad_fd() {
    let ops = json!([{"at": {"type": "FILE_DESC"}, "set": {"fd_descriptor": -1}}]);
    fires("bad-fd", &patched("stream-pair", ops));
    let ops = json!([{"at": {"type": "FILE_DESC", "nth": 1}, "set": {"fd_descriptor": 3}}]);
    fires("bad-fd", &patched("stream-pair", ops));
}

#[test]
fn unused_socket_is_a_warning() {
    let img = scenario(json!({"sockets": [{"name": "lost", "type": "dgram", "no_fd": true}]}));
    fires("unused-socket", &img);
    assert!(load(&img).is_valid());
}

#[test]
fn inet_address_length() {
    let ops = json!([{"at": {"type": "SOCKET_INET"}, "set": {"laddr_len": 28}}]);
    fires("inet-address", &patched("inet-listener", ops));
}

#[test]
fn error_record_carries_its_message() {
    let ins = json!([{"type": "ERROR"}, {"type": "STRING", "text": "\\x00out of memory", "nuls": 1}]);
    let img = patched("stream-pair", json!([{"at": {"type": "TAIL"}, "insert_before": ins}]));
    let r = load(&img);
    let d = r.diagnostics.iter().find(|d| d.code.as_str() == "error-record").unwrap();
    assert!(d.message.contains("out of memory"), "{}", d.message);
}

#[test]
fn fdt_nfds_must_count_the_descriptors() {
    fires("bad-fd", &patched("stream-pair", json!([{"at": {"type": "FILE_TABLE"}, "set": {"fdt_nfds": 3}}])));
}

#[test]
fn has_buffers_must_say_whether_a_queue_follows() {
    fires("bad-buffer", &patched("path-name", json!([{"at": {"type": "SOCKET"}, "set": {"has_buffers": 1}}])));
}

#[test]
fn an_unconnected_stream_socket_cannot_hold_data() {
    let img = scenario(json!({"sockets": [{"name": "s", "type": "stream", "queue": [{"data": "x"}]}]}));
    let r = load(&img);
    let d = r.diagnostics.iter().find(|d| d.code.as_str() == "bad-sender").expect("bad-sender");
    assert!(d.message.contains("not connected"), "{}", d.message);
}

#[test]
fn a_wrong_uts_buffer_is_reported_once() {
    let img = patched("stream-pair", json!([{"at": {"type": "BUFFER"}, "set": {"nuls": 10}}]));
    let r = load(&img);
    let errors: Vec<_> = r.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code.as_str()).collect();
    assert_eq!(errors, vec!["bad-uts"]);
}
