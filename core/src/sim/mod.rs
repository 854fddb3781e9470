//! The simulated AF_UNIX kernel and the operation type it shares with the native executor.

pub mod inet;
pub mod kernel;
pub mod ops;
pub mod rule;
pub mod state;
pub mod unix;

pub use crate::sock::{SkState, SsState};
pub use inet::{HostAddr, HostAddrs, HostRoute, InetSock, RouteLookup, Routes};
pub use ops::{
    Block, Errno, How, InetFamily, Op, OptName, Outcome, Payload, Slot, SockAddr, SockOpt, SockType, Sysctl,
};
pub use rule::{Explanation, Refusal, Rule};
pub use state::{Kernel, SimSock, Skb, SockRef};
