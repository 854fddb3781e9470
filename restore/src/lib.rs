//! Shared code of the `restore` and `checkpoint` binaries: reading inputs and rendering the
//! `show` and `check` reports. Everything about the format itself lives in `resocket-core`.

pub mod diag_inet;
pub mod diag_unix;
pub mod dump;
pub mod exec;
pub mod fsroot;
pub mod host;
pub mod input;
pub mod raw;
pub mod render;
pub mod render_criu;
pub mod render_lesson;
pub mod run;
pub mod sockopt_io;
mod verify_inet;

use std::path::Path;

/// Exit code: the image is valid / the command succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code: the image is invalid.
pub const EXIT_INVALID: u8 = 1;
/// Exit code: usage or I/O error.
pub const EXIT_USAGE: u8 = 2;

/// A CLI failure with its exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    /// What went wrong.
    pub message: String,
    /// Exit code to use.
    pub code: u8,
}

impl CliError {
    /// A usage or I/O error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError { message: message.into(), code: EXIT_USAGE }
    }
}

/// Largest image the CLI reads (raise with `--max-bytes`).
pub const DEFAULT_MAX_BYTES: u64 = 4 << 30;

/// Read a file, refusing anything larger than `max` bytes before reading it.
pub fn read_input(path: &Path, max: u64) -> Result<Vec<u8>, CliError> {
    let meta = std::fs::metadata(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(CliError::usage(format!("{}: not a regular file", path.display())));
    }
    if meta.len() > max {
        return Err(CliError::usage(format!(
            "{}: {} bytes is more than the limit of {max} (raise it with --max-bytes)",
            path.display(),
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
}

/// Write a file atomically enough for a CLI: to a temporary sibling, then rename.
pub fn write_output(path: &Path, data: &[u8]) -> Result<(), CliError> {
    let tmp = path.with_extension("tmp-resocket");
    std::fs::write(&tmp, data).map_err(|e| CliError::usage(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CliError::usage(format!("{}: {e}", path.display()))
    })
}

/// Turn a JSON source (a scenario, or the record-level text form) into image bytes.
pub fn encode_source(text: &str) -> Result<Vec<u8>, CliError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| CliError { message: format!("not JSON: {e}"), code: EXIT_INVALID })?;
    let invalid = |message: String| CliError { message, code: EXIT_INVALID };
    if v.get("format").is_some() {
        resocket_core::text::encode(&v).map_err(|e| invalid(e.to_string()))
    } else {
        let sc: resocket_core::scenario::Scenario =
            serde_json::from_value(v).map_err(|e| invalid(format!("not a scenario: {e}")))?;
        sc.to_image().map_err(|e| invalid(e.to_string()))
    }
}
