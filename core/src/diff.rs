//! Semantic comparison of two images up to renumbering: sockets are matched by where a process
//! holds them (the process's position and the fd), embryos by their listener and accept position, sockets in flight by
//! the message that carries them, peers by their partner. Objref numbers and record order do not
//! matter; types, states, names, peers, shutdown, backlogs, pending order and queued messages do.

use crate::image::{Image, Sock};
use std::collections::BTreeMap;

/// Stable, objref-free names for the sockets of an image.
fn anchors(img: &Image<'_>, inet_peers: &BTreeMap<i32, i32>) -> BTreeMap<i32, String> {
    let mut a: BTreeMap<i32, String> = BTreeMap::new();
    // Processes are matched by position (a restored process has another pid).
    for (ti, t) in img.tables.iter().enumerate() {
        for fd in &t.fds {
            if let Some(f) = img.files.get(&fd.file) {
                a.entry(f.repr.sock_objref).or_insert_with(|| format!("task{ti}:fd{}", fd.fd));
            }
        }
    }
    // Repeat until nothing new: embryos, peers, senders and sockets in flight get names derived
    // from sockets that already have one.
    loop {
        let before = a.len();
        for s in img.sockets.values() {
            let Some(name) = a.get(&s.objref).cloned() else { continue };
            for (i, p) in s.pending.iter().enumerate() {
                a.entry(p.embryo).or_insert_with(|| format!("{name}/pending{i}"));
            }
            if s.peer() != 0 {
                a.entry(s.peer()).or_insert_with(|| format!("{name}/peer"));
            }
            if let Some(&p) = inet_peers.get(&s.objref) {
                a.entry(p).or_insert_with(|| format!("{name}/peer"));
            }
            for (i, m) in s.queue.iter().enumerate() {
                if m.sender != 0 {
                    a.entry(m.sender).or_insert_with(|| format!("{name}/msg{i}/sender"));
                }
                for (k, f) in m.rights.iter().enumerate() {
                    if let Some(file) = img.files.get(f) {
                        a.entry(file.repr.sock_objref).or_insert_with(|| format!("{name}/msg{i}/fd{k}"));
                    }
                }
            }
        }
        if a.len() == before {
            break;
        }
    }
    for s in img.sockets.values() {
        a.entry(s.objref).or_insert_with(|| format!("unreached#{}", s.objref));
    }
    a
}

fn describe(
    img: &Image<'_>,
    a: &BTreeMap<i32, String>,
    inet_peers: &BTreeMap<i32, i32>,
    s: &Sock<'_>,
    strip: &[u8],
) -> Fields {
    let name = |o: i32| if o == 0 { "-".to_string() } else { a.get(&o).cloned().unwrap_or_else(|| format!("#{o}")) };
    let mut d = Fields::default();
    d.insert("family", s.common.family.to_string());
    d.insert("type", s.common.sock_type.to_string());
    d.insert("state", s.common.state.to_string());
    d.insert("socket_state", s.common.socket_state.to_string());
    d.insert("shutdown", s.common.shutdown.to_string());
    d.insert("sndbuf", s.common.sndbuf.to_string());
    d.insert("passcred", (s.common.socket_flags & crate::wire::SOCK_PASSCRED != 0).to_string());
    if s.is_listener() {
        d.insert("backlog", s.effective_backlog().to_string());
    }
    if let Some(u) = &s.unix {
        let mut laddr = u.laddr.display().into_bytes();
        if !strip.is_empty() && laddr.starts_with(strip) {
            laddr.drain(..strip.len());
        }
        d.insert("name", String::from_utf8_lossy(&laddr).into_owned());
        d.insert("peer", name(u.peer));
        d.insert("flags", (u.flags & !crate::wire::UNIX_LINKED).to_string());
    }
    if let Some(i) = &s.inet {
        use crate::image::inet::display;
        d.insert("name", s.inet_local().map(display).unwrap_or_default());
        d.insert("remote", s.inet_remote().map(display).unwrap_or_default());
        d.insert("peer", name(inet_peers.get(&s.objref).copied().unwrap_or(0)));
        d.insert("flags", format!("{}/{}", i.rs_flags, s.common.reuse));
    }
    d.insert(
        "pending",
        s.pending.iter().map(|p| format!("{}<-{}", name(p.embryo), name(p.client))).collect::<Vec<_>>().join(", "),
    );
    let msgs: Vec<String> = s
        .queue
        .iter()
        .map(|m| {
            let rights: Vec<String> =
                m.rights.iter().filter_map(|f| img.files.get(f)).map(|f| name(f.repr.sock_objref)).collect();
            format!("{}:{}{:?}", name(m.sender), crate::bstr::escape(&m.data), rights)
        })
        .collect();
    d.insert("queue", msgs.join(" | "));
    if let Some(o) = s.oob {
        d.insert("oob", format!("skb {}", o.index));
    }
    if let Some(o) = &s.opts {
        d.insert("opts", o.opts.iter().map(crate::sockopt::show).collect::<Vec<_>>().join(", "));
    }
    crate::order::sort_by_rank(&mut d.0, |(f, _)| FIELDS.iter().position(|x| x == f).unwrap_or(FIELDS.len()) as u128);
    d
}

/// Field names in the order differences are listed (alphabetical).
const FIELDS: [&str; 16] = [
    "backlog",
    "family",
    "flags",
    "name",
    "oob",
    "opts",
    "passcred",
    "peer",
    "pending",
    "queue",
    "remote",
    "shutdown",
    "sndbuf",
    "socket_state",
    "state",
    "type",
];

/// A socket's compared fields: a short list (a map type here was one more B-tree instance in
/// the browser's bundle), each field once, in [`FIELDS`] order once `describe` is done.
#[derive(Default)]
struct Fields(Vec<(&'static str, String)>);

impl Fields {
    fn insert(&mut self, field: &'static str, value: String) {
        match self.0.iter_mut().find(|(f, _)| *f == field) {
            Some(slot) => slot.1 = value,
            None => self.0.push((field, value)),
        }
    }
    fn get(&self, field: &str) -> Option<&String> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, v)| v)
    }
}

/// Every difference between two images, one line each; empty when they describe the same
/// sockets. `strip_a`/`strip_b` are path prefixes (restore roots) removed before names compare.
pub fn diff(a: &Image<'_>, b: &Image<'_>, strip_a: &[u8], strip_b: &[u8]) -> Vec<String> {
    let (pa, pb) = (crate::image::inet::peers(a), crate::image::inet::peers(b));
    let (na, nb) = (anchors(a, &pa), anchors(b, &pb));
    let by_anchor = |img: &Image<'_>,
                     n: &BTreeMap<i32, String>,
                     p: &BTreeMap<i32, i32>,
                     strip: &[u8]|
     -> BTreeMap<String, Fields> {
        crate::order::map(img.sockets.values().map(|s| (n[&s.objref].clone(), describe(img, n, p, s, strip))))
    };
    let (da, db) = (by_anchor(a, &na, &pa, strip_a), by_anchor(b, &nb, &pb, strip_b));
    let mut out = Vec::new();
    for (k, va) in &da {
        match db.get(k) {
            None => out.push(format!("{k}: only in the first image")),
            Some(vb) => {
                for (field, x) in &va.0 {
                    let y = vb.get(field).map_or("", String::as_str);
                    if x != y {
                        out.push(format!("{k}: {field} is {x:?} in the first image, {y:?} in the second"));
                    }
                }
            }
        }
    }
    for k in db.keys().filter(|k| !da.contains_key(*k)) {
        out.push(format!("{k}: only in the second image"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn image(json: &str) -> Vec<u8> {
        serde_json::from_str::<Scenario>(json).unwrap().to_image().unwrap()
    }

    const SERVER: &str = r#"{ "tasks": [ { "pid": 1, "fds": { "3": "L", "4": "c", "5": "a" } } ], "sockets": [
        { "name": "L", "type": "stream", "family": "inet", "addr": "127.0.0.1:8080", "listen": 4 },
        { "name": "c", "type": "stream", "family": "inet", "addr": "127.0.0.1:40000", "peer": "a" },
        { "name": "a", "type": "stream", "family": "inet", "peer": "c", "accepted_from": "L",
          "queue": [ { "data": "hi" } ] } ] }"#;

    #[test]
    fn inet_sockets_compare_by_address_and_peer() {
        let a = image(SERVER);
        let same = image(SERVER);
        let (ia, ib) = (crate::load(&a), crate::load(&same));
        assert_eq!(diff(&ia.image, &ib.image, b"", b""), Vec::<String>::new());
        // The client on another port: its name and its peer's remote address differ.
        let moved = image(&SERVER.replace("40000", "40001"));
        let im = crate::load(&moved);
        let d = diff(&ia.image, &im.image, b"", b"");
        assert!(d.iter().any(|l| l.contains("task0:fd4: name")), "{d:#?}");
        assert!(d.iter().any(|l| l.contains("task0:fd5: remote")), "{d:#?}");
        // The accepted end's peer is another socket: the peer differs.
        let swapped = image(&SERVER.replace(r#""4": "c", "5": "a""#, r#""4": "a", "5": "c""#));
        let is = crate::load(&swapped);
        assert!(!diff(&ia.image, &is.image, b"", b"").is_empty());
    }
}
