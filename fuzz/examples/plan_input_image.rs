//! The image a `plan` fuzz input stands for, written out so that a finding can be looked at
//! with the CLI (`restore show`, `restore plan`, `restore simulate`) and kept as a fixture:
//! `cargo run --example plan_input_image -- fuzz/artifacts/plan/crash-… OUT.rsimg`.
//! The first byte picks the input's mode exactly as in `fuzz_targets/plan.rs`.

#[path = "../fuzz_targets/gen/mod.rs"]
mod gen;

use libfuzzer_sys::arbitrary::Unstructured;

fn main() -> Result<(), String> {
    let mut args = std::env::args_os().skip(1);
    let (Some(input), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: plan_input_image INPUT OUT.rsimg".into());
    };
    let data = std::fs::read(&input).map_err(|e| format!("{}: {e}", input.to_string_lossy()))?;
    let Some((&mode, rest)) = data.split_first() else { return Err("empty input".into()) };
    let bytes = match mode & 0x7f {
        0 => rest.to_vec(),
        m => {
            let mut u = Unstructured::new(rest);
            let sc = if m % 2 == 1 { gen::edited(&mut u) } else { gen::direct(&mut u) };
            let sc = sc.map_err(|e| format!("the input makes no scenario: {e:?}"))?;
            sc.to_image().map_err(|e| format!("the scenario makes no image: {e:?}"))?
        }
    };
    let host = if mode & 0x80 == 0 { "loopback" } else { "loopback and the image's own addresses" };
    std::fs::write(&out, &bytes).map_err(|e| format!("{}: {e}", out.to_string_lossy()))?;
    eprintln!("{} bytes written; the target plans for {host}", bytes.len());
    Ok(())
}
