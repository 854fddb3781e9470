//! Deep links: the URL fragment names a gallery fixture, an order and a timeline step,
//! `#fixture=listener-pending&order=naive&step=3`. The app rewrites its own keys as the user
//! moves (`history.replaceState`) and leaves every other key alone (the share link's `s=`).

use crate::model::OrderKind;

/// The fragment keys this module owns.
pub const KEYS: [&str; 3] = ["fixture", "order", "step"];

/// Where a deep link points.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Route {
    /// Gallery item name.
    pub fixture: Option<String>,
    /// `planner` (the default, left out of links), `v2` or `naive`.
    pub order: Option<OrderKind>,
    /// Steps executed in the timeline (0, the empty kernel, is left out of links).
    pub step: Option<usize>,
}

/// What to show once an image is open: an order and a step of its timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Goto {
    pub order: Option<OrderKind>,
    pub step: Option<usize>,
}

impl Route {
    /// The order and step part.
    pub fn goto(&self) -> Goto {
        Goto { order: self.order, step: self.step }
    }
}

/// `key=value` pairs of a fragment (with or without its `#`), decoded; empty pairs skipped.
pub fn pairs(fragment: &str) -> Vec<(String, String)> {
    fragment
        .trim_start_matches('#')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// The route a fragment names. Unknown keys are ignored; an unknown order or a step that is not
/// a number is left out (the link still opens its fixture).
pub fn parse(fragment: &str) -> Route {
    let mut r = Route::default();
    for (k, v) in pairs(fragment) {
        match k.as_str() {
            "fixture" if !v.is_empty() => r.fixture = Some(v),
            "order" => {
                r.order = match v.as_str() {
                    "planner" => Some(OrderKind::Planner),
                    "v2" => Some(OrderKind::V2),
                    "naive" => Some(OrderKind::Naive),
                    _ => None,
                }
            }
            "step" => r.step = v.parse().ok(),
            _ => {}
        }
    }
    r
}

/// `fragment` with this module's keys replaced by `route`'s (first, in `KEYS` order) and every
/// other pair kept as it was written, in its order. A route to a fixture drops the share link's
/// `s` (the page then shows the fixture, not the shared scenario). Returns `#…`, or an empty
/// string when no pair is left.
pub fn apply(fragment: &str, route: &Route) -> String {
    let mut out: Vec<String> = Vec::new();
    if let Some(f) = &route.fixture {
        out.push(format!("fixture={}", encode(f)));
        if let Some(o) = route.order.filter(|&o| matches!(o, OrderKind::V2 | OrderKind::Naive)) {
            out.push(format!("order={}", o.id()));
        }
        if let Some(n) = route.step.filter(|&n| n > 0) {
            out.push(format!("step={n}"));
        }
    }
    for raw in fragment.trim_start_matches('#').split('&').filter(|p| !p.is_empty()) {
        let key = decode(raw.split_once('=').map_or(raw, |(k, _)| k));
        let ours = KEYS.contains(&key.as_str()) || (route.fixture.is_some() && key == "s");
        if !ours {
            out.push(raw.to_string());
        }
    }
    if out.is_empty() {
        return String::new();
    }
    format!("#{}", out.join("&"))
}

/// Percent-encode everything but RFC 3986's unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undo `%XX` escapes (and `+` as a space); malformed escapes are kept as they are.
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
