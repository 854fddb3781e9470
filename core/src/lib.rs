//! `resocket-core`: the pure, I/O-free heart of resocket.
//!
//! * [`wire`] — the Linux-CR record stream: framing iterator, one checked zero-copy view per
//!   record type (`new_checked` + accessors that cannot panic) and a plain `Repr` with
//!   `parse`/`emit` for each.
//! * [`image`] — the socket-level model of an image (sockets by objref, fd tables, queues with
//!   message boundaries, pending connections) and the reader that builds it while validating.
//! * [`diag`] — diagnostics: stable code, severity, byte range, record, message, help.
//! * [`text`] — the lossless JSON text form of the record stream (`decode`/`encode`).
//! * [`scenario`] — the readable, high-level scenario form, and the writer that turns a model
//!   into canonical image bytes.
//! * [`edit`] — editing operations on a scenario, and reading an image back into one.
//! * [`share`] — share links: a scenario in a URL fragment (bincode + base64url).
//! * [`warn`] — warnings of plans and dumps: stable code, effect, objref, step, message.
//! * [`criu`] — CRIU image directories: framing, prost messages, a protobuf wire walker,
//!   cross-image checks, the mapping onto a scenario (with named notes) and crit-shaped JSON.
//! * [`archive`] — checkpoint archives (tar, tar.gz, tar.zst; Podman and CRI-O layouts).
//! * [`sockopt`] — the socket options of `RS_SOCKOPT`: which apply to which socket, and the
//!   record to and from [`sim::SockOpt`] values.
//! * [`lesson`] — guided lessons: the format, the built-in lessons, running one on the simulator.
//! * [`synth`] — deterministic generators of large images (fixtures and benchmarks).
//!
//! Nothing here performs I/O, reads a clock or uses randomness; everything builds for
//! `wasm32-unknown-unknown`.

pub mod archive;
pub mod bstr;
pub mod check;
pub mod codec;
pub mod criu;
pub mod detect;
pub mod diag;
pub mod diff;
pub mod edit;
pub mod image;
pub mod lesson;
pub mod order;
pub mod plan;
pub mod scenario;
pub mod share;
pub mod sim;
pub mod sock;
pub mod sockopt;
pub mod summary;
pub mod synth;
pub mod text;
pub mod warn;
pub mod wire;

pub use diag::{Code, Diagnostic, Severity};
pub use image::{load, Image, Report};
