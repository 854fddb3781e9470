//! The AF_UNIX rules of the simulated kernel, one file per job; [`Kernel::apply`]
//! (`sim/kernel.rs`) calls them. Each file uses `sim/state.rs` (the state and its primitives);
//! `release` (dropping references and queues), `buffers` (skb sizes and charges) and `names`
//! (bind, unlink, the lookup) use nothing else; `connect` (listen, connect, accept) uses
//! `names` and `release`, `io` (send, receive) those and `buffers`. None uses `sim/kernel.rs`.
//!
//! [`Kernel::apply`]: super::Kernel::apply

pub mod buffers;
mod connect;
mod io;
mod names;
mod release;
