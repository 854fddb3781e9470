//! The Linux-CR record stream (ckpt-v23-rc2 layouts, x86_64, little-endian), socket subset,
//! plus resocket's documented extensions (types 8001–8099). See `docs/format.md`.
//!
//! Two levels, as in smoltcp's `wire`:
//! * [`Records`]: a framing iterator over `&[u8]` that yields [`Record`]s (type, len, bytes,
//!   offset) and stops after the first framing error. It never reads out of bounds and never
//!   allocates.
//! * one checked view per fixed-size record type (`SocketUnix::new_checked(rec)` then
//!   accessors that cannot panic), and a plain `Repr` (`SocketUnixRepr`) with `parse` and
//!   `emit`. Each record type also has a [`Layout`]: the table of its fields with their byte
//!   offsets, which the text form, `restore show` and the web hex view all use.
//!
//! The files: this one holds the format's numbers (magics, flags, families, states);
//! `wire/scalar.rs` little-endian access that cannot panic; `wire/frame.rs` record types,
//! [`Record`], [`Records`] and [`WireError`]; `wire/layout.rs` the field tables ([`Layout`],
//! [`FieldDesc`], [`Sym`]); `wire/view.rs` the `record!` macro that makes each fixed-size
//! record's view, `Repr` and `Layout`; `wire/records.rs` every record's layout (and
//! `RS_RIGHTS`, the one variable-length view), [`LAYOUTS`] and [`reemit`]; `wire/sym.rs` the
//! symbol tables. Dependencies run one way: scalar ← frame ← layout ← records (which expands
//! view's macro); none of them uses this file's re-exports of a later one.

#[macro_use]
mod view;
mod frame;
mod layout;
mod records;
mod scalar;
pub mod sym;

pub use frame::*;
pub use layout::*;
pub use records::*;
pub use scalar::*;

/// Size of the `struct ckpt_hdr` that starts every record: `{u32 type; u32 len}`.
pub const HDR_LEN: usize = 8;
/// `CHECKPOINT_MAGIC_HEAD`.
pub const MAGIC_HEAD: u64 = 0x00fe_ed0c_c0a2_d200;
/// `CHECKPOINT_MAGIC_TAIL`.
pub const MAGIC_TAIL: u64 = 0x002d_2a0c_c0de_ef00;
/// `CHECKPOINT_VERSION` of the final Linux-CR (ckpt-v20 .. v23-rc2).
pub const REV: u16 = 6;
/// `CKPT_ARCH_ID` of x86_64.
pub const ARCH_X86_64: u16 = 2;
/// Length of each utsname string buffer that follows the header (`__NEW_UTS_LEN + 1`).
pub const UTS_LEN: u16 = 65;
/// Largest SCM_RIGHTS fd count in one message (`SCM_MAX_FD`).
pub const SCM_MAX_FD: u32 = 253;
/// `sizeof(struct sockaddr_un)`.
pub const SOCKADDR_UN_LEN: usize = 110;

/// `RS_SOCKOPT.on`: `SO_KEEPALIVE` is on.
pub const SOCKOPT_ON_KEEPALIVE: u32 = 1;
/// `RS_SOCKOPT.on`: `SO_LINGER`'s `l_onoff`.
pub const SOCKOPT_ON_LINGER: u32 = 2;
/// `RS_SOCKOPT.on`: `SO_PASSSEC`.
pub const SOCKOPT_ON_PASSSEC: u32 = 4;
/// `RS_SOCKOPT.on`: `SO_BROADCAST`.
pub const SOCKOPT_ON_BROADCAST: u32 = 8;
/// `RS_SOCKOPT.on`: `SO_OOBINLINE`.
pub const SOCKOPT_ON_OOBINLINE: u32 = 16;
/// `RS_SOCKOPT.on`: `TCP_NODELAY`.
pub const SOCKOPT_ON_NODELAY: u32 = 32;
/// `RS_SOCKOPT.on`: `TCP_CORK`.
pub const SOCKOPT_ON_CORK: u32 = 64;

/// Extension: the INET socket was returned by `accept()` (its local address is its listener's).
pub const INET_ACCEPTED: u16 = 1;
/// Extension: `SO_REUSEPORT` is set (`sk_reuseport`).
pub const INET_REUSEPORT: u16 = 2;
/// Extension: `IPV6_V6ONLY` is set (`sk_ipv6only`; AF_INET6 only).
pub const INET_V6ONLY: u16 = 4;
/// All bits of `ckpt_hdr_socket_inet.rs_flags` this format defines.
pub const INET_FLAGS_KNOWN: u16 = INET_ACCEPTED | INET_REUSEPORT | INET_V6ONLY;
/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u8 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: u8 = 17;

/// `CKPT_UNIX_LINKED`: the path name was still linked in the filesystem at checkpoint.
pub const UNIX_LINKED: u32 = 1;
/// Extension: the socket was returned by `accept()`; its `laddr` is its listener's name.
pub const UNIX_ACCEPTED: u32 = 2;
/// Extension: the name was chosen by autobind (abstract, 5 hex digits).
pub const UNIX_AUTOBIND: u32 = 4;
/// Extension: a stream/seqpacket peer that existed has closed (`peer` is 0, `shutdown` is 3).
pub const UNIX_PEER_GONE: u32 = 8;
/// Extension: the peer lives outside the checkpointed processes (dump of live processes).
pub const UNIX_EXTERNAL_PEER: u32 = 16;
/// All bits of `ckpt_hdr_socket_unix.flags` this format defines.
pub const UNIX_FLAGS_KNOWN: u32 = UNIX_LINKED | UNIX_ACCEPTED | UNIX_AUTOBIND | UNIX_PEER_GONE | UNIX_EXTERNAL_PEER;

/// Object types used here.
pub const OBJ_FILE_TABLE: u32 = 3;
/// `CKPT_OBJ_FILE`.
pub const OBJ_FILE: u32 = 4;
/// `CKPT_OBJ_SOCK`.
pub const OBJ_SOCK: u32 = 17;
/// `CKPT_OBJ_MAX`.
pub const OBJ_MAX: u32 = 24;
/// `CKPT_FILE_SOCKET`.
pub const FILE_SOCKET: u32 = 4;

/// Address families.
pub const AF_UNIX: u16 = 1;
/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;
/// Socket types.
pub const SOCK_STREAM: u16 = 1;
/// `SOCK_DGRAM`.
pub const SOCK_DGRAM: u16 = 2;
/// `SOCK_SEQPACKET`.
pub const SOCK_SEQPACKET: u16 = 5;
/// `SS_UNCONNECTED`.
pub const SS_UNCONNECTED: u8 = 1;
/// `SS_CONNECTING` (only embryos, as `/proc/net/unix` shows them).
pub const SS_CONNECTING: u8 = 2;
/// `SS_CONNECTED`.
pub const SS_CONNECTED: u8 = 3;
/// `TCP_ESTABLISHED`.
pub const TCP_ESTABLISHED: u8 = 1;
/// `TCP_CLOSE`.
pub const TCP_CLOSE: u8 = 7;
/// `TCP_LISTEN`.
pub const TCP_LISTEN: u8 = 10;
/// `RCV_SHUTDOWN | SEND_SHUTDOWN`.
pub const SHUTDOWN_MASK: u8 = 3;
/// FILE `f_flags`: `O_RDWR`.
pub const O_RDWR: u32 = 0o2;
/// FILE `f_flags`: `O_NONBLOCK`.
pub const O_NONBLOCK: u32 = 0o4000;
/// SOCKET `socket_flags`: `SOCK_PASSCRED` (bit 3 of `struct socket.flags`).
pub const SOCK_PASSCRED: u64 = 1 << 3;

/// Length a `sockaddr_un` occupies given its `sun_path` bytes as the kernel reports it.
pub fn unix_addr_len(path: &[u8]) -> u32 {
    2 + path.len() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn layouts_have_their_documented_sizes_and_no_overlaps() {
        for l in LAYOUTS {
            let mut end = HDR_LEN;
            for f in l.fields {
                assert!(f.offset >= end, "{} field {} overlaps", l.ty, f.name);
                end = f.offset + f.size;
            }
            assert!(end <= l.size, "{} overruns its size", l.ty);
            assert_eq!(l.size % 8, 0, "{} is not 8-aligned", l.ty);
        }
        assert_eq!(SOCKET_LAYOUT.size, 120);
        assert_eq!(SOCKET_UNIX_LAYOUT.size, 256);
        assert_eq!(SOCKET_INET_LAYOUT.size, 328);
        assert_eq!(SOCKET_BUFFER_LAYOUT.size, 104);
    }

    #[test]
    fn the_layout_jump_table_matches_the_list() {
        for (i, l) in LAYOUTS.iter().enumerate() {
            assert_eq!(layout_index(l.ty), Some(i), "{}", l.ty);
        }
        assert_eq!(layout_index(RecordType::BUFFER), None);
    }

    #[test]
    fn framing_stops_after_first_error() {
        let mut img = Vec::new();
        emit_raw(&mut img, RecordType::BUFFER, b"abc");
        img.extend_from_slice(&[5, 0, 0, 0, 4, 0, 0, 0]); // len 4 < 8
        emit_raw(&mut img, RecordType::BUFFER, b"never seen");
        let recs: Vec<_> = Records::new(&img).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1], Err(WireError::LenTooSmall { offset: 11, len: 4 }));
    }

    #[test]
    fn framing_reports_past_end_and_truncation() {
        let img = [4u8, 0, 0, 0, 200, 0, 0, 0, 1, 2];
        assert_eq!(Records::new(&img).next(), Some(Err(WireError::PastEnd { offset: 0, len: 200, remaining: 10 })));
        assert_eq!(Records::new(&img[..5]).next(), Some(Err(WireError::TruncatedHeader { offset: 0, remaining: 5 })));
    }

    #[test]
    fn repr_round_trips() {
        let repr = SocketUnixRepr { this: 3, peer: 4, laddr_family: 1, laddr_len: 7, ..Default::default() };
        let mut out = Vec::new();
        repr.emit(&mut out);
        let rec = Records::new(&out).next().unwrap().unwrap();
        let view = SocketUnix::new_checked(rec).unwrap();
        assert_eq!(SocketUnixRepr::parse(&view), repr);
        assert!(matches!(Socket::new_checked(rec), Err(WireError::WrongType { expected: RecordType::SOCKET, .. })));
    }

    #[test]
    fn rights_len_must_match_count() {
        let mut out = Vec::new();
        RightsRepr { objrefs: vec![7, 8] }.emit(&mut out);
        let rec = Records::new(&out).next().unwrap().unwrap();
        assert_eq!(RightsRepr::parse(&Rights::new_checked(rec).unwrap()).objrefs, vec![7, 8]);
        out[8] = 200; // nr_fds 200 with two entries
        let rec = Records::new(&out).next().unwrap().unwrap();
        assert!(Rights::new_checked(rec).is_err());
    }
}
