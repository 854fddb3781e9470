//! [`open`]: frame and decode every image file, build the [`Checkpoint`], check it.
use super::*;

/// Open a checkpoint from its image files.
pub fn open(files: Vec<ImageFile>) -> Opened {
    let files = files
        .into_iter()
        .map(|f| OpenedFile {
            kind: ImageKind::of_name(&f.name),
            name: f.name,
            first_magic: None,
            magic: None,
            entries: Vec::new(),
            bytes: f.bytes,
            decoded: false,
        })
        .collect();
    Opened { checkpoint: Checkpoint::default(), diagnostics: Vec::new(), files }
}
