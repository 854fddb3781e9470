//! The socket options of the `RS_SOCKOPT` extension record (docs/format.md §5.5): a list of
//! [`SockOpt`] values, one per recorded [`OptName`], to and from the record, and which options
//! a socket of a given kind takes.

use crate::sim::{OptName, SockOpt};
use crate::wire::{self, SockOptRepr};

/// What a socket is, for the options it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptKind {
    /// AF_UNIX, any type.
    Unix,
    /// TCP over AF_INET or AF_INET6.
    Tcp,
    /// UDP over AF_INET or AF_INET6.
    Udp,
}

impl OptKind {
    /// From the SOCKET record's family and type.
    pub fn of(family: u16, sock_type: u16) -> Option<OptKind> {
        match (family, sock_type) {
            (wire::AF_UNIX, _) => Some(OptKind::Unix),
            (wire::AF_INET | wire::AF_INET6, wire::SOCK_STREAM) => Some(OptKind::Tcp),
            (wire::AF_INET | wire::AF_INET6, wire::SOCK_DGRAM) => Some(OptKind::Udp),
            _ => None,
        }
    }
    /// Why a socket of this kind cannot take `name` (the kernel's answer), if it cannot.
    pub fn refuses(self, name: OptName) -> Option<&'static str> {
        match (self, name) {
            (OptKind::Unix | OptKind::Udp, n) if n.is_tcp() => {
                Some("an IPPROTO_TCP option on a socket that is not TCP")
            }
            // Linux 6.16 made SO_PASSCRED/SO_PASSSEC AF_UNIX (and netlink) options: EOPNOTSUPP.
            (OptKind::Tcp | OptKind::Udp, OptName::PassSec) => {
                Some("SO_PASSSEC is an AF_UNIX option (EOPNOTSUPP elsewhere)")
            }
            _ => None,
        }
    }
    /// The options `checkpoint dump` reads for a socket of this kind, in bit order.
    pub fn names(self) -> impl Iterator<Item = OptName> {
        OptName::ALL.into_iter().filter(move |&n| self.refuses(n).is_none())
    }
}

/// The `RS_SOCKOPT` record of socket `sock` holding `opts` (the last value of each name wins).
pub fn encode(sock: i32, opts: &[SockOpt]) -> SockOptRepr {
    let mut r = SockOptRepr { sock, ..Default::default() };
    let flag = |on: bool, bit: u32| if on { bit } else { 0 };
    for o in opts {
        let Some(name) = o.recorded() else { continue };
        r.recorded |= name.bit();
        match *o {
            SockOpt::PeekOff(v) => r.peek_off = v,
            SockOpt::KeepAlive(on) => r.on = r.on & !wire::SOCKOPT_ON_KEEPALIVE | flag(on, wire::SOCKOPT_ON_KEEPALIVE),
            SockOpt::Linger { on, secs } => {
                r.on = r.on & !wire::SOCKOPT_ON_LINGER | flag(on, wire::SOCKOPT_ON_LINGER);
                r.linger_secs = secs;
            }
            SockOpt::RcvTimeo(us) => r.rcvtimeo_us = us,
            SockOpt::SndTimeo(us) => r.sndtimeo_us = us,
            SockOpt::Priority(v) => r.priority = v,
            SockOpt::Mark(v) => r.mark = v,
            SockOpt::RcvLowat(v) => r.rcvlowat = v,
            SockOpt::PassSec(on) => r.on = r.on & !wire::SOCKOPT_ON_PASSSEC | flag(on, wire::SOCKOPT_ON_PASSSEC),
            SockOpt::Broadcast(on) => r.on = r.on & !wire::SOCKOPT_ON_BROADCAST | flag(on, wire::SOCKOPT_ON_BROADCAST),
            SockOpt::OobInline(on) => r.on = r.on & !wire::SOCKOPT_ON_OOBINLINE | flag(on, wire::SOCKOPT_ON_OOBINLINE),
            SockOpt::TcpNoDelay(on) => r.on = r.on & !wire::SOCKOPT_ON_NODELAY | flag(on, wire::SOCKOPT_ON_NODELAY),
            SockOpt::TcpCork(on) => r.on = r.on & !wire::SOCKOPT_ON_CORK | flag(on, wire::SOCKOPT_ON_CORK),
            SockOpt::TcpKeepIdle(v) => r.keepidle = v,
            SockOpt::TcpKeepIntvl(v) => r.keepintvl = v,
            SockOpt::TcpKeepCnt(v) => r.keepcnt = v,
            SockOpt::TcpUserTimeout(v) => r.user_timeout = v,
            _ => {}
        }
    }
    r
}

/// A field of `RS_SOCKOPT` that breaks a rule: the field's name and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    /// The field (a name of `RS_SOCKOPT_LAYOUT`).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> Bad {
    Bad { field, message: message.into() }
}

/// The field an option's value lives in, and the `on` bit of a boolean option.
fn field_of(name: OptName) -> (&'static str, u32) {
    match name {
        OptName::PeekOff => ("peek_off", 0),
        OptName::KeepAlive => ("on", wire::SOCKOPT_ON_KEEPALIVE),
        OptName::Linger => ("linger_secs", wire::SOCKOPT_ON_LINGER),
        OptName::RcvTimeo => ("rcvtimeo_us", 0),
        OptName::SndTimeo => ("sndtimeo_us", 0),
        OptName::Priority => ("priority", 0),
        OptName::Mark => ("mark", 0),
        OptName::RcvLowat => ("rcvlowat", 0),
        OptName::PassSec => ("on", wire::SOCKOPT_ON_PASSSEC),
        OptName::Broadcast => ("on", wire::SOCKOPT_ON_BROADCAST),
        OptName::OobInline => ("on", wire::SOCKOPT_ON_OOBINLINE),
        OptName::TcpNoDelay => ("on", wire::SOCKOPT_ON_NODELAY),
        OptName::TcpCork => ("on", wire::SOCKOPT_ON_CORK),
        OptName::TcpKeepIdle => ("keepidle", 0),
        OptName::TcpKeepIntvl => ("keepintvl", 0),
        OptName::TcpKeepCnt => ("keepcnt", 0),
        OptName::TcpUserTimeout => ("user_timeout", 0),
    }
}

/// Whether the record has a value (a non-zero field or `on` bit) for option `n`.
fn holds_value(r: &SockOptRepr, n: OptName) -> bool {
    let (_, bit) = field_of(n);
    match n {
        OptName::PeekOff => r.peek_off != 0,
        OptName::Mark => r.mark != 0,
        OptName::Priority => r.priority != 0,
        OptName::RcvLowat => r.rcvlowat != 0,
        OptName::RcvTimeo => r.rcvtimeo_us != 0,
        OptName::SndTimeo => r.sndtimeo_us != 0,
        OptName::Linger => r.linger_secs != 0 || r.on & bit != 0,
        OptName::TcpKeepIdle => r.keepidle != 0,
        OptName::TcpKeepIntvl => r.keepintvl != 0,
        OptName::TcpKeepCnt => r.keepcnt != 0,
        OptName::TcpUserTimeout => r.user_timeout != 0,
        OptName::KeepAlive
        | OptName::PassSec
        | OptName::Broadcast
        | OptName::OobInline
        | OptName::TcpNoDelay
        | OptName::TcpCork => r.on & bit != 0,
    }
}

/// The options an `RS_SOCKOPT` record holds, in bit order, or the first field that breaks a
/// rule: unknown bits, a value or `on` bit for an option it does not record, a value the
/// kernel never reports (a peek offset below −1, a negative timeout, linger time or low-water
/// mark, keepalive values out of `tcp_sock_set_keep*`'s range).
pub fn decode(r: &SockOptRepr) -> Result<Vec<SockOpt>, Bad> {
    let known = OptName::ALL.iter().fold(0u32, |m, n| m | n.bit());
    if r.recorded & !known != 0 {
        return Err(bad("recorded", format!("unknown bits {:#x} in RS_SOCKOPT.recorded", r.recorded & !known)));
    }
    let on_known = wire::sym::SOCKOPT_ON.iter().fold(0u32, |m, (b, _)| m | *b as u32);
    if r.on & !on_known != 0 {
        return Err(bad("on", format!("unknown bits {:#x} in RS_SOCKOPT.on", r.on & !on_known)));
    }
    let has = |n: OptName| r.recorded & n.bit() != 0;
    // Fields (and `on` bits) of options not recorded are zero.
    for n in OptName::ALL {
        if has(n) {
            continue;
        }
        let (field, _) = field_of(n);
        let nonzero = holds_value(r, n);
        if nonzero {
            return Err(bad(field, format!("{} is not recorded, so its value must be zero", n.c_name())));
        }
    }
    let on = |bit: u32| r.on & bit != 0;
    let mut out = Vec::new();
    for n in OptName::ALL.into_iter().filter(|&n| has(n)) {
        let o = match n {
            OptName::PeekOff if r.peek_off < -1 => {
                return Err(bad("peek_off", format!("SO_PEEK_OFF {} is below -1 (off)", r.peek_off)))
            }
            OptName::PeekOff => SockOpt::PeekOff(r.peek_off),
            OptName::KeepAlive => SockOpt::KeepAlive(on(wire::SOCKOPT_ON_KEEPALIVE)),
            OptName::Linger if r.linger_secs < 0 => {
                return Err(bad("linger_secs", format!("SO_LINGER time {} s is negative", r.linger_secs)))
            }
            OptName::Linger => SockOpt::Linger { on: on(wire::SOCKOPT_ON_LINGER), secs: r.linger_secs },
            OptName::RcvTimeo if r.rcvtimeo_us < 0 => {
                return Err(bad("rcvtimeo_us", format!("SO_RCVTIMEO {} µs is negative", r.rcvtimeo_us)))
            }
            OptName::RcvTimeo => SockOpt::RcvTimeo(r.rcvtimeo_us),
            OptName::SndTimeo if r.sndtimeo_us < 0 => {
                return Err(bad("sndtimeo_us", format!("SO_SNDTIMEO {} µs is negative", r.sndtimeo_us)))
            }
            OptName::SndTimeo => SockOpt::SndTimeo(r.sndtimeo_us),
            OptName::Priority => SockOpt::Priority(r.priority),
            OptName::Mark => SockOpt::Mark(r.mark),
            OptName::RcvLowat if r.rcvlowat < 0 => {
                return Err(bad("rcvlowat", format!("SO_RCVLOWAT {} is negative", r.rcvlowat)))
            }
            OptName::RcvLowat => SockOpt::RcvLowat(r.rcvlowat),
            OptName::PassSec => SockOpt::PassSec(on(wire::SOCKOPT_ON_PASSSEC)),
            OptName::Broadcast => SockOpt::Broadcast(on(wire::SOCKOPT_ON_BROADCAST)),
            OptName::OobInline => SockOpt::OobInline(on(wire::SOCKOPT_ON_OOBINLINE)),
            OptName::TcpNoDelay => SockOpt::TcpNoDelay(on(wire::SOCKOPT_ON_NODELAY)),
            OptName::TcpCork => SockOpt::TcpCork(on(wire::SOCKOPT_ON_CORK)),
            OptName::TcpKeepIdle | OptName::TcpKeepIntvl => {
                let (field, v) =
                    if n == OptName::TcpKeepIdle { ("keepidle", r.keepidle) } else { ("keepintvl", r.keepintvl) };
                if !(1..=MAX_TCP_KEEP).contains(&v) {
                    return Err(bad(field, format!("{} {v} is outside 1..={MAX_TCP_KEEP}", n.c_name())));
                }
                if n == OptName::TcpKeepIdle {
                    SockOpt::TcpKeepIdle(v)
                } else {
                    SockOpt::TcpKeepIntvl(v)
                }
            }
            OptName::TcpKeepCnt if !(1..=MAX_TCP_KEEPCNT).contains(&r.keepcnt) => {
                return Err(bad("keepcnt", format!("TCP_KEEPCNT {} is outside 1..={MAX_TCP_KEEPCNT}", r.keepcnt)))
            }
            OptName::TcpKeepCnt => SockOpt::TcpKeepCnt(r.keepcnt),
            OptName::TcpUserTimeout if r.user_timeout > i32::MAX as u32 => {
                return Err(bad(
                    "user_timeout",
                    format!("TCP_USER_TIMEOUT {} ms is negative as an int", r.user_timeout),
                ))
            }
            OptName::TcpUserTimeout => SockOpt::TcpUserTimeout(r.user_timeout),
        };
        out.push(o);
    }
    Ok(out)
}

/// `MAX_TCP_KEEPIDLE` = `MAX_TCP_KEEPINTVL` (include/net/tcp.h).
pub const MAX_TCP_KEEP: i32 = 32767;
/// `MAX_TCP_KEEPCNT`.
pub const MAX_TCP_KEEPCNT: i32 = 127;

/// The option of `opts` with this name.
pub fn find(opts: &[SockOpt], name: OptName) -> Option<SockOpt> {
    opts.iter().rev().find(|o| o.recorded() == Some(name)).copied()
}

/// Short spelling of a recorded option's value, for messages (`SO_LINGER on 5 s`).
pub fn show(o: &SockOpt) -> String {
    let b = |on: bool| if on { "on" } else { "off" };
    let v = match *o {
        SockOpt::PeekOff(-1) => "off".into(),
        SockOpt::PeekOff(v) | SockOpt::Priority(v) | SockOpt::RcvLowat(v) | SockOpt::TcpKeepCnt(v) => v.to_string(),
        SockOpt::TcpKeepIdle(v) | SockOpt::TcpKeepIntvl(v) => format!("{v} s"),
        SockOpt::Mark(v) => v.to_string(),
        SockOpt::TcpUserTimeout(v) => format!("{v} ms"),
        SockOpt::RcvTimeo(us) | SockOpt::SndTimeo(us) => format!("{us} µs"),
        SockOpt::Linger { on, secs } => format!("{} {secs} s", b(on)),
        SockOpt::KeepAlive(on)
        | SockOpt::PassSec(on)
        | SockOpt::Broadcast(on)
        | SockOpt::OobInline(on)
        | SockOpt::TcpNoDelay(on)
        | SockOpt::TcpCork(on) => b(on).into(),
        other => return format!("{other:?}"),
    };
    match o.recorded() {
        Some(n) => format!("{} {v}", n.c_name()),
        None => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_round_trips_through_the_record() {
        let opts = vec![
            SockOpt::PeekOff(3),
            SockOpt::KeepAlive(true),
            SockOpt::Linger { on: false, secs: 9 },
            SockOpt::RcvTimeo(1_500_000),
            SockOpt::SndTimeo(4000),
            SockOpt::Priority(5),
            SockOpt::Mark(77),
            SockOpt::RcvLowat(10),
            SockOpt::PassSec(true),
            SockOpt::Broadcast(true),
            SockOpt::OobInline(false),
            SockOpt::TcpNoDelay(true),
            SockOpt::TcpCork(true),
            SockOpt::TcpKeepIdle(100),
            SockOpt::TcpKeepIntvl(10),
            SockOpt::TcpKeepCnt(4),
            SockOpt::TcpUserTimeout(3000),
        ];
        let r = encode(7, &opts);
        assert_eq!(r.recorded, (1 << 17) - 1);
        assert_eq!(decode(&r), Ok(opts));
        assert_eq!(decode(&encode(7, &[])), Ok(vec![]));
    }

    #[test]
    fn values_of_options_not_recorded_and_impossible_values_are_refused() {
        let mut r = encode(7, &[SockOpt::KeepAlive(true)]);
        r.mark = 5;
        assert_eq!(decode(&r).map_err(|b| b.field), Err("mark"));
        let mut r = encode(7, &[]);
        r.on = wire::SOCKOPT_ON_CORK;
        assert_eq!(decode(&r).map_err(|b| b.field), Err("on"));
        assert_eq!(decode(&encode(7, &[SockOpt::PeekOff(-2)])).map_err(|b| b.field), Err("peek_off"));
        assert_eq!(decode(&encode(7, &[SockOpt::TcpKeepCnt(0)])).map_err(|b| b.field), Err("keepcnt"));
        let r = SockOptRepr { recorded: 1 << 20, ..Default::default() };
        assert_eq!(decode(&r).map_err(|b| b.field), Err("recorded"));
    }

    #[test]
    fn tcp_options_apply_to_tcp_and_passsec_to_unix() {
        assert!(OptKind::Unix.names().all(|n| !n.is_tcp()));
        assert!(OptKind::Udp.names().all(|n| !n.is_tcp() && n != OptName::PassSec));
        assert!(OptKind::Tcp.names().any(|n| n == OptName::TcpCork));
        assert!(OptKind::Unix.names().any(|n| n == OptName::PassSec));
    }
}
