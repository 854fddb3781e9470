//! Reading what the user gives the inspector (effects, never in the reducer): picked files, a
//! picked directory (`<input webkitdirectory>`), and drops of files or folders
//! (`DataTransferItem.webkitGetAsEntry()`, the directory read with `FileSystemDirectoryReader`).
//! Everything ends as named files for `job::open_files`, where core decides by content what
//! they are. A directory is read one level deep, as `criu dump -D DIR` writes it (the CLI
//! reads the same level).

use crate::client::Data;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File, FileSystemDirectoryEntry, FileSystemEntry, FileSystemFileEntry};

/// Named files to open, and the name to show for them.
#[derive(Debug, Default)]
pub struct Picked {
    /// A directory's name, the one file's name, or `N files`.
    pub name: String,
    pub files: Vec<(String, File)>,
}

fn js_error(e: JsValue) -> String {
    e.as_string()
        .or_else(|| js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()))
        .unwrap_or_else(|| "the browser could not read it".into())
}

/// The bytes of a browser file (or a part of one).
pub async fn bytes_of_blob(blob: &Blob) -> Result<Vec<u8>, String> {
    let buf = JsFuture::from(blob.array_buffer()).await.map_err(js_error)?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

/// The picked files as named data, unread: the page reads one resocket image itself, the
/// checkpoint reader's worker everything else (`job::open_files`). Of a directory (more than
/// one file), the raw memory images (`pages-N.img`, often most of a checkpoint's size) are not
/// read: core lists them by name as skipped (`detect::image_dir_entry`), so they are passed
/// empty.
pub fn named(picked: Picked) -> (String, Vec<(String, Data)>) {
    let several = picked.files.len() > 1;
    let files = picked
        .files
        .into_iter()
        .map(|(name, f)| {
            let pages =
                several && resocket_core::detect::image_dir_entry(&name) == Some(resocket_core::detect::Skip::RawPages);
            let data = if pages { Data::Bytes(Vec::new()) } else { Data::Blob(f.into()) };
            (name, data)
        })
        .collect();
    (picked.name, files)
}

fn name_for(files: &[(String, File)], dir: Option<String>) -> String {
    match (dir, files) {
        (Some(d), _) => d,
        (None, [(n, _)]) => n.clone(),
        (None, fs) => format!("{} files", fs.len()),
    }
}

/// The files of an `<input type=file>` (`multiple` or `webkitdirectory`). For a directory the
/// files directly in the picked directory are kept (`webkitRelativePath` `DIR/NAME`).
pub fn from_input(list: &web_sys::FileList) -> Picked {
    let mut files = Vec::new();
    let mut dir = None;
    for i in 0..list.length() {
        let Some(f) = list.get(i) else { continue };
        let rel = js_sys::Reflect::get(&f, &"webkitRelativePath".into()).ok().and_then(|v| v.as_string());
        match rel.as_deref().filter(|r| !r.is_empty()).map(|r| r.split('/').collect::<Vec<_>>()) {
            Some(parts) if parts.len() == 2 => {
                dir.get_or_insert_with(|| parts[0].to_string());
                files.push((parts[1].to_string(), f));
            }
            Some(_) => {} // deeper than the picked directory
            None => files.push((f.name(), f)),
        }
    }
    Picked { name: name_for(&files, dir), files }
}

/// The entries of a drop, taken while the drop event runs (they are gone after it).
pub fn drop_entries(dt: &web_sys::DataTransfer) -> Vec<FileSystemEntry> {
    let items = dt.items();
    (0..items.length()).filter_map(|i| items.get(i)).filter_map(|it| it.webkit_get_as_entry().ok().flatten()).collect()
}

/// A callback-taking API as a future: `call(success, failure)`.
async fn promised(call: impl FnOnce(&js_sys::Function, &js_sys::Function)) -> Result<JsValue, String> {
    let mut call = Some(call);
    let p = js_sys::Promise::new(&mut |ok, err| {
        if let Some(c) = call.take() {
            c(&ok, &err);
        }
    });
    JsFuture::from(p).await.map_err(js_error)
}

async fn entry_file(e: &FileSystemFileEntry) -> Result<File, String> {
    let v = promised(|ok, err| e.file_with_callback_and_callback(ok, err)).await?;
    v.dyn_into::<File>().map_err(|_| format!("{}: not a file", e.name()))
}

/// Every entry of a directory (`readEntries` returns them in batches until an empty one).
async fn dir_entries(d: &FileSystemDirectoryEntry) -> Result<Vec<FileSystemEntry>, String> {
    let reader = d.create_reader();
    let mut out = Vec::new();
    loop {
        let v = promised(|ok, err| {
            if let Err(e) = reader.read_entries_with_callback_and_callback(ok, err) {
                let _ = err.call1(&JsValue::NULL, &e);
            }
        })
        .await?;
        let batch: js_sys::Array = v.dyn_into().map_err(|_| format!("{}: unreadable directory", d.name()))?;
        if batch.length() == 0 {
            return Ok(out);
        }
        out.extend(batch.iter().filter_map(|e| e.dyn_into::<FileSystemEntry>().ok()));
    }
}

/// The files of a drop: dropped files, and the files directly in a dropped directory.
pub async fn from_drop(entries: Vec<FileSystemEntry>) -> Result<Picked, String> {
    let mut files = Vec::new();
    let mut dir = None;
    for e in entries {
        if let Some(f) = e.dyn_ref::<FileSystemFileEntry>().filter(|_| e.is_file()) {
            files.push((e.name(), entry_file(f).await?));
        } else if let Some(d) = e.dyn_ref::<FileSystemDirectoryEntry>().filter(|_| e.is_directory()) {
            dir.get_or_insert_with(|| e.name());
            for c in dir_entries(d).await? {
                if let Some(f) = c.dyn_ref::<FileSystemFileEntry>().filter(|_| c.is_file()) {
                    files.push((c.name(), entry_file(f).await?));
                }
            }
        }
    }
    Ok(Picked { name: name_for(&files, dir), files })
}
