fn main() {
    for dir in std::env::args().skip(1) {
        let mut files = Vec::new();
        for f in std::fs::read_dir(&dir).unwrap().filter_map(Result::ok) {
            files.push(resocket_core::criu::ImageFile {
                name: f.file_name().to_string_lossy().into(),
                bytes: std::fs::read(f.path()).unwrap(),
            });
        }
        let o = resocket_core::criu::open(files);
        println!("== {dir}");
        for d in &o.diagnostics {
            println!("  {d}");
        }
        if std::env::var("SC").is_ok() {
            let (sc, notes) = o.to_scenario();
            println!("{}", serde_json::to_string_pretty(&sc).unwrap());
            for n in notes {
                println!("  note {:?} {:?}: {}", n.code, n.socket, n.message);
            }
            match sc.to_image() {
                Ok(img) => {
                    let r = resocket_core::load(&img);
                    for d in &r.diagnostics {
                        println!("  image: {d}");
                    }
                }
                Err(e) => println!("  to_image: {e}"),
            }
        }
    }
}
