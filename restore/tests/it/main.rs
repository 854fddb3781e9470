//! Integration tests of the `restore` and `checkpoint` binaries (one binary, modules by topic).

mod cli;
mod criu;
mod criu_kernel;
mod differential;
mod differential_inet;
mod dump;
mod extpeer;
mod hostile_root;
mod inet_restore;
mod inline_live;
mod kernel;
mod lesson_kernel;
mod routes;
mod urgent;
