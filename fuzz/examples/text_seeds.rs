//! Seeds for the `text` target: the record text form of every fixture image
//! (`text::decode_to_string`), written to the directory given, one file per image.
//! `fuzz/run.sh` runs it (`cargo run --example text_seeds -- DIR IMAGE...`).

fn main() -> std::io::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "corpus/text".into()));
    std::fs::create_dir_all(&dir)?;
    for img in args {
        let path = std::path::PathBuf::from(img);
        let bytes = std::fs::read(&path)?;
        if let Ok(text) = resocket_core::text::decode_to_string(&bytes) {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            std::fs::write(dir.join(format!("{name}.records.json")), text)?;
        }
    }
    Ok(())
}
