//! The files CRIU writes with iproute2 for a network namespace: `ifaddr-N.img` (`ip addr save`),
//! `route-N.img` (`ip route save`) and `route6-N.img` (`ip -6 route save`) — criu/net.c
//! `dump_ifaddr`, `dump_route`. CRIU writes the tool's output raw (RAW_IMAGE_MAGIC: no
//! IMG_COMMON word, no CRIU magic) and feeds it back to `ip addr restore` / `ip route restore`.
//! iproute2's format (ip/ipaddress.c `ipadd_save_prep`, ip/iproute.c `iproute_dump_magic`,
//! `save_nlmsg`; lib/libnetlink.c `rtnl_from_file`): a u32 magic in host byte order, then the
//! kernel's netlink messages as the dump gave them, each `nlmsg_len` bytes (a 16-byte
//! `nlmsghdr` that counts itself), the next one `NLMSG_ALIGN(nlmsg_len)` further on. A message
//! is a fixed family header (`ifaddrmsg`, 8 bytes; `rtmsg`, 12) and `rtattr`s (`rta_len`
//! counting its 4-byte header, the next one `RTA_ALIGN(rta_len)` further on). Layouts:
//! `include/uapi/linux/netlink.h`, `rtnetlink.h`, `if_addr.h`.
//!
//! Read by hand rather than with `netlink-packet-route`: that crate (0.34) does not build for
//! wasm32-unknown-unknown (its address families come from `libc`, which has none there), and
//! resocket reads only the headers and a few attributes. Every `nlmsg_len` and `rta_len` is
//! checked against the bytes that remain before it is used, nothing is allocated from one, and
//! the reader stops at the first error, which carries its byte offset. [`super::ifaddr`] reads
//! the addresses, [`super::route`] the routes.

use std::ops::Range;

/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HDRLEN: usize = 16;

/// Which `ip … save` output a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dump {
    /// `ip addr save` (ifaddr-N.img): `RTM_NEWADDR` messages.
    Addr,
    /// `ip route save`, `ip -6 route save` (route-N.img, route6-N.img): `RTM_NEWROUTE` messages.
    Route,
}

impl Dump {
    /// The first word of the tool's output (`ipadd_dump_magic`, `route_dump_magic`).
    pub fn magic(self) -> u32 {
        match self {
            Dump::Addr => 0x4736_1222,
            Dump::Route => 0x4531_1224,
        }
    }
    /// The only message type the tool writes (`RTM_NEWADDR` 20, `RTM_NEWROUTE` 24).
    pub fn msg_type(self) -> u16 {
        match self {
            Dump::Addr => 20,
            Dump::Route => 24,
        }
    }
    /// The family header after the `nlmsghdr`: `sizeof(struct ifaddrmsg)`, `sizeof(struct rtmsg)`.
    pub fn head_len(self) -> usize {
        match self {
            Dump::Addr => 8,
            Dump::Route => 12,
        }
    }
    /// The command that writes it.
    pub fn tool(self) -> &'static str {
        match self {
            Dump::Addr => "ip addr save",
            Dump::Route => "ip route save",
        }
    }
    /// The message type's name.
    pub fn type_name(self) -> &'static str {
        match self {
            Dump::Addr => "RTM_NEWADDR",
            Dump::Route => "RTM_NEWROUTE",
        }
    }
    /// The family header's name.
    pub fn head_name(self) -> &'static str {
        match self {
            Dump::Addr => "ifaddrmsg",
            Dump::Route => "rtmsg",
        }
    }
    /// The name resocket gives the magic (there is no CRIU name for it).
    pub fn magic_name(self) -> &'static str {
        match self {
            Dump::Addr => "IP_ADDR_SAVE",
            Dump::Route => "IP_ROUTE_SAVE",
        }
    }
}

pub(crate) fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

pub(crate) fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

pub(crate) fn u16_le(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

/// A netlink framing or attribute error, with the byte offset (in the file) it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NlError {
    /// The file is too short for the magic, or starts with another word.
    #[error("does not start with `{}`'s magic {:#010x} (found {found})", dump.tool(), dump.magic())]
    BadMagic { dump: Dump, found: String },
    /// Fewer than 16 bytes where a message header should be.
    #[error("truncated netlink header at offset {offset}: {remaining} bytes left, 16 needed")]
    TruncatedHeader { offset: usize, remaining: usize },
    /// `nlmsg_len` smaller than the headers it must hold.
    #[error("nlmsg_len {len} at offset {offset} is less than the {need} bytes of nlmsghdr + {}", dump.head_name())]
    LengthTooShort { dump: Dump, offset: usize, len: u32, need: usize },
    /// `nlmsg_len` runs past the end of the file.
    #[error("message at offset {offset} has nlmsg_len {len} but only {remaining} bytes remain")]
    LengthPastEnd { offset: usize, len: u32, remaining: usize },
    /// A message of another type than the dump's.
    #[error("message at offset {offset} has nlmsg_type {ty}, not {} ({})", dump.type_name(), dump.msg_type())]
    WrongType { dump: Dump, offset: usize, ty: u16 },
    /// Fewer than 4 bytes (but some) where an attribute header should be.
    #[error("truncated rtattr header at offset {offset}: {remaining} bytes left in the message, 4 needed")]
    TruncatedAttr { offset: usize, remaining: usize },
    /// `rta_len` below its own header.
    #[error("rta_len {len} at offset {offset} is less than the 4-byte rtattr header")]
    AttrTooShort { offset: usize, len: u16 },
    /// `rta_len` runs past the end of its message.
    #[error("attribute at offset {offset} has rta_len {len} but only {remaining} bytes remain in its message")]
    AttrPastEnd { offset: usize, len: u16, remaining: usize },
    /// An address attribute of the wrong length for the family.
    #[error("{attr} at offset {offset} is {len} bytes, not the {need} of an {family} address")]
    BadAddrLen { offset: usize, attr: &'static str, len: usize, need: usize, family: &'static str },
    /// A u32 attribute (`IFA_FLAGS`, `RTA_OIF`, …) that is not 4 bytes.
    #[error("{attr} at offset {offset} is {len} bytes, not 4")]
    BadU32Len { offset: usize, attr: &'static str, len: usize },
}

/// What kind of error an [`NlError`] is, for the diagnostic codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NlErrorKind {
    /// The magic.
    Magic,
    /// The bytes end inside a header.
    Truncated,
    /// A length runs past the end.
    PastEnd,
    /// A length, type or size that is wrong in itself.
    Malformed,
}

impl NlError {
    /// The byte offset the error is about.
    pub fn offset(&self) -> usize {
        match *self {
            NlError::BadMagic { .. } => 0,
            NlError::TruncatedHeader { offset, .. }
            | NlError::LengthTooShort { offset, .. }
            | NlError::LengthPastEnd { offset, .. }
            | NlError::WrongType { offset, .. }
            | NlError::TruncatedAttr { offset, .. }
            | NlError::AttrTooShort { offset, .. }
            | NlError::AttrPastEnd { offset, .. }
            | NlError::BadAddrLen { offset, .. }
            | NlError::BadU32Len { offset, .. } => offset,
        }
    }
    /// Its kind.
    pub fn kind(&self) -> NlErrorKind {
        match self {
            NlError::BadMagic { .. } => NlErrorKind::Magic,
            NlError::TruncatedHeader { .. } | NlError::TruncatedAttr { .. } => NlErrorKind::Truncated,
            NlError::LengthPastEnd { .. } | NlError::AttrPastEnd { .. } => NlErrorKind::PastEnd,
            NlError::LengthTooShort { .. }
            | NlError::WrongType { .. }
            | NlError::AttrTooShort { .. }
            | NlError::BadAddrLen { .. }
            | NlError::BadU32Len { .. } => NlErrorKind::Malformed,
        }
    }
    /// The field it is about (`nlmsg_len`, `rta_len`, `IFA_ADDRESS`, `RTA_GATEWAY`, …).
    pub fn field(&self) -> &'static str {
        match self {
            NlError::BadMagic { .. } => "magic",
            NlError::TruncatedHeader { .. } | NlError::LengthTooShort { .. } | NlError::LengthPastEnd { .. } => {
                "nlmsg_len"
            }
            NlError::WrongType { .. } => "nlmsg_type",
            NlError::TruncatedAttr { .. } | NlError::AttrTooShort { .. } | NlError::AttrPastEnd { .. } => "rta_len",
            NlError::BadAddrLen { attr, .. } | NlError::BadU32Len { attr, .. } => attr,
        }
    }
}

/// Check the magic at the start of `data`: `Ok(4)`, the offset of the first message.
pub fn head(data: &[u8], dump: Dump) -> Result<usize, NlError> {
    match u32_le(data, 0) {
        Some(v) if v == dump.magic() => Ok(4),
        Some(v) => Err(NlError::BadMagic { dump, found: format!("{v:#010x}") }),
        None => Err(NlError::BadMagic { dump, found: format!("a file of {} bytes", data.len()) }),
    }
}

/// One framed message: where it starts, its length (`nlmsg_len`), its body after the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// Index in the file, from 0.
    pub index: usize,
    /// Offset of its `nlmsghdr`.
    pub offset: usize,
    /// `nlmsg_len`: header included.
    pub len: usize,
    /// The bytes after the header (family header and attributes).
    pub body: &'a [u8],
}

impl Message<'_> {
    /// The whole message (header included, alignment padding not).
    pub fn range(&self) -> Range<usize> {
        self.offset..self.offset + self.len
    }
    /// The offset of its body in the file.
    pub fn body_offset(&self) -> usize {
        self.offset + NLMSG_HDRLEN
    }
}

/// The length of the message framed at `start` (its `nlmsg_len`), if it is one that fits: for
/// [`super::OpenedFile::entry`], which reads the framing again from the bytes.
pub fn message_len_at(data: &[u8], start: usize) -> Option<usize> {
    let len = usize::try_from(u32_le(data, start)?).ok()?;
    (len >= NLMSG_HDRLEN && start.checked_add(len)? <= data.len()).then_some(len)
}

/// Iterator over the messages of an `ip … save` stream from `pos` (after the magic); fuses
/// after its first error.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    data: &'a [u8],
    dump: Dump,
    pos: usize,
    index: usize,
    done: bool,
}

impl<'a> Messages<'a> {
    /// Frame `data` (the whole file, a `dump`) from `pos`.
    pub fn new(data: &'a [u8], pos: usize, dump: Dump) -> Self {
        Messages { data, dump, pos, index: 0, done: false }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, NlError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.pos;
        let rest = self.data.get(offset..).unwrap_or(&[]);
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        self.done = true;
        let (Some(len), Some(ty)) = (u32_le(rest, 0), u16_le(rest, 4)) else {
            return Some(Err(NlError::TruncatedHeader { offset, remaining: rest.len() }));
        };
        if rest.len() < NLMSG_HDRLEN {
            return Some(Err(NlError::TruncatedHeader { offset, remaining: rest.len() }));
        }
        let dump = self.dump;
        let need = NLMSG_HDRLEN + dump.head_len();
        let n = usize::try_from(len).unwrap_or(usize::MAX);
        if n < need {
            return Some(Err(NlError::LengthTooShort { dump, offset, len, need }));
        }
        let Some(msg) = rest.get(..n) else {
            return Some(Err(NlError::LengthPastEnd { offset, len, remaining: rest.len() }));
        };
        if ty != dump.msg_type() {
            return Some(Err(NlError::WrongType { dump, offset, ty }));
        }
        // rtnl_from_file reads NLMSG_ALIGN(len - 16) bytes after the header; the last message
        // may end unpadded.
        self.pos = offset + align4(n).min(rest.len());
        self.done = false;
        let index = self.index;
        self.index += 1;
        Some(Ok(Message { index, offset, len: n, body: &msg[NLMSG_HDRLEN..] }))
    }
}

/// One attribute: type, payload, and where its header starts in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    /// `rta_type`.
    pub ty: u16,
    /// Offset of its `rtattr` header.
    pub offset: usize,
    /// Its payload (`rta_len - 4` bytes).
    pub payload: &'a [u8],
}

impl Attr<'_> {
    /// Its payload as a u32 attribute.
    pub fn u32(&self, name: &'static str) -> Result<u32, NlError> {
        match <[u8; 4]>::try_from(self.payload) {
            Ok(b) => Ok(u32::from_le_bytes(b)),
            Err(_) => Err(NlError::BadU32Len { offset: self.offset, attr: name, len: self.payload.len() }),
        }
    }
}

/// The attributes of a message body after its `head_len`-byte family header, checked; `base`
/// is the body's offset in the file.
pub fn attrs(body: &[u8], base: usize, head_len: usize) -> Result<Vec<Attr<'_>>, NlError> {
    let mut out = Vec::new();
    let mut pos = head_len;
    while pos < body.len() {
        let offset = base + pos;
        let rest = &body[pos..];
        let (Some(len), Some(ty)) = (u16_le(rest, 0), u16_le(rest, 2)) else {
            return Err(NlError::TruncatedAttr { offset, remaining: rest.len() });
        };
        let n = usize::from(len);
        if n < 4 {
            return Err(NlError::AttrTooShort { offset, len });
        }
        let Some(a) = rest.get(..n) else {
            return Err(NlError::AttrPastEnd { offset, len, remaining: rest.len() });
        };
        out.push(Attr { ty, offset, payload: &a[4..] });
        pos += align4(n).min(rest.len());
    }
    Ok(out)
}
