//! The simulated AF_UNIX kernel and the operation type it shares with the native executor.

pub mod kernel;
pub mod ops;

pub use kernel::{Kernel, SimSock, Skb, SockRef};
pub use ops::{Block, Errno, How, Op, Outcome, Payload, Slot, SockAddr, SockOpt, SockType, Sysctl};
