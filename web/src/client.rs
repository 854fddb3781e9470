//! The page's side of the checkpoint reader's worker ([`crate::worker`]): start one, post it a
//! request once it is ready, and turn its messages into [`Reply`]s. Dropping a [`Job`]
//! terminates its worker, so a new open cancels the one in progress at once, even in the middle
//! of core's unpack.
//!
//! The worker is `resocket-worker_loader.js` next to the page (resolved against the document's
//! base URL; trunk writes it, `resocket-worker.js` and `resocket-worker_bg.wasm` into `dist/`).
//! Tests in the browser, where no worker is built, serve requests in the page instead
//! ([`serve_in_process`] with the worker's handler): the same messages, the same decoding.
//!
//! The messages and their encoding are [`crate::message`]'s; this module does not import the
//! worker's ([`crate::worker`], which imports neither this one nor the page's modules).

use crate::criu::CriuDoc;
use crate::message::{self, Fields, KernelAnswer, KernelAsk, LessonFile, Meta, Mode, Notes, Post, Progress, Walk};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// The worker script, relative to the page.
pub const WORKER_URL: &str = "resocket-worker_loader.js";

/// What a worker said.
#[derive(Debug)]
pub enum Reply {
    Progress(Progress),
    /// A checkpoint, opened and checked (`name` and `note` are the caller's).
    Criu(Box<CriuParts>),
    /// The files were one resocket image.
    Rsimg {
        name: String,
        bytes: Vec<u8>,
    },
    /// The embedding API's result, a plain JS object.
    Api(JsValue),
    /// An entry of the checkpoint, walked ([`Job::walk`]).
    Fields(Box<Fields>),
    /// Lesson files, read (a `lessons` request).
    Lessons(Vec<LessonFile>),
    /// The kernel worker's answer (a `kernel` request).
    Kernel(Box<KernelAnswer>),
    /// The kernel worker does not hold the image the request was about, which did not carry it.
    Unheld,
    /// Why the files are not a checkpoint (or the worker failed).
    Failed(String),
}

/// A checkpoint as posted, before it gets its name ([`CriuParts::doc`]).
#[derive(Debug)]
pub struct CriuParts {
    pub meta: Meta,
    /// The notes as posted, decoded when shown.
    pub notes: Notes,
    pub files: Vec<resocket_core::criu::OpenedFile>,
    pub image: Option<Vec<u8>>,
}

impl CriuParts {
    pub fn doc(self, name: String, note: String) -> CriuDoc {
        CriuDoc::new(name, note, self.meta, self.notes, self.files, self.image)
    }
}

fn get(v: &JsValue, k: &str) -> JsValue {
    js_sys::Reflect::get(v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

/// The bytes of the typed array `o[k]`.
fn bytes_of(o: &JsValue, k: &str) -> Result<Vec<u8>, String> {
    get(o, k)
        .dyn_into::<js_sys::Uint8Array>()
        .map(|a| a.to_vec())
        .map_err(|_| format!("the checkpoint reader's message: no {k}"))
}

/// The typed arrays of `o[k]`.
fn arrays<T: JsCast>(o: &JsValue, k: &str) -> Result<Vec<T>, String> {
    let a: js_sys::Array = get(o, k).dyn_into().map_err(|_| format!("the checkpoint reader's message: no {k}"))?;
    a.iter()
        .map(|v| v.dyn_into::<T>().map_err(|_| format!("the checkpoint reader's message: {k} of the wrong type")))
        .collect()
}

/// A worker's message as a [`Reply`] (`None`: `ready`, or a message of no known type).
pub fn decode(data: JsValue) -> Option<Result<Reply, String>> {
    let ty = get(&data, "type").as_string()?;
    Some(match ty.as_str() {
        "progress" => bytes_of(&data, "data").and_then(|b| message::decode(&b)).map(Reply::Progress),
        "failed" => Ok(Reply::Failed(get(&data, "message").as_string().unwrap_or_default())),
        "unheld" => Ok(Reply::Unheld),
        "api" => Ok(Reply::Api(get(&data, "value"))),
        "fields" => bytes_of(&data, "data").and_then(|b| message::decode(&b)).map(|f| Reply::Fields(Box::new(f))),
        "rsimg" => match get(&data, "bytes").dyn_into::<js_sys::Uint8Array>() {
            Ok(b) => Ok(Reply::Rsimg { name: get(&data, "name").as_string().unwrap_or_default(), bytes: b.to_vec() }),
            Err(_) => Err("the checkpoint reader's message: no bytes".into()),
        },
        "lessons" => bytes_of(&data, "data").and_then(|b| message::decode(&b)).map(Reply::Lessons),
        "kernel" => bytes_of(&data, "data").and_then(|b| message::decode(&b)).map(|k| Reply::Kernel(Box::new(k))),
        "criu" => decode_criu(data).map(|c| Reply::Criu(Box::new(c))),
        _ => return None,
    })
}

fn decode_criu(data: JsValue) -> Result<CriuParts, String> {
    let bytes = arrays::<js_sys::Uint8Array>(&data, "bytes")?;
    let entries = arrays::<js_sys::Uint32Array>(&data, "entries")?;
    let image = get(&data, "image").dyn_into::<js_sys::Uint8Array>().ok().map(|a| a.to_vec());
    let ends = get(&data, "noteEnds")
        .dyn_into::<js_sys::Uint32Array>()
        .map_err(|_| "the checkpoint reader's message: no noteEnds".to_string())?;
    let notes = Notes::new(bytes_of(&data, "notes")?, ends.to_vec());
    let mut meta: Meta = message::decode(&bytes_of(&data, "meta")?)?;
    if bytes.len() != meta.files.len() || entries.len() != meta.files.len() {
        return Err(format!(
            "the checkpoint reader's message: {} files, {} byte arrays, {} entry arrays",
            meta.files.len(),
            bytes.len(),
            entries.len()
        ));
    }
    let files = std::mem::take(&mut meta.files)
        .into_iter()
        .zip(bytes.iter().zip(&entries))
        .map(|(m, (b, e))| message::file_from(m, b.to_vec(), &e.to_vec()))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(CriuParts { meta, notes, files, image })
}

/// Serves a request in the page: `serve(request, post)`.
pub type Handler = fn(JsValue, Post) -> Served;

/// A request being served in the page.
pub type Served = Pin<Box<dyn Future<Output = ()>>>;

thread_local! {
    static IN_PROCESS: RefCell<Option<Handler>> = const { RefCell::new(None) };
}

/// Serve requests in the page with `handler` from now on (browser tests, which have no worker
/// script, pass the worker's own: `|r, p| Box::pin(worker::serve(r, p))`).
pub fn serve_in_process(handler: Handler) {
    IN_PROCESS.with(|h| *h.borrow_mut() = Some(handler));
}

/// A request and its transfer list.
type Queued = (JsValue, js_sys::Array);

/// A request being served. Dropping it terminates its worker (and ignores anything else it
/// posts).
pub struct Job {
    worker: Option<web_sys::Worker>,
    /// Requests waiting for the worker's `ready` (`None` once it is ready).
    queue: Rc<RefCell<Option<Vec<Queued>>>>,
    /// Serving in the page instead: the handler and where it posts.
    in_process: Option<(Handler, Post)>,
    on_message: Option<Closure<dyn FnMut(web_sys::MessageEvent)>>,
    on_error: Option<Closure<dyn FnMut(web_sys::ErrorEvent)>>,
    live: Rc<std::cell::Cell<bool>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("worker", &self.worker.is_some()).field("live", &self.live.get()).finish()
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        self.live.set(false);
        if let Some(w) = self.worker.take() {
            w.terminate();
            w.set_onmessage(None);
            w.set_onerror(None);
        }
        // A job may be dropped from its own callback: the closures go a turn later.
        let closures = (self.on_message.take(), self.on_error.take());
        wasm_bindgen_futures::spawn_local(async move { drop(closures) });
    }
}

/// Start serving `request` (`{mode, files}`, its buffers in `transfer`): in a new worker once
/// it says it is ready, or in the page ([`serve_in_process`]). `on_reply` gets every reply
/// until the job is dropped.
pub fn start(request: JsValue, transfer: js_sys::Array, on_reply: impl FnMut(Reply) + 'static) -> Result<Job, String> {
    let live = Rc::new(std::cell::Cell::new(true));
    let on_reply = Rc::new(RefCell::new(on_reply));
    let deliver = {
        let (live, on_reply) = (live.clone(), on_reply.clone());
        move |data: JsValue| {
            if !live.get() {
                return;
            }
            if let Some(reply) = decode(data) {
                let reply = reply.unwrap_or_else(Reply::Failed);
                if let Ok(mut f) = on_reply.try_borrow_mut() {
                    f(reply);
                }
            }
        }
    };
    if let Some(handler) = IN_PROCESS.with(|h| *h.borrow()) {
        let deliver = Rc::new(deliver);
        let post: Post = Rc::new(move |msg, _transfer| {
            // As a worker's message would: after the current task.
            let deliver = deliver.clone();
            wasm_bindgen_futures::spawn_local(async move { deliver(msg) });
        });
        wasm_bindgen_futures::spawn_local(handler(request, post.clone()));
        let queue = Rc::new(RefCell::new(None));
        return Ok(Job {
            worker: None,
            queue,
            in_process: Some((handler, post)),
            on_message: None,
            on_error: None,
            live,
        });
    }
    let w = web_sys::Worker::new(WORKER_URL).map_err(|e| format!("the checkpoint reader did not start: {e:?}"))?;
    let queue = Rc::new(RefCell::new(Some(vec![(request, transfer)])));
    let on_message = {
        let (w, queue) = (w.clone(), queue.clone());
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let data = e.data();
            if get(&data, "type").as_string().as_deref() == Some("ready") {
                let waiting = queue.borrow_mut().take();
                for (req, transfer) in waiting.into_iter().flatten() {
                    if let Err(e) = w.post_message_with_transfer(&req, &transfer) {
                        deliver(failed(&format!("the checkpoint reader refused the files: {e:?}")));
                    }
                }
                return;
            }
            deliver(data);
        })
    };
    let on_error = {
        let (live, on_reply) = (live.clone(), on_reply.clone());
        Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |e: web_sys::ErrorEvent| {
            e.prevent_default();
            if live.get() {
                if let Ok(mut f) = on_reply.try_borrow_mut() {
                    f(Reply::Failed(format!("the checkpoint reader failed: {}", e.message())));
                }
            }
        })
    };
    w.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    w.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Ok(Job { worker: Some(w), queue, in_process: None, on_message: Some(on_message), on_error: Some(on_error), live })
}

impl Job {
    /// Post one more request to the job's worker (once it is ready), or serve it in the page.
    pub fn post(&self, request: JsValue) {
        let _ = self.post_with(request, js_sys::Array::new());
    }

    /// [`Job::post`], transferring the buffers of `transfer`; an error if the worker refused it.
    pub fn post_with(&self, request: JsValue, transfer: js_sys::Array) -> Result<(), String> {
        if let Some((handler, post)) = &self.in_process {
            wasm_bindgen_futures::spawn_local(handler(request, post.clone()));
        } else if let Some(waiting) = self.queue.borrow_mut().as_mut() {
            waiting.push((request, transfer));
        } else if let Some(w) = &self.worker {
            w.post_message_with_transfer(&request, &transfer)
                .map_err(|e| format!("the worker refused the request: {e:?}"))?;
        }
        Ok(())
    }
}

/// The page's kernel worker: one worker, started at the first request and kept, serving one
/// request at a time. A request made while one is being served waits, and a newer one replaces
/// it: the worker never works through a queue of stale requests (each carries its session, and
/// the page ignores the answers to superseded ones: `State::session`). A request carries its
/// doc's image only when the worker does not hold it yet ([`Holder`]).
pub struct Kernel(Rc<KernelState>);

/// A request to send: what it asks and its doc's image.
type Asked = (Rc<KernelAsk>, Rc<[u8]>);

struct KernelState {
    job: RefCell<Option<Job>>,
    /// A request is being served.
    busy: std::cell::Cell<bool>,
    /// The request being served (sent again, with its image, if the worker does not hold it).
    current: RefCell<Option<Asked>>,
    /// The newest request made while busy.
    next: RefCell<Option<Asked>>,
    holder: Holder,
    deliver: Box<dyn Fn(Reply)>,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel").field("busy", &self.0.busy.get()).finish()
    }
}

impl Kernel {
    /// A kernel worker whose answers go to `deliver` (none is started before the first request).
    pub fn new(deliver: impl Fn(Reply) + 'static) -> Kernel {
        Kernel(Rc::new(KernelState {
            job: RefCell::new(None),
            busy: std::cell::Cell::new(false),
            current: RefCell::new(None),
            next: RefCell::new(None),
            holder: Holder::default(),
            deliver: Box::new(deliver),
        }))
    }

    /// Send `ask` about the doc whose image is `image` now, or once the request being served is
    /// answered, in place of any other waiting.
    pub fn ask(&self, ask: Rc<KernelAsk>, image: Rc<[u8]>) {
        if self.0.busy.get() {
            *self.0.next.borrow_mut() = Some((ask, image));
        } else {
            send(&self.0, ask, image);
        }
    }
}

fn send(k: &Rc<KernelState>, ask: Rc<KernelAsk>, image: Rc<[u8]>) {
    k.busy.set(true);
    let (request, transfer) = k.holder.request(&ask, &image);
    *k.current.borrow_mut() = Some((ask, image));
    let mut job = k.job.borrow_mut();
    if let Some(j) = job.as_ref() {
        if let Err(e) = j.post_with(request, transfer) {
            drop(job);
            answered(k, Reply::Failed(e));
        }
        return;
    }
    let weak = Rc::downgrade(k);
    match start(request, transfer, move |reply| {
        if let Some(k) = weak.upgrade() {
            answered(&k, reply);
        }
    }) {
        Ok(j) => *job = Some(j),
        Err(e) => {
            drop(job);
            answered(k, Reply::Failed(e));
        }
    }
}

fn answered(k: &Rc<KernelState>, reply: Reply) {
    k.busy.set(false);
    let current = k.current.borrow_mut().take();
    match reply {
        // What the worker holds after a failure is not known: the next request sends its image.
        Reply::Failed(_) => k.holder.forget(),
        // It holds another image: the request again with its own (unless a newer one waits).
        Reply::Unheld => {
            k.holder.forget();
            let next = k.next.borrow_mut().take().or(current);
            if let Some((ask, image)) = next {
                send(k, ask, image);
            }
            return;
        }
        _ => {}
    }
    (k.deliver)(reply);
    let next = k.next.borrow_mut().take();
    if let Some((ask, image)) = next {
        send(k, ask, image);
    }
}

/// Which doc's image the worker was sent last (requests are served in the order sent, so a
/// request after it finds the image there).
#[derive(Debug, Default)]
pub struct Holder(std::cell::Cell<Option<u64>>);

impl Holder {
    /// The request of `ask` and its transfer list, with `image` if the worker was not sent it.
    pub fn request(&self, ask: &KernelAsk, image: &[u8]) -> (JsValue, js_sys::Array) {
        let sent = self.0.replace(Some(ask.doc)) == Some(ask.doc);
        kernel_request(ask, (!sent).then_some(image))
    }
    /// The worker may hold nothing.
    pub fn forget(&self) {
        self.0.set(None);
    }
}

/// The kernel worker's request `ask`, with its doc's image if given, and its transfer list.
pub fn kernel_request(ask: &KernelAsk, image: Option<&[u8]>) -> (JsValue, js_sys::Array) {
    let transfer = js_sys::Array::new();
    let req = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&req, &"mode".into(), &JsValue::from_str(Mode::Kernel.as_str()));
    let data = message::encode(ask);
    for (k, bytes) in [("data", Some(data.as_slice())), ("image", image)] {
        let Some(bytes) = bytes else { continue };
        let a = js_sys::Uint8Array::from(bytes);
        transfer.push(&a.buffer());
        let _ = js_sys::Reflect::set(&req, &k.into(), &a);
    }
    (req.into(), transfer)
}

/// Serve `request` in the page with the handler [`serve_in_process`] set, and decode the last
/// message it posts (`None`: no handler, or nothing posted). The browser tests answer the
/// state's kernel requests with it (`state::settle`).
pub async fn serve_here(request: JsValue) -> Option<Reply> {
    let handler = IN_PROCESS.with(|h| *h.borrow())?;
    let got = Rc::new(RefCell::new(None));
    let post: Post = {
        let got = got.clone();
        Rc::new(move |msg, _transfer| *got.borrow_mut() = Some(msg))
    };
    handler(request, post).await;
    let msg = got.borrow_mut().take()?;
    decode(msg).map(|r| r.unwrap_or_else(Reply::Failed))
}

/// The request `{mode: "fields", data}` to walk an entry.
pub fn walk_request(walk: &Walk) -> JsValue {
    let req = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&req, &"mode".into(), &JsValue::from_str(Mode::Fields.as_str()));
    let data = js_sys::Uint8Array::from(message::encode(walk).as_slice());
    let _ = js_sys::Reflect::set(&req, &"data".into(), &data);
    req.into()
}

/// A checkpoint's entry walker ([`crate::criu::CriuDoc::set_walker`]): a worker of its own,
/// started at the first walk (a few MB: it holds only the entry it walks, unlike the worker that
/// read the checkpoint, whose memory stays at the peak of the reading), and terminated when the
/// walker is dropped with its doc. `on_fields` gets each walked entry.
pub fn walker(on_fields: impl Fn(Box<Fields>) + 'static) -> crate::criu::Walker {
    let job: RefCell<Option<Job>> = RefCell::new(None);
    let on_fields = Rc::new(on_fields);
    Box::new(move |walk: Walk| {
        let request = walk_request(&walk);
        let mut job = job.borrow_mut();
        if let Some(j) = job.as_ref() {
            return j.post(request);
        }
        let on_fields = on_fields.clone();
        // A walker that cannot start shows no fields (the bytes and the framing stay shown).
        *job = start(request, js_sys::Array::new(), move |reply| {
            if let Reply::Fields(f) = reply {
                on_fields(f);
            }
        })
        .ok();
    })
}

fn failed(message: &str) -> JsValue {
    let o = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&o, &"type".into(), &"failed".into());
    let _ = js_sys::Reflect::set(&o, &"message".into(), &JsValue::from_str(message));
    o.into()
}

/// What to send: a file's bytes in the page, or a browser file the worker reads itself.
#[derive(Debug, Clone)]
pub enum Data {
    Bytes(Vec<u8>),
    Blob(web_sys::Blob),
}

/// The request `{mode, files: [{name, bytes}]}` and its transfer list (the page's own byte
/// copies are transferred; Blobs are cloned, which does not copy their data).
pub fn request(mode: Mode, files: Vec<(String, Data)>) -> (JsValue, js_sys::Array) {
    let transfer = js_sys::Array::new();
    let list = js_sys::Array::new();
    for (name, data) in files {
        let o = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&o, &"name".into(), &JsValue::from_str(&name));
        let bytes: JsValue = match data {
            Data::Bytes(b) => {
                let a = js_sys::Uint8Array::from(b.as_slice());
                transfer.push(&a.buffer());
                a.into()
            }
            Data::Blob(b) => b.into(),
        };
        let _ = js_sys::Reflect::set(&o, &"bytes".into(), &bytes);
        list.push(&o);
    }
    (request_of(mode, &list), transfer)
}

/// The request `{mode, files}` of a JS array of files.
pub fn request_of(mode: Mode, files: &JsValue) -> JsValue {
    let req = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&req, &"mode".into(), &JsValue::from_str(mode.as_str()));
    let _ = js_sys::Reflect::set(&req, &"files".into(), files);
    req.into()
}
