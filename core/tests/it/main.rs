//! Integration tests of resocket-core (one binary, modules by topic).

mod mutate;
mod plan_props;
mod roundtrip;
mod sim;
