//! The walk over the tar members: CRIU images kept (within the limits), other members listed,
//! metadata files parsed into the [`Container`](super::Container).

use super::stream::Counted;
use super::*;
use std::cell::RefCell;
use std::io::Read;

/// Metadata files kept for parsing.
#[derive(Debug, Default)]
pub(super) struct Meta {
    pub(super) config: Option<Vec<u8>>,
    pub(super) spec: Option<Vec<u8>>,
    /// containerd's `status` file is there.
    pub(super) containerd_status: bool,
}

#[derive(Debug)]
pub(super) enum WalkError {
    Own(ArchiveError),
    Io { member: usize, error: io::Error },
}

pub(super) struct Walk {
    pub(super) limits: Limits,
    pub(super) kept: u64,
    /// (path in the archive, bytes) of every `*.img`.
    pub(super) images: Vec<(String, Vec<u8>)>,
    pub(super) members: Vec<Member>,
    pub(super) meta: Meta,
    pub(super) warnings: Vec<Warning>,
}

/// A member's path: bytes as UTF-8 (lossy), `./` and `/` prefixes and empty or `.` components
/// removed. `..` is kept (such a member is listed, never taken as an image).
pub(super) fn clean_path(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let parts: Vec<&str> = s.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    parts.join("/")
}

pub(super) fn kind_of(t: tar::EntryType) -> MemberKind {
    match t {
        tar::EntryType::Regular | tar::EntryType::Continuous => MemberKind::File,
        tar::EntryType::Directory => MemberKind::Directory,
        tar::EntryType::Symlink => MemberKind::Symlink,
        tar::EntryType::Link => MemberKind::HardLink,
        _ => MemberKind::Other,
    }
}

impl Walk {
    pub(super) fn entries<R: Read>(
        &mut self,
        ar: &mut tar::Archive<R>,
        src: &RefCell<Counted<'_>>,
    ) -> Result<(), WalkError> {
        let io_err = |member: usize| move |error: io::Error| WalkError::Io { member, error };
        let mut entries = ar.entries().map_err(io_err(0))?;
        for idx in 0.. {
            {
                let mut s = src.borrow_mut();
                s.window = Some(s.count);
            }
            let next = entries.next();
            src.borrow_mut().window = None;
            let Some(entry) = next else { break };
            if idx >= self.limits.max_members {
                return Err(WalkError::Own(ArchiveError::TooManyMembers { limit: self.limits.max_members }));
            }
            let mut entry = entry.map_err(io_err(idx))?;
            let kind = kind_of(entry.header().entry_type());
            let path = clean_path(&entry.path_bytes());
            let declared = entry.size();
            let keep = kind == MemberKind::File && Keep::of(&path, declared) != Keep::No;
            if keep {
                let want = Keep::of(&path, declared);
                if want == Keep::TooBigMetadata {
                    self.warnings.push(Warning::MetadataTooBig { file: path.clone(), size: declared });
                } else {
                    if self.kept.saturating_add(declared) > self.limits.max_kept {
                        return Err(WalkError::Own(ArchiveError::TooMuchKept {
                            path,
                            size: declared,
                            limit: self.limits.max_kept,
                        }));
                    }
                    // Grows with the data actually read, never sized from the header.
                    let mut data = Vec::new();
                    (&mut entry).take(declared).read_to_end(&mut data).map_err(io_err(idx))?;
                    if data.len() as u64 != declared {
                        return Err(WalkError::Own(ArchiveError::Truncated {
                            path,
                            declared,
                            actual: data.len() as u64,
                        }));
                    }
                    self.kept += declared;
                    match want {
                        Keep::Image => {
                            if self.images.iter().any(|(p, _)| *p == path) {
                                self.warnings.push(Warning::DuplicateImage { path: path.clone() });
                                self.images.retain(|(p, _)| *p != path);
                            }
                            self.images.push((path, data));
                            continue;
                        }
                        Keep::Config => self.meta.config = Some(data),
                        Keep::Spec => self.meta.spec = Some(data),
                        Keep::No | Keep::TooBigMetadata => {}
                    }
                    self.members.push(Member { path, size: declared, kind });
                    continue;
                }
            }
            if path == "status" && kind == MemberKind::File {
                self.meta.containerd_status = true;
            }
            // Skipped members are read through (counted against the unpack limit) and their
            // length compared with the header's.
            if kind == MemberKind::File {
                let actual = io::copy(&mut (&mut entry).take(declared), &mut io::sink()).map_err(io_err(idx))?;
                if actual != declared {
                    return Err(WalkError::Own(ArchiveError::Truncated { path, declared, actual }));
                }
            }
            self.members.push(Member { path, size: declared, kind });
        }
        Ok(())
    }

    pub(super) fn finish(mut self, compression: Compression, unpacked: u64) -> Result<Archive, ArchiveError> {
        // The images: under checkpoint/ (a container archive), else at the top, else under
        // the one directory that holds any.
        let in_dir = |p: &str, dir: &str| -> bool {
            let rest = if dir.is_empty() { Some(p) } else { p.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) };
            rest.is_some_and(|r| !r.contains('/'))
        };
        let dir = if self.images.iter().any(|(p, _)| in_dir(p, "checkpoint")) {
            "checkpoint".to_string()
        } else if self.images.iter().any(|(p, _)| in_dir(p, "")) {
            String::new()
        } else {
            let mut dirs: Vec<&str> =
                self.images.iter().filter_map(|(p, _)| p.rsplit_once('/').map(|(d, _)| d)).collect();
            dirs.sort_unstable();
            dirs.dedup();
            match dirs.as_slice() {
                [one] => (*one).to_string(),
                _ => return Err(ArchiveError::NoImages),
            }
        };
        let mut images = Vec::new();
        for (path, bytes) in std::mem::take(&mut self.images) {
            if in_dir(&path, &dir) {
                let name = path.rsplit('/').next().unwrap_or(&path).to_string();
                images.push(ImageFile { name, bytes });
            } else {
                self.members.push(Member { size: bytes.len() as u64, path, kind: MemberKind::File });
            }
        }
        images.sort_by(|a, b| a.name.cmp(&b.name));
        let container = self.container();
        let layout = if dir == "checkpoint" { Layout::Container } else { Layout::Bare { dir } };
        Ok(Archive { compression, layout, images, container, members: self.members, unpacked, warnings: self.warnings })
    }

    /// The container metadata, as checkpointctl reads it (`internal/container.go`).
    pub(super) fn container(&mut self) -> Option<Container> {
        use serde_json::Value;
        if self.meta.config.is_none() && self.meta.spec.is_none() {
            return None;
        }
        let mut parse = |file: &str, bytes: Option<Vec<u8>>| -> Option<Value> {
            let bytes = bytes?;
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(v @ Value::Object(_)) => Some(v),
                Ok(_) => {
                    self.warnings.push(Warning::BadMetadata { file: file.into(), message: "not a JSON object".into() });
                    None
                }
                Err(e) => {
                    self.warnings.push(Warning::BadMetadata { file: file.into(), message: e.to_string() });
                    None
                }
            }
        };
        let config = parse("config.dump", self.meta.config.take());
        let spec = parse("spec.dump", self.meta.spec.take());
        let text = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        let conf = |k: &str| text(config.as_ref().and_then(|c| c.get(k)));
        let ann = |k: &str| text(spec.as_ref().and_then(|s| s.get("annotations")).and_then(|a| a.get(k)));
        let mut c = Container {
            engine: None,
            id: conf("id"),
            name: conf("name"),
            image: conf("rootfsImageName").or_else(|| conf("rootfsImage")),
            runtime: conf("runtime"),
            // Go's zero time is what an unset time.Time marshals to.
            created: conf("createdTime").filter(|t| !t.starts_with("0001-01-01")),
            checkpointed: conf("checkpointedTime").filter(|t| !t.starts_with("0001-01-01")),
            namespace: None,
            pod: None,
        };
        match ann("io.container.manager").as_deref() {
            Some("libpod") => c.engine = Some(Engine::Podman),
            Some("cri-o") => {
                c.engine = Some(Engine::CriO);
                // {"name": "...", "attempt": N}
                if let Some(m) = ann("io.kubernetes.cri-o.Metadata") {
                    if let Ok(v) = serde_json::from_str::<Value>(&m) {
                        c.name = text(v.get("name")).or(c.name);
                    }
                }
                c.created = ann("io.kubernetes.cri-o.Created").or(c.created);
                c.namespace = ann("io.kubernetes.pod.namespace");
                c.pod = ann("io.kubernetes.pod.name");
                if c.image.is_none() {
                    c.image = ann("io.kubernetes.cri-o.ImageName");
                }
            }
            _ if ann("io.kubernetes.cri.container-name").is_some() || self.meta.containerd_status => {
                c.engine = Some(Engine::Containerd);
                c.name = ann("io.kubernetes.cri.container-name").or(c.name);
                c.namespace = ann("io.kubernetes.cri.sandbox-namespace");
                c.pod = ann("io.kubernetes.cri.sandbox-name");
                if c.image.is_none() {
                    c.image = ann("io.kubernetes.cri.image-name");
                }
            }
            _ => c.engine = Some(Engine::Unknown),
        }
        Some(c)
    }
}

/// What to keep of a regular member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keep {
    No,
    Image,
    Config,
    Spec,
    TooBigMetadata,
}

impl Keep {
    pub(super) fn of(path: &str, size: u64) -> Keep {
        let unsafe_path = path.split('/').any(|c| c == "..");
        if unsafe_path {
            return Keep::No;
        }
        let meta = match path {
            "config.dump" => Keep::Config,
            "spec.dump" => Keep::Spec,
            _ if path.ends_with(".img") && !is_raw_pages(path.rsplit('/').next().unwrap_or(path)) => {
                return Keep::Image
            }
            _ => return Keep::No,
        };
        if size > MAX_METADATA {
            Keep::TooBigMetadata
        } else {
            meta
        }
    }
}
