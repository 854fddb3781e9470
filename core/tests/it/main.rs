//! Integration tests of resocket-core (one binary, modules by topic).

mod roundtrip;
