//! Shared code of the `restore` and `checkpoint` binaries.
