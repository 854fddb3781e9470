//! The checkpoint reader's Web Worker: its side of the messages, and the messages themselves.
//!
//! The inspector's page module does not link core's CRIU reader (archive unpacking, the three
//! decompressors, prost decoding, the checks, `to_scenario`): a checkpoint is opened here, in a
//! second wasm module (the `resocket-worker` bin, a classic worker that trunk builds beside the
//! page: `data-type="worker"`), started by the page only when a checkpoint is opened
//! ([`crate::client`]). The worker reads the files (Blobs are read here, not on the page),
//! unpacks and reads them with core, maps a valid checkpoint onto a scenario and its image, and
//! posts back:
//!
//! * `{type: "ready"}` once it listens (the page posts its request then);
//! * `{type: "progress", stage, done, total, unpacked}` ([`Progress`]) as it goes;
//! * `{type: "criu", …Meta, bytes, entries, image}`: the checkpoint ([`Meta`], by
//!   serde-wasm-bindgen) with, beside it and transferred rather than copied, each file's bytes
//!   (`Uint8Array`), its entries' framing as a `Uint32Array` (where each entry starts, see
//!   [`entries_of`]) and the scenario's resocket image (`Uint8Array`, absent when it does not
//!   map): a structured-clone of 100,000 entry objects would cost the page more than the
//!   whole open (docs/benchmarks.md);
//! * `{type: "rsimg", name, bytes}`: the files were one resocket image after all;
//! * `{type: "api", value}`: the embedding API's result (`openCheckpoint`, [`crate::api`]);
//! * `{type: "failed", message}`: why the files are not a checkpoint.
//!
//! The page's request is `{mode: "inspect" | "api", files: [{name, bytes}]}` with `bytes` a
//! `Blob` (a `File`), a `Uint8Array` or an `ArrayBuffer`.

use crate::api;
use resocket_core::archive::{self, Archive};
use resocket_core::criu::{self, ImageFile, Note, OpenedFile};
use resocket_core::detect::{self, CriuInput, Opening, Skip, Step};
use resocket_core::Diagnostic;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// What the worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Reading the files given (bytes read of all of them).
    Reading,
    /// Unpacking an archive (bytes of the archive consumed; `unpacked`: bytes out).
    Unpacking,
    /// Framing and decoding the CRIU images (images read).
    Images,
    /// The checks across images.
    Checking,
    /// Mapping the checkpoint onto a scenario and writing its image.
    Mapping,
    /// Posting the result to the page.
    Sending,
}

impl Stage {
    /// What the page's progress line says.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Reading => "reading the files",
            Stage::Unpacking => "unpacking the archive",
            Stage::Images => "reading the CRIU images",
            Stage::Checking => "checking the checkpoint",
            Stage::Mapping => "mapping the checkpoint onto a scenario",
            Stage::Sending => "handing the checkpoint to the page",
        }
    }
}

/// A progress message (`done` of `total`; `total` 0 when the stage has no measure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub stage: Stage,
    pub done: u64,
    pub total: u64,
    /// Bytes the archive has unpacked to (unpacking only).
    pub unpacked: u64,
}

/// One image file as posted, without its bytes and entries (sent beside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    pub name: String,
    pub first_magic: Option<u32>,
    pub magic: Option<u32>,
    pub decoded: bool,
    /// Its entries carry an extra blob (sk-queues, tcp-stream): `payload.end..range.end`.
    pub extras: bool,
}

/// An opened checkpoint as the page shows it, without the files' bytes and entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// The archive it came from (its metadata and other members), if any.
    pub archive: Option<Box<Archive>>,
    /// Files given that are not read.
    pub skipped: Vec<(String, Skip)>,
    pub files: Vec<FileMeta>,
    pub diagnostics: Vec<Diagnostic>,
    /// The mapping's notes (none when the checkpoint has errors: it is not mapped). One per
    /// socket or more: the page keeps them as posted and deserializes the ones it shows
    /// ([`crate::criu::Notes`]), so they are not deserialized with the rest.
    #[serde(default, skip_deserializing)]
    pub notes: Vec<Note>,
    pub tasks: usize,
    /// AF_UNIX and INET sockets.
    pub sockets: usize,
    /// Why there is no scenario image, if there is none.
    pub unmapped: Option<String>,
}

/// A checkpoint opened and mapped: what the worker posts (and what `openCheckpoint` reports).
#[derive(Debug)]
pub struct Checked {
    pub meta: Meta,
    pub files: Vec<OpenedFile>,
    /// The scenario's resocket image, when the checkpoint maps.
    pub image: Option<Vec<u8>>,
}

/// Map an opened checkpoint onto a scenario and its image, as `restore convert` does: a
/// checkpoint with errors is not mapped (its diagnostics say why).
pub fn check(input: CriuInput, progress: &mut dyn FnMut(Progress)) -> Checked {
    let CriuInput { archive, skipped, opened } = input;
    let errors = opened.diagnostics.iter().filter(|d| d.is_error()).count();
    let (notes, image, unmapped) = if errors > 0 {
        let why = format!("the checkpoint has {errors} errors (see Diagnostics): it is not mapped onto a restore");
        (Vec::new(), None, Some(why))
    } else {
        progress(Progress { stage: Stage::Mapping, done: 0, total: 0, unpacked: 0 });
        let (scenario, notes) = opened.to_scenario();
        match scenario.to_image() {
            Ok(image) => (notes, Some(image), None),
            Err(e) => (notes, None, Some(format!("the checkpoint does not map onto a resocket image: {e}"))),
        }
    };
    let c = &opened.checkpoint;
    let files = opened
        .files
        .iter()
        .map(|f| FileMeta {
            name: f.name.clone(),
            first_magic: f.first_magic,
            magic: f.magic,
            decoded: f.decoded,
            extras: f.entries().any(|e| e.extra.is_some()),
        })
        .collect();
    let meta = Meta {
        archive,
        skipped,
        files,
        tasks: c.tasks.len(),
        sockets: c.unix.len() + c.inet.len(),
        diagnostics: opened.diagnostics,
        notes,
        unmapped,
    };
    Checked { meta, files: opened.files, image }
}

/// What the files turned out to be.
#[derive(Debug)]
pub enum Outcome {
    Rsimg(ImageFile),
    Criu(Box<Checked>),
}

/// Open the files by content (core's `detect::open_files`) and map a checkpoint, telling
/// `progress` how far it is.
pub fn open(files: Vec<ImageFile>, progress: &mut dyn FnMut(Progress)) -> Result<Outcome, String> {
    let mut step = |s: Step| {
        progress(match s {
            Step::Unpacking(u) => {
                Progress { stage: Stage::Unpacking, done: u.consumed, total: u.total, unpacked: u.unpacked }
            }
            Step::Reading(criu::Reading::Images { done, total }) => {
                Progress { stage: Stage::Images, done: done as u64, total: total as u64, unpacked: 0 }
            }
            Step::Reading(criu::Reading::Checking) => {
                Progress { stage: Stage::Checking, done: 0, total: 0, unpacked: 0 }
            }
        })
    };
    match detect::open_files_observed(files, archive::Limits::default(), &mut step).map_err(|e| e.to_string())? {
        Opening::Rsimg(f) => Ok(Outcome::Rsimg(f)),
        Opening::Criu(c) => Ok(Outcome::Criu(Box::new(check(*c, progress)))),
    }
}

/// A file's entry framing as posted: where each entry starts (its size field), as u32s (wasm32
/// offsets are 32 bits); the rest of each entry is read again from the bytes.
pub fn entries_of(f: &OpenedFile) -> Vec<u32> {
    f.starts().to_vec()
}

/// A file's bytes, entries and metadata as the page rebuilds it, checked against the bytes
/// ([`OpenedFile::from_framing`]).
pub fn file_from(meta: FileMeta, bytes: Vec<u8>, words: &[u32]) -> Result<OpenedFile, String> {
    let starts = words.to_vec();
    let name = meta.name.clone();
    OpenedFile::from_framing(meta.name, meta.first_magic, meta.magic, meta.decoded, bytes, starts)
        .map_err(|e| format!("{name}: {e}"))
}

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

/// Where the worker posts: `post(message, transfer list)`.
pub type Post = std::rc::Rc<dyn Fn(JsValue, js_sys::Array)>;

fn to_js<T: Serialize>(v: &T) -> JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL)
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
    let msg = tagged("criu", to_js(&c.meta));
    let bytes = js_sys::Array::new();
    let entries = js_sys::Array::new();
    for f in &c.files {
        bytes.push(&bytes_js(&f.bytes, &transfer));
        let e = js_sys::Uint32Array::from(entries_of(f).as_slice());
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

/// Handle one request of the page: read, open, post progress and the result.
pub async fn serve(request: JsValue, post: Post) {
    let api = get(&request, "mode").and_then(|m| m.as_string()).as_deref() == Some(crate::client::Mode::Api.as_str());
    let files = get(&request, "files").unwrap_or(JsValue::UNDEFINED);
    let progress = |p: Progress| post(tagged("progress", to_js(&p)), js_sys::Array::new());
    let files = match files_of(&files, &mut { progress }).await {
        Ok(f) => f,
        Err(e) => return post(failed(&e), js_sys::Array::new()),
    };
    if api {
        let msg = match api::open_json(files) {
            Ok(v) => {
                let o = tagged("api", JsValue::NULL);
                set(&o, "value", &to_js(&v));
                o
            }
            Err(e) => failed(&e),
        };
        return post(msg, js_sys::Array::new());
    }
    match open(files, &mut { progress }) {
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
