use wasm_bindgen::prelude::*;

fn main() {
    resocket_web::start();
}

/// The embedding API (docs/embedding.md): exported by the page's module only, so that the
/// worker's module does not carry it. See `resocket_web::api::open_checkpoint`.
#[wasm_bindgen(js_name = openCheckpoint)]
pub fn open_checkpoint(files: JsValue) -> js_sys::Promise {
    resocket_web::api::open_checkpoint(files)
}
