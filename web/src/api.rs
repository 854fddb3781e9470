//! The embedding API: functions the wasm module exports to JavaScript (wasm-bindgen), with
//! results passed as plain JS objects (serde-wasm-bindgen). Documented in `docs/embedding.md`.
//!
//! ```js
//! const r = await wasmBindings.openCheckpoint([{ name: 'files.img', bytes: u8 }, ...]);
//! // { kind, valid, files, container, sockets, diagnostics, notes, plan, planError }
//! ```
//!
//! The same open path as the inspector, in the checkpoint reader's worker (`crate::worker`):
//! core's `detect::open_files` decides by content what the files are (one resocket image, a
//! CRIU image directory's files, one CRIU image, a tar/tar.gz/tar.zst checkpoint archive), a
//! CRIU checkpoint is mapped onto a scenario (`worker::check`), and the resulting image is
//! loaded, checked and planned by core ([`open_json`], run by the worker).

use crate::client::{self, Mode, Reply};
use crate::model::Doc;
use resocket_core::criu::ImageFile;
use resocket_core::detect::{self, Opening};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// What [`open_checkpoint`] returns, as JSON (also used by the tests without a JS boundary).
pub fn open_json(files: Vec<ImageFile>) -> Result<Value, String> {
    let name = match files.as_slice() {
        [f] => f.name.clone(),
        fs => format!("{} files", fs.len()),
    };
    let opening = detect::open_files(files, resocket_core::archive::Limits::default()).map_err(|e| e.to_string())?;
    let (mut out, image) = match opening {
        Opening::Rsimg(f) => (json!({ "kind": "rsimg", "files": [], "notes": [] }), Ok(Rc::<[u8]>::from(f.bytes))),
        Opening::Criu(c) => {
            let doc = crate::worker::check(*c, &mut |_| {});
            let files: Vec<Value> = doc
                .files
                .iter()
                .map(|f| {
                    json!({
                        "name": f.name, "magic": f.magic_name(), "knownMagic": f.known_magic().is_some(),
                        "decoded": f.decoded, "entries": f.entry_count(), "bytes": f.bytes.len(),
                    })
                })
                .collect();
            let meta = &doc.meta;
            let container = meta.archive.as_ref().map(|a| {
                json!({ "compression": a.compression.as_str(), "layout": a.layout, "metadata": a.container,
                        "members": a.members.len(), "unpacked": a.unpacked })
            });
            let out = json!({
                "kind": "criu",
                "files": files,
                "skipped": meta.skipped.iter().map(|(n, w)| json!({ "name": n, "why": w.as_str() })).collect::<Vec<_>>(),
                "container": container,
                "diagnostics": meta.diagnostics,
                "notes": meta.notes,
                "valid": !meta.diagnostics.iter().any(|d| d.is_error()),
            });
            let image = match (doc.image, &meta.unmapped) {
                (Some(b), _) => Ok(Rc::from(b)),
                (None, why) => Err(why.clone().unwrap_or_default()),
            };
            (out, image)
        }
    };
    match image {
        Ok(bytes) => {
            let doc = Doc::load(name, bytes);
            let sockets: Vec<Value> = doc
                .sockets
                .iter()
                .map(|s| {
                    json!({ "objref": s.objref, "family": s.family, "type": s.ty, "state": s.state, "role": s.role,
                            "name": s.name, "peer": s.peer, "queuedMessages": s.queued_msgs,
                            "queuedBytes": s.queued_bytes, "pending": s.pending })
                })
                .collect();
            out["sockets"] = Value::Array(sockets);
            if out["kind"] == "rsimg" {
                out["diagnostics"] = serde_json::to_value(&doc.diagnostics).unwrap_or_default();
                out["valid"] = Value::Bool(doc.is_valid());
            }
            match resocket_core::plan::plan(&doc.image) {
                Ok(p) => out["plan"] = serde_json::to_value(&p).unwrap_or_default(),
                Err(e) => out["planError"] = Value::String(e.to_string()),
            }
        }
        Err(why) => {
            out["sockets"] = Value::Array(Vec::new());
            out["planError"] = Value::String(why);
        }
    }
    Ok(out)
}

/// `openCheckpoint(files)`: open `[{name, bytes}]` (a CRIU image directory's files, `.img`
/// files, one checkpoint archive, or one resocket image; `bytes` a `Uint8Array`, an
/// `ArrayBuffer` or a `Blob`) in the checkpoint reader's worker. Returns a `Promise` of
/// `{kind, valid, files, skipped, container, sockets, diagnostics, notes, plan | planError}`,
/// rejected with an `Error` for input that is none of these. Each call has a worker of its own.
/// Exported by the page's bin (`src/main.rs`).
pub fn open_checkpoint(files: JsValue) -> js_sys::Promise {
    // The caller's array is cloned to the worker as it is (its buffers stay the caller's).
    let request = client::request_of(Mode::Api, &files);
    let mut run = move |resolve: js_sys::Function, reject: js_sys::Function| {
        let slot: Rc<RefCell<Option<client::Job>>> = Rc::new(RefCell::new(None));
        let done = slot.clone();
        let (ok, err) = (resolve.clone(), reject.clone());
        let job = client::start(request.clone(), js_sys::Array::new(), move |reply| {
            let settle = match reply {
                Reply::Api(v) => Some(ok.call1(&JsValue::NULL, &v)),
                Reply::Failed(m) => Some(err.call1(&JsValue::NULL, &js_sys::Error::new(&m))),
                Reply::Progress(_) => None,
                Reply::Criu(_) | Reply::Rsimg { .. } => {
                    Some(err.call1(&JsValue::NULL, &js_sys::Error::new("openCheckpoint: an unexpected reply")))
                }
            };
            if settle.is_some() {
                // Settled: the worker goes (the job drops its callbacks a turn later).
                done.borrow_mut().take();
            }
        });
        match job {
            Ok(job) => *slot.borrow_mut() = Some(job),
            Err(e) => {
                let _ = reject.call1(&JsValue::NULL, &js_sys::Error::new(&e));
            }
        }
    };
    js_sys::Promise::new(&mut run)
}
