//! Raw DEFLATE through the browser's own `CompressionStream` / `DecompressionStream`
//! (`"deflate-raw"`, the format `resocket_core::share` and `build.rs` use with miniz_oxide).
//!
//! The bundle then carries no DEFLATE code of its own (miniz_oxide was 15 KB of the gzipped
//! release wasm). The price is that both directions are asynchronous: share links are made and
//! read in tasks (`spawn_local`) that dispatch their
//! result.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
async function pipe(bytes, stream, limit) {
  // Blob copies the view at once: wasm memory may move while this function waits.
  const reader = new Blob([bytes]).stream().pipeThrough(stream).getReader();
  const parts = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > limit) {
      await reader.cancel();
      throw new Error(`it inflates past ${limit} bytes`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
export function deflateRaw(bytes) { return pipe(bytes, new CompressionStream("deflate-raw"), Infinity); }
export function inflateRaw(bytes, limit) { return pipe(bytes, new DecompressionStream("deflate-raw"), limit); }
"#)]
extern "C" {
    #[wasm_bindgen(catch, js_name = deflateRaw)]
    async fn deflate_raw(bytes: &[u8]) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = inflateRaw)]
    async fn inflate_raw(bytes: &[u8], limit: f64) -> Result<JsValue, JsValue>;
}

/// Why the browser refused: its error's message.
fn reason(e: &JsValue) -> String {
    js_sys::Reflect::get(e, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_else(|| "failed".into())
}

/// The raw DEFLATE of `bytes` (`None` if the browser has no `CompressionStream`: the caller
/// then stores the bytes as they are).
pub async fn deflate(bytes: &[u8]) -> Option<Vec<u8>> {
    deflate_raw(bytes).await.ok().map(|v| js_sys::Uint8Array::new(&v).to_vec())
}

/// Inflate raw DEFLATE `bytes`, refusing (without holding more than `limit` bytes of output
/// plus one chunk) a stream that inflates past `limit` bytes. Errors are the browser's reason:
/// damaged data, a truncated stream, data after its end, or too much output.
pub async fn inflate(bytes: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    // Exact as f64: the limits used are far below 2^53.
    match inflate_raw(bytes, limit as f64).await {
        Ok(v) => Ok(js_sys::Uint8Array::new(&v).to_vec()),
        Err(e) => Err(reason(&e)),
    }
}
