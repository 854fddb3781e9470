//! Integration tests of resocket-core (one binary, modules by topic).

mod plan_props;
mod roundtrip;
mod sim;
