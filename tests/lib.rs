//! Cross-crate tests live in `it/`; this library is empty on purpose (a package needs a target).
