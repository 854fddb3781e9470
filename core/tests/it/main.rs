//! Integration tests of resocket-core (one binary, modules by topic). The proptest modules run
//! natively only; the others also run on wasm32 in node (`./x test`).

mod archive;
mod chunked;
#[cfg(not(target_arch = "wasm32"))]
mod criu;
mod extpeer;
mod fuzz_found;
mod inet_routes;
mod inet_sim;
mod lesson;
#[cfg(not(target_arch = "wasm32"))]
mod lesson_mutate;
#[cfg(not(target_arch = "wasm32"))]
mod mutate;
mod oob;
#[cfg(not(target_arch = "wasm32"))]
mod plan_props;
mod roundtrip;
mod sim;
mod sockopt;
mod urgent;
mod warn;
