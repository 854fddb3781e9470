//! The embedding API: functions the wasm module exports to JavaScript (wasm-bindgen), with
//! results passed as plain JS objects (serde-wasm-bindgen). Documented in `docs/embedding.md`.
//!
//! ```js
//! const r = await wasmBindings.openCheckpoint([{ name: 'files.img', bytes: u8 }, ...]);
//! // { kind, valid, files, container, sockets, diagnostics, notes, plan, planError }
//! ```
//!
//! The same open path as the inspector, in the checkpoint reader's worker (`crate::worker`),
//! which answers with [`crate::reader::open_json`]'s result; the page passes it on unread.

use crate::client::{self, Reply};
use crate::message::Mode;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

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
                Reply::Progress(_) | Reply::Fields(_) | Reply::Kernel(_) | Reply::Unheld => None,
                Reply::Criu(_) | Reply::Rsimg { .. } | Reply::Lessons(_) => {
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
