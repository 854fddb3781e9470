//! The checkpoint reader's Web Worker: its side of the messages ([`crate::message`]).
//!
//! The inspector's page module does not link core's CRIU reader (archive unpacking, the three
//! decompressors, prost decoding, the checks, `to_scenario`): a checkpoint is opened here, in a
//! second wasm module (the `resocket-worker` bin, a classic worker that trunk builds beside the
//! page: `data-type="worker"`), started by the page only when a checkpoint is opened
//! ([`crate::client`]). The worker reads the files (Blobs are read here, not on the page),
//! unpacks and reads them with core, maps a valid checkpoint onto a scenario and its image, and
//! posts back progress and the checkpoint: its [`Meta`] and notes encoded by
//! [`crate::message`], and beside them, transferred rather than copied, each file's bytes
//! (`Uint8Array`), its entries' framing as a `Uint32Array` (where each entry starts) and the
//! scenario's resocket image (`Uint8Array`, absent when it does not map): a structured clone of
//! 100,000 entry objects would cost the page more than the whole open (docs/benchmarks.md).
//! For the embedding API it answers with [`crate::reader::open_json`]'s result. It keeps
//! nothing of a checkpoint once posted (the page terminates it then: its linear memory stays
//! at the peak the reading reached until it goes); a worker the page starts for the entries
//! answers walk requests (`{mode: "fields"}`, [`crate::reader::fields`]), each carrying the
//! entry's bytes.
//!
//! Nothing but `worker_main.rs` (and the tests, which serve requests in the page) imports this
//! module: the page's side is [`crate::client`], and both sides share [`crate::message`].

use crate::message::{self, KernelAsk, Mode, Post, Progress, Stage, Walk};
use crate::reader::{self, Checked, Outcome};
use resocket_core::criu::ImageFile;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn js_error(e: JsValue) -> String {
    e.as_string()
        .or_else(|| js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()))
        .unwrap_or_else(|| "the browser could not read it".into())
}

fn get(v: &JsValue, k: &str) -> Option<JsValue> {
    js_sys::Reflect::get(v, &JsValue::from_str(k)).ok().filter(|v| !v.is_undefined())
}

/// The files of a JS array of `{name: string, bytes: Uint8Array | ArrayBuffer | Blob}`, Blobs
/// read here; `progress` gets the bytes read.
pub async fn files_of(files: &JsValue, progress: &mut dyn FnMut(Progress)) -> Result<Vec<ImageFile>, String> {
    let arr: &js_sys::Array = files.dyn_ref().ok_or("openCheckpoint: expected an array of {name, bytes}")?;
    let mut named = Vec::new();
    for (i, f) in arr.iter().enumerate() {
        let name = get(&f, "name")
            .and_then(|n| n.as_string())
            .ok_or(format!("openCheckpoint: files[{i}].name is not a string"))?;
        let bytes = get(&f, "bytes").ok_or(format!("openCheckpoint: files[{i}].bytes is missing"))?;
        let size = if let Some(b) = bytes.dyn_ref::<web_sys::Blob>() {
            b.size()
        } else if bytes.is_instance_of::<js_sys::Uint8Array>() || bytes.is_instance_of::<js_sys::ArrayBuffer>() {
            f64::from(js_sys::Uint8Array::new(&bytes).length())
        } else {
            return Err(format!("openCheckpoint: files[{i}].bytes is not a Uint8Array, an ArrayBuffer or a Blob"));
        };
        named.push((name, bytes, size as u64));
    }
    let total: u64 = named.iter().map(|n| n.2).sum();
    let mut done = 0;
    let mut out = Vec::with_capacity(named.len());
    for (name, bytes, size) in named {
        let bytes = match bytes.dyn_ref::<web_sys::Blob>() {
            Some(b) => {
                progress(Progress { stage: Stage::Reading, done, total, unpacked: 0 });
                let buf = JsFuture::from(b.array_buffer()).await.map_err(|e| format!("{name}: {}", js_error(e)))?;
                js_sys::Uint8Array::new(&buf).to_vec()
            }
            None => js_sys::Uint8Array::new(&bytes).to_vec(),
        };
        done += size;
        out.push(ImageFile { name, bytes });
    }
    Ok(out)
}

/// The embedding API's result as a plain JS object.
fn to_js(v: &serde_json::Value) -> JsValue {
    serde::Serialize::serialize(v, &serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL)
}

/// A message of type `ty` whose `data` is the encoding of `v`.
fn encoded<T: resocket_core::codec::Encode>(ty: &str, v: &T) -> JsValue {
    let o = tagged(ty, JsValue::NULL);
    set(&o, "data", &js_sys::Uint8Array::from(message::encode(v).as_slice()));
    o
}

fn tagged(ty: &str, v: JsValue) -> JsValue {
    let v = if v.is_object() { v } else { js_sys::Object::new().into() };
    let _ = js_sys::Reflect::set(&v, &"type".into(), &JsValue::from_str(ty));
    v
}

fn set(o: &JsValue, k: &str, v: &JsValue) {
    let _ = js_sys::Reflect::set(o, &JsValue::from_str(k), v);
}

fn failed(message: &str) -> JsValue {
    let o = tagged("failed", JsValue::NULL);
    set(&o, "message", &JsValue::from_str(message));
    o
}

/// A typed array of `bytes`, its buffer added to `transfer`.
fn bytes_js(bytes: &[u8], transfer: &js_sys::Array) -> js_sys::Uint8Array {
    let a = js_sys::Uint8Array::from(bytes);
    transfer.push(&a.buffer());
    a
}

/// The `criu` message of a checked checkpoint, and what it transfers.
pub fn criu_message(c: &Checked) -> (JsValue, js_sys::Array) {
    let transfer = js_sys::Array::new();
    let msg = tagged("criu", JsValue::NULL);
    set(&msg, "meta", &bytes_js(&message::encode(&c.meta), &transfer));
    let (notes, ends) = message::encode_notes(&c.notes);
    set(&msg, "notes", &bytes_js(&notes, &transfer));
    let ends = js_sys::Uint32Array::from(ends.as_slice());
    transfer.push(&ends.buffer());
    set(&msg, "noteEnds", &ends);
    let bytes = js_sys::Array::new();
    let entries = js_sys::Array::new();
    for f in &c.files {
        bytes.push(&bytes_js(&f.bytes, &transfer));
        let e = js_sys::Uint32Array::from(message::entries_of(f).as_slice());
        transfer.push(&e.buffer());
        entries.push(&e);
    }
    set(&msg, "bytes", &bytes);
    set(&msg, "entries", &entries);
    if let Some(image) = &c.image {
        set(&msg, "image", &bytes_js(image, &transfer));
    }
    (msg, transfer)
}

/// The kernel worker's answer to a `kernel` request ([`crate::kernel::serve`]), its bytes added
/// to `transfer`.
fn kernel_reply(request: &JsValue, transfer: &js_sys::Array) -> JsValue {
    let bytes = |k: &str| get(request, k).and_then(|d| d.dyn_into::<js_sys::Uint8Array>().ok()).map(|d| d.to_vec());
    let ask = bytes("data")
        .ok_or_else(|| "the page's request: no data".to_string())
        .and_then(|d| message::decode::<KernelAsk>(&d));
    let ask = match ask {
        Ok(ask) => ask,
        Err(e) => return failed(&e),
    };
    match crate::kernel::serve(&ask, bytes("image").as_deref()) {
        Ok(answer) => {
            let o = tagged("kernel", JsValue::NULL);
            set(&o, "data", &bytes_js(&message::encode(&answer), transfer));
            o
        }
        Err(crate::kernel::Refused::Unheld) => tagged("unheld", JsValue::NULL),
        Err(crate::kernel::Refused::Failed(e)) => failed(&e),
    }
}

/// Handle one request of the page: read, open, post progress and the result.
pub async fn serve(request: JsValue, post: Post) {
    let mode = get(&request, "mode").and_then(|m| m.as_string());
    if mode.as_deref() == Some(Mode::Fields.as_str()) {
        let walk = get(&request, "data")
            .and_then(|d| d.dyn_into::<js_sys::Uint8Array>().ok())
            .ok_or_else(|| "the page's request: no data".to_string())
            .and_then(|d| message::decode::<Walk>(&d.to_vec()));
        let msg = match walk {
            Ok(w) => encoded("fields", &reader::fields(&w)),
            Err(e) => failed(&e),
        };
        return post(msg, js_sys::Array::new());
    }
    if mode.as_deref() == Some(Mode::Kernel.as_str()) {
        let transfer = js_sys::Array::new();
        return post(kernel_reply(&request, &transfer), transfer);
    }
    if mode.as_deref() == Some(Mode::Lessons.as_str()) {
        let files = get(&request, "files").unwrap_or(JsValue::UNDEFINED);
        let msg = match files_of(&files, &mut |_| ()).await {
            Ok(files) => encoded("lessons", &files.into_iter().map(reader::lesson_file).collect::<Vec<_>>()),
            Err(e) => failed(&e),
        };
        return post(msg, js_sys::Array::new());
    }
    let api = mode.as_deref() == Some(Mode::Api.as_str());
    let files = get(&request, "files").unwrap_or(JsValue::UNDEFINED);
    let progress = |p: Progress| post(encoded("progress", &p), js_sys::Array::new());
    let files = match files_of(&files, &mut { progress }).await {
        Ok(f) => f,
        Err(e) => return post(failed(&e), js_sys::Array::new()),
    };
    if api {
        let msg = match reader::open_json(files) {
            Ok(v) => {
                let o = tagged("api", JsValue::NULL);
                set(&o, "value", &to_js(&v));
                o
            }
            Err(e) => failed(&e),
        };
        return post(msg, js_sys::Array::new());
    }
    match reader::open(files, &mut { progress }) {
        Err(e) => post(failed(&e), js_sys::Array::new()),
        Ok(Outcome::Rsimg(f)) => {
            let transfer = js_sys::Array::new();
            let o = tagged("rsimg", JsValue::NULL);
            set(&o, "name", &JsValue::from_str(&f.name));
            set(&o, "bytes", &bytes_js(&f.bytes, &transfer));
            post(o, transfer);
        }
        Ok(Outcome::Criu(c)) => {
            progress(Progress { stage: Stage::Sending, done: 0, total: 0, unpacked: 0 });
            let (msg, transfer) = criu_message(&c);
            post(msg, transfer);
        }
    }
}

/// The worker's `main`: listen for requests on the worker's global scope, then say it is
/// ready. Each request is served in its own task.
pub fn run() {
    use wasm_bindgen::closure::Closure;
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let post: Post = {
        let scope = scope.clone();
        std::rc::Rc::new(move |msg, transfer| {
            if let Err(e) = scope.post_message_with_transfer(&msg, &transfer) {
                let _ = scope.post_message(&failed(&js_error(e)));
            }
        })
    };
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new({
        let post = post.clone();
        move |e: web_sys::MessageEvent| wasm_bindgen_futures::spawn_local(serve(e.data(), post.clone()))
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The worker listens for as long as it lives.
    on_message.forget();
    post(tagged("ready", JsValue::NULL), js_sys::Array::new());
}
