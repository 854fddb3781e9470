//! CRIU image framing: `[IMG_COMMON | IMG_SERVICE] MAGIC { u32 SIZE, PAYLOAD[SIZE], [EXTRA] }`.
//!
//! [`Head::parse`] reads the one or two leading magics; [`Entries`] frames the entries after
//! them, zero-copy, and stops after its first error. The extra blob after an entry (a packet's
//! payload in sk-queues.img, a tcp-stream's queues) has a length that only the decoded
//! payload knows, so the iterator asks a caller-supplied function for it: every size is
//! checked against the bytes that remain before anything is read, and nothing is allocated.

use crate::wire::{le_u32_at, Framed};
use std::ops::Range;

/// `IMG_COMMON_MAGIC`: first word of every image except inventory (and the service images).
pub const IMG_COMMON: u32 = 0x5456_4319;
/// `IMG_SERVICE_MAGIC`: first word of stats and irmap-cache images.
pub const IMG_SERVICE: u32 = 0x5510_5940;

macro_rules! magics {
    ($( $name:ident = $value:literal, $crit:literal; )*) => {
        /// The per-image magics CRIU defines (criu/include/magic.h), with crit's names.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Magic { $( $name, )* }

        impl Magic {
            /// Every known magic.
            pub const ALL: &'static [Magic] = &[$(Magic::$name,)*];
            /// The 32-bit value.
            pub fn value(self) -> u32 { match self { $(Magic::$name => $value,)* } }
            /// crit's name (`"FILES"`).
            pub fn crit_name(self) -> &'static str { match self { $(Magic::$name => $crit,)* } }
            /// The magic of a value, if CRIU defines it.
            pub fn from_value(v: u32) -> Option<Magic> {
                match v { $($value => Some(Magic::$name),)* _ => None }
            }
        }
    };
}

magics! {
    Inventory = 0x5831_3116, "INVENTORY";
    Pstree = 0x5027_3030, "PSTREE";
    Fdinfo = 0x5621_3732, "FDINFO";
    Pagemap = 0x5608_4025, "PAGEMAP";
    Core = 0x5505_3847, "CORE";
    Ids = 0x5443_2030, "IDS";
    Vmas = 0x5412_3737, "VMAS";
    Pipes = 0x5651_3555, "PIPES";
    PipesData = 0x5645_3709, "PIPES_DATA";
    Fifo = 0x5836_4939, "FIFO";
    FifoData = 0x5933_3054, "FIFO_DATA";
    Sigact = 0x5534_4201, "SIGACT";
    Unixsk = 0x5437_3943, "UNIXSK";
    Inetsk = 0x5644_3851, "INETSK";
    Packetsk = 0x6045_4618, "PACKETSK";
    Itimers = 0x5746_4056, "ITIMERS";
    PosixTimers = 0x5260_3957, "POSIX_TIMERS";
    SkQueues = 0x5626_4026, "SK_QUEUES";
    Utsns = 0x5447_3203, "UTSNS";
    Creds = 0x5402_3547, "CREDS";
    IpcVar = 0x5311_5007, "IPC_VAR";
    IpcnsShm = 0x4628_3044, "IPCNS_SHM";
    IpcnsMsg = 0x5545_3737, "IPCNS_MSG";
    IpcnsSem = 0x5957_3019, "IPCNS_SEM";
    RegFiles = 0x5036_3636, "REG_FILES";
    ExtFiles = 0x5925_5641, "EXT_FILES";
    Fs = 0x5140_3912, "FS";
    Mm = 0x5749_2820, "MM";
    RemapFpath = 0x5913_3954, "REMAP_FPATH";
    GhostFile = 0x5258_3605, "GHOST_FILE";
    TcpStream = 0x5146_5506, "TCP_STREAM";
    EventfdFile = 0x4452_3722, "EVENTFD_FILE";
    EventpollFile = 0x4502_3858, "EVENTPOLL_FILE";
    EventpollTfd = 0x4443_3746, "EVENTPOLL_TFD";
    Signalfd = 0x5732_3820, "SIGNALFD";
    InotifyFile = 0x4842_4431, "INOTIFY_FILE";
    InotifyWd = 0x5456_2009, "INOTIFY_WD";
    Mnts = 0x5556_3928, "MNTS";
    Netdev = 0x5737_3951, "NETDEV";
    Netns = 0x5593_3752, "NETNS";
    TtyFiles = 0x5943_3025, "TTY_FILES";
    TtyInfo = 0x5945_3036, "TTY_INFO";
    TtyData = 0x5941_3026, "TTY_DATA";
    FileLocks = 0x5432_3616, "FILE_LOCKS";
    Rlimit = 0x5711_3925, "RLIMIT";
    FanotifyFile = 0x5509_6122, "FANOTIFY_FILE";
    FanotifyMark = 0x5650_6035, "FANOTIFY_MARK";
    Signal = 0x5925_5647, "SIGNAL";
    NetlinkSk = 0x5800_5614, "NETLINK_SK";
    NsFiles = 0x6139_4011, "NS_FILES";
    Tunfile = 0x5714_3751, "TUNFILE";
    Cgroup = 0x5938_3330, "CGROUP";
    Timerfd = 0x5049_3712, "TIMERFD";
    Cpuinfo = 0x6140_4013, "CPUINFO";
    Userns = 0x5547_4906, "USERNS";
    Seccomp = 0x6441_3049, "SECCOMP";
    BinfmtMisc = 0x6734_3323, "BINFMT_MISC";
    Autofs = 0x4935_3943, "AUTOFS";
    Files = 0x5630_3138, "FILES";
    MemfdInode = 0x4845_3499, "MEMFD_INODE";
    Timens = 0x4311_4433, "TIMENS";
    Pidns = 0x6115_7326, "PIDNS";
    BpfmapFile = 0x5750_6142, "BPFMAP_FILE";
    BpfmapData = 0x6432_4033, "BPFMAP_DATA";
    Apparmor = 0x5942_3047, "APPARMOR";
    Pidfd = 0x5443_5556, "PIDFD";
    Stats = 0x5709_3306, "STATS";
    IrmapCache = 0x5700_4059, "IRMAP_CACHE";
    Kdat = 0x5702_3458, "KDAT";
}

/// The image leading magics, and where the entries start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// `IMG_COMMON`/`IMG_SERVICE`, or `None` when the file has only its image magic
    /// (inventory.img of v1.1 images, and images older than v1.1).
    pub first: Option<u32>,
    /// The image magic, as a raw value.
    pub magic: u32,
    /// Offset of the first entry (4 or 8).
    pub body: usize,
}

/// A framing error, with the byte offset it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The file is too short for its magics.
    #[error("file of {len} bytes is too short for its magic (4 or 8 bytes)")]
    ShortHead { len: usize },
    /// Fewer than 4 bytes where an entry's size should be.
    #[error("truncated size field at offset {offset}: {remaining} bytes left, 4 needed")]
    TruncatedSize { offset: usize, remaining: usize },
    /// The size runs past the end of the file.
    #[error("entry at offset {offset} has size {size} but only {remaining} bytes remain")]
    SizePastEnd { offset: usize, size: u32, remaining: usize },
    /// An extra blob runs past the end of the file.
    #[error("entry at offset {offset} is followed by {len} bytes of payload but only {remaining} remain")]
    ExtraPastEnd { offset: usize, len: u64, remaining: usize },
}

impl FrameError {
    /// The byte offset the error is about.
    pub fn offset(&self) -> usize {
        match *self {
            FrameError::ShortHead { .. } => 0,
            FrameError::TruncatedSize { offset, .. }
            | FrameError::SizePastEnd { offset, .. }
            | FrameError::ExtraPastEnd { offset, .. } => offset,
        }
    }
}

impl Head {
    /// Read the magics: a first word IMG_COMMON/IMG_SERVICE is followed by the image magic;
    /// any other first word is the image magic itself (as crit reads it).
    pub fn parse(data: &[u8]) -> Result<Head, FrameError> {
        let short = FrameError::ShortHead { len: data.len() };
        let w0 = le_u32_at(data, 0).ok_or(short.clone())?;
        if w0 == IMG_COMMON || w0 == IMG_SERVICE {
            let magic = le_u32_at(data, 4).ok_or(short)?;
            Ok(Head { first: Some(w0), magic, body: 8 })
        } else {
            Ok(Head { first: None, magic: w0, body: 4 })
        }
    }
}

/// One framed entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Index in the file, from 0.
    pub index: usize,
    /// Offset of the size field.
    pub offset: usize,
    /// The protobuf payload.
    pub payload: &'a [u8],
    /// The extra blob after the payload (empty when the image has none).
    pub extra: &'a [u8],
}

impl Entry<'_> {
    /// Bytes of the payload in the file.
    pub fn payload_range(&self) -> Range<usize> {
        self.offset + 4..self.offset + 4 + self.payload.len()
    }
    /// Bytes of the extra blob in the file.
    pub fn extra_range(&self) -> Range<usize> {
        let s = self.payload_range().end;
        s..s + self.extra.len()
    }
    /// The whole entry: size field, payload, extra.
    pub fn range(&self) -> Range<usize> {
        self.offset..self.extra_range().end
    }
}

/// How long the extra blob after a payload is (0: none). Returns `None` when the payload
/// cannot be read far enough to say; the entry then has no extra and the decoder reports it.
pub type ExtraLen = fn(&[u8]) -> u64;

/// Iterator over the entries of an image body; fuses after its first error (the framing loop
/// is `wire::Framed`, shared with the record stream's).
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    framed: Framed<'a>,
    index: usize,
    extra: Option<ExtraLen>,
}

impl<'a> Entries<'a> {
    /// Frame `data` (the whole file) from `body`; `extra` gives each entry's extra length.
    pub fn new(data: &'a [u8], body: usize, extra: Option<ExtraLen>) -> Self {
        Entries { framed: Framed::new(data, body), index: 0, extra }
    }
    /// Offset of the next entry.
    pub fn position(&self) -> usize {
        self.framed.position()
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (index, extra_len) = (self.index, self.extra);
        let entry = self.framed.next_with(|offset, rest| {
            let Some(size) = le_u32_at(rest, 0) else {
                return Err(FrameError::TruncatedSize { offset, remaining: rest.len() });
            };
            let after = rest.get(4..).unwrap_or(&[]);
            let Some(payload) = after.get(..size as usize) else {
                return Err(FrameError::SizePastEnd { offset, size, remaining: after.len() });
            };
            let after = after.get(payload.len()..).unwrap_or(&[]);
            let xlen = extra_len.map_or(0, |f| f(payload));
            let Some(extra) = usize::try_from(xlen).ok().and_then(|n| after.get(..n)) else {
                return Err(FrameError::ExtraPastEnd { offset, len: xlen, remaining: after.len() });
            };
            Ok((Entry { index, offset, payload, extra }, 4 + payload.len() + extra.len()))
        });
        if matches!(entry, Some(Ok(_))) {
            self.index += 1;
        }
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn image(magic: u32, entries: &[&[u8]]) -> Vec<u8> {
        let mut v = IMG_COMMON.to_le_bytes().to_vec();
        v.extend(magic.to_le_bytes());
        for e in entries {
            v.extend((e.len() as u32).to_le_bytes());
            v.extend(*e);
        }
        v
    }

    #[test]
    fn frames_entries_and_stops_at_first_error() {
        let mut data = image(Magic::Files.value(), &[b"\x08\x01", b""]);
        let head = Head::parse(&data).unwrap();
        assert_eq!((head.first, head.magic, head.body), (Some(IMG_COMMON), Magic::Files.value(), 8));
        let e: Vec<_> = Entries::new(&data, head.body, None).collect();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].as_ref().unwrap().payload_range(), 12..14);
        data.extend([9, 0, 0, 0, 1]);
        let e: Vec<_> = Entries::new(&data, head.body, None).collect();
        assert_eq!(e.len(), 3);
        assert_eq!(e[2], Err(FrameError::SizePastEnd { offset: 18, size: 9, remaining: 1 }));
        data.truncate(20);
        let e: Vec<_> = Entries::new(&data, head.body, None).collect();
        assert_eq!(e[2], Err(FrameError::TruncatedSize { offset: 18, remaining: 2 }));
    }

    #[test]
    fn single_magic_and_extras() {
        let data = [Magic::Inventory.value().to_le_bytes().as_slice(), &[1, 0, 0, 0, 0x08, 2, 2]].concat();
        let head = Head::parse(&data).unwrap();
        assert_eq!((head.first, head.body), (None, 4));
        let e: Vec<_> = Entries::new(&data, 4, Some(|_| 2)).collect();
        assert_eq!(e.len(), 1);
        let e: Vec<_> = Entries::new(&data, 4, Some(|_| 3)).collect();
        assert!(matches!(e[0], Err(FrameError::ExtraPastEnd { offset: 4, len: 3, remaining: 2 })));
        let e: Vec<_> = Entries::new(&data, 4, Some(|_| u64::MAX)).collect();
        assert!(e[0].is_err());
        assert_eq!(Head::parse(&[1, 2]), Err(FrameError::ShortHead { len: 2 }));
    }

    #[test]
    fn magics_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for &m in Magic::ALL {
            assert!(seen.insert(m.value()), "{m:?}");
            assert_eq!(Magic::from_value(m.value()), Some(m));
        }
    }
}
