//! Skb sizes and what a send charges its sender: `unix_stream_sendmsg`'s cut and
//! `sock_alloc_send_pskb`'s wait.

use crate::sim::ops::Block;
use crate::sim::state::{truesize, Kernel, SockRef};

/// The largest skb `unix_stream_sendmsg` makes, whatever the sndbuf: `SKB_MAX_HEAD(0) +
/// UNIX_SKB_FRAGS_SZ`, 3,776 + 32,768 bytes with 4 KiB pages on x86_64 (checked on 6.18:
/// `differential::regressions::a_big_stream_send_is_split_at_the_kernels_skb_size`).
/// DEVIATION: other page sizes and `struct skb_shared_info` sizes give other values.
pub const UNIX_STREAM_SKB_MAX: usize = 3_776 + 32_768;

/// The largest datagram (or seqpacket record) `unix_dgram_sendmsg` can make into one skb,
/// whatever the sndbuf: a head of at most `KMALLOC_MAX_SIZE` (4 MiB) less its aligned `struct
/// skb_shared_info` (320 bytes), plus `MAX_SKB_FRAGS` (17) pages; one byte more gives ENOBUFS
/// from `sock_alloc_send_pskb` (checked on 6.18 for both types: `differential::regressions::`
/// `a_datagram_past_the_skb_maximum_gets_enobufs_whatever_the_sndbuf`).
/// DEVIATION: other page sizes, `MAX_SKB_FRAGS` and `MAX_PAGE_ORDER` configurations give other
/// values, and under memory fragmentation the order-10 head allocation can fail for a smaller
/// datagram too (ENOBUFS then depends on the machine's state; the model says it never does).
pub const UNIX_DGRAM_MAX: usize = 4_194_304 - 320 + 17 * 4_096;

/// The size of the skbs `unix_stream_sendmsg` cuts a send into on a socket with this sndbuf:
/// at most sndbuf/2 - 64 bytes ("keep two messages in the pipe") and `UNIX_STREAM_SKB_MAX`.
pub fn stream_chunk(sndbuf: i64) -> usize {
    usize::try_from((sndbuf >> 1) - 64).unwrap_or(0).clamp(1, UNIX_STREAM_SKB_MAX)
}

/// What a stream send of `len` bytes charges its sender in all, cut at `chunk`.
pub fn stream_truesize(len: usize, chunk: usize) -> i64 {
    let chunk = chunk.max(1);
    let full = len / chunk;
    let rest = len % chunk;
    full as i64 * truesize(chunk) + if rest > 0 { truesize(rest) } else { 0 }
}

impl Kernel {
    pub(in crate::sim) fn charge(&mut self, from: SockRef, len: usize) -> Result<i64, Block> {
        let s = &self.socks[from];
        // sock_alloc_send_pskb: wait while wmem_alloc >= sndbuf (checked before allocating).
        if s.wmem >= s.sndbuf {
            return Err(Block::SndBuf { wmem: s.wmem, sndbuf: s.sndbuf });
        }
        let t = truesize(len);
        self.socks[from].wmem += t;
        Ok(t)
    }
}
