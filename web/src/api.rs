//! The embedding API: functions the wasm module exports to JavaScript (wasm-bindgen), with
//! results passed as plain JS objects (serde-wasm-bindgen). Documented in `docs/embedding.md`.
//!
//! ```js
//! const r = wasmBindings.openCheckpoint([{ name: 'files.img', bytes: u8 }, ...]);
//! // { kind, valid, files, container, sockets, diagnostics, notes, plan, planError }
//! ```
//!
//! The same open path as the inspector: core's `detect::open_files` decides by content what
//! the files are (one resocket image, a CRIU image directory's files, one CRIU image, a
//! tar/tar.gz/tar.zst checkpoint archive), a CRIU checkpoint is mapped onto a scenario
//! (`CriuDoc::build`), and the resulting image is loaded, checked and planned by core.

use crate::criu::CriuDoc;
use crate::model::Doc;
use resocket_core::criu::ImageFile;
use resocket_core::detect::{self, Opening};
use serde::Serialize as _;
use serde_json::{json, Value};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The files of a JS array of `{name: string, bytes: Uint8Array | ArrayBuffer}`.
fn files_of(files: &JsValue) -> Result<Vec<ImageFile>, String> {
    let arr: &js_sys::Array = files.dyn_ref().ok_or("openCheckpoint: expected an array of {name, bytes}")?;
    let mut out = Vec::new();
    for (i, f) in arr.iter().enumerate() {
        let get = |k: &str| js_sys::Reflect::get(&f, &JsValue::from_str(k)).ok().filter(|v| !v.is_undefined());
        let name = get("name")
            .and_then(|n| n.as_string())
            .ok_or(format!("openCheckpoint: files[{i}].name is not a string"))?;
        let bytes = get("bytes").ok_or(format!("openCheckpoint: files[{i}].bytes is missing"))?;
        let bytes = if bytes.is_instance_of::<js_sys::Uint8Array>() || bytes.is_instance_of::<js_sys::ArrayBuffer>() {
            js_sys::Uint8Array::new(&bytes).to_vec()
        } else {
            return Err(format!("openCheckpoint: files[{i}].bytes is not a Uint8Array or an ArrayBuffer"));
        };
        out.push(ImageFile { name, bytes });
    }
    Ok(out)
}

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
            let doc = CriuDoc::build(name.clone(), String::new(), *c);
            let files: Vec<Value> = doc
                .opened
                .files
                .iter()
                .map(|f| {
                    json!({
                        "name": f.name, "magic": f.magic_name(), "knownMagic": f.known_magic().is_some(),
                        "decoded": f.decoded, "entries": f.entry_count(), "bytes": f.bytes.len(),
                    })
                })
                .collect();
            let container = doc.archive.as_ref().map(|a| {
                json!({ "compression": a.compression.as_str(), "layout": a.layout, "metadata": a.container,
                        "members": a.members.len(), "unpacked": a.unpacked })
            });
            let out = json!({
                "kind": "criu",
                "files": files,
                "skipped": doc.skipped.iter().map(|(n, w)| json!({ "name": n, "why": w.as_str() })).collect::<Vec<_>>(),
                "container": container,
                "diagnostics": doc.opened.diagnostics,
                "notes": doc.notes,
                "valid": doc.is_valid(),
            });
            (out, doc.image.clone())
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
/// files, one checkpoint archive, or one resocket image) and return
/// `{kind, valid, files, skipped, container, sockets, diagnostics, notes, plan | planError}`.
/// Throws an `Error` for input that is none of these.
#[wasm_bindgen(js_name = openCheckpoint)]
pub fn open_checkpoint(files: JsValue) -> Result<JsValue, JsValue> {
    let value = files_of(&files).and_then(open_json).map_err(|e| JsValue::from(js_sys::Error::new(&e)))?;
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsValue::from(js_sys::Error::new(&e.to_string())))
}
