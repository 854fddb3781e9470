//! The checkpoint reader's Web Worker (`resocket_web::worker`), built by trunk as a second wasm
//! module (`<link data-trunk rel="rust" data-type="worker" data-bin="resocket-worker">`).
fn main() {
    resocket_web::worker::run();
}
