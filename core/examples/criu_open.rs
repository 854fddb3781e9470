//! Open CRIU image directories and print what resocket finds: diagnostics, and with
//! `--scenario` the mapped scenario, its notes and the written image's own diagnostics.
//!
//! `cargo run -p resocket-core --example criu_open -- [--scenario] DIR...`

use resocket_core::criu::{self, ImageFile};

fn main() -> Result<(), String> {
    let mut scenario = false;
    for arg in std::env::args().skip(1) {
        if arg == "--scenario" {
            scenario = true;
            continue;
        }
        let mut files = Vec::new();
        for f in std::fs::read_dir(&arg).map_err(|e| format!("{arg}: {e}"))?.flatten() {
            if f.path().is_file() {
                let bytes = std::fs::read(f.path()).map_err(|e| format!("{}: {e}", f.path().display()))?;
                files.push(ImageFile { name: f.file_name().to_string_lossy().into_owned(), bytes });
            }
        }
        let o = criu::open(files);
        println!(
            "== {arg}: {} files, {} tasks, {} unix, {} inet",
            o.files.len(),
            o.checkpoint.tasks.len(),
            o.checkpoint.unix.len(),
            o.checkpoint.inet.len()
        );
        for d in &o.diagnostics {
            println!("  {d}");
        }
        if scenario {
            let (sc, notes) = o.to_scenario();
            println!("{}", serde_json::to_string_pretty(&sc).map_err(|e| e.to_string())?);
            for n in notes {
                println!("  note[{}] {}: {}", n.code.as_str(), n.socket.as_deref().unwrap_or("-"), n.message);
            }
            match sc.to_image() {
                Ok(img) => {
                    for d in resocket_core::load(&img).diagnostics {
                        println!("  image: {d}");
                    }
                }
                Err(e) => println!("  to_image: {e}"),
            }
        }
    }
    Ok(())
}
