//! [`ByObjref`]: the image's sockets and files by objref, each stored in objref order in
//! fixed-size chunks.
//!
//! Images number their objects in increasing order as they define them (`docs/format.md`), so
//! the loader's definition-order list is almost always sorted already: building the map is a
//! check, not a sort, and the objects are never moved again (a `BTreeMap` moved each ~250-byte
//! `Sock` into its nodes: a fifth of `load`'s time on header-heavy images). Lookups are binary
//! searches; iteration is in objref order, as with the maps this replaces.
//!
//! The storage is a list of chunks of [`CHUNK`] objects rather than one `Vec`: a growing `Vec`
//! copies every object at each doubling, and at 100k sockets its ~30 MB allocation is above
//! glibc's mmap threshold (32 MiB at most), so every load got fresh pages and faulted them in.
//! 64 KiB chunks are never moved once filled and come from (and go back to) the heap.

use super::{FileObj, Sock};

/// An object numbered by an objref.
pub trait HasObjref {
    /// Its objref.
    fn objref(&self) -> i32;
}

impl HasObjref for Sock<'_> {
    fn objref(&self) -> i32 {
        self.objref
    }
}

impl HasObjref for FileObj {
    fn objref(&self) -> i32 {
        self.objref
    }
}

/// Objects per chunk of a [`Chunks`] (a power of two: 64 KiB of 256-byte `Sock`s).
pub(crate) const CHUNK: usize = 256;

/// A list that grows by whole chunks of [`CHUNK`] objects, every chunk full but the last: no
/// object moves when it grows. Indexed by position; knows whether its objrefs increase.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chunks<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
    /// Objrefs strictly increase so far, and the last one.
    sorted: bool,
    last: i32,
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Chunks { chunks: Vec::new(), len: 0, sorted: true, last: i32::MIN }
    }
}

impl<T: HasObjref> Chunks<T> {
    pub(crate) fn push(&mut self, t: T) {
        let k = t.objref();
        self.sorted &= self.len == 0 || k > self.last;
        self.last = k;
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push(t),
            _ => {
                let mut c = Vec::with_capacity(CHUNK);
                c.push(t);
                self.chunks.push(c);
            }
        }
        self.len += 1;
    }
}

impl<T> Chunks<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }
    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK).and_then(|c| c.get(i % CHUNK))
    }
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.chunks.get_mut(i / CHUNK).and_then(|c| c.get_mut(i % CHUNK))
    }
    fn iter(&self) -> Values<'_, T> {
        Values { inner: self.chunks.iter().flatten(), left: self.len }
    }
    fn into_vec(self) -> Vec<T> {
        let mut v = Vec::with_capacity(self.len);
        for c in self.chunks {
            v.extend(c);
        }
        v
    }
}

impl<T: HasObjref> FromIterator<T> for Chunks<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut c = Chunks::default();
        for t in iter {
            c.push(t);
        }
        c
    }
}

/// Iterator over a [`ByObjref`]'s objects in objref order.
#[derive(Debug, Clone)]
pub struct Values<'a, T> {
    inner: std::iter::Flatten<std::slice::Iter<'a, Vec<T>>>,
    left: usize,
}

impl<'a, T> Iterator for Values<'a, T> {
    type Item = &'a T;
    fn next(&mut self) -> Option<&'a T> {
        let t = self.inner.next()?;
        self.left -= 1;
        Some(t)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T> DoubleEndedIterator for Values<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let t = self.inner.next_back()?;
        self.left -= 1;
        Some(t)
    }
}

impl<T> ExactSizeIterator for Values<'_, T> {}

/// Objects by objref, in objref order. Objrefs are unique.
#[derive(Clone, PartialEq)]
pub struct ByObjref<T> {
    by_objref: Chunks<T>,
}

impl<T: std::fmt::Debug> std::fmt::Debug for ByObjref<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_objref.iter()).finish()
    }
}

/// The image's sockets by objref.
pub type Sockets<'a> = ByObjref<Sock<'a>>;
/// The image's socket files by objref.
pub type Files = ByObjref<FileObj>;

impl<T> Default for ByObjref<T> {
    fn default() -> Self {
        ByObjref { by_objref: Chunks::default() }
    }
}

impl<T: HasObjref> ByObjref<T> {
    /// From objects in any order; of two with the same objref the later one is kept (the
    /// loader reports the duplicate; this matches inserting them one by one into a map).
    pub fn from_vec(v: Vec<T>) -> Self {
        Self::from_chunks(v.into_iter().collect())
    }

    /// [`ByObjref::from_vec`] without moving objects that are already in order.
    pub(crate) fn from_chunks(c: Chunks<T>) -> Self {
        if c.sorted {
            return ByObjref { by_objref: c };
        }
        let mut v = c.into_vec();
        // Stable: equal objrefs keep their input order, and the last one wins below.
        crate::order::sort_by_rank(&mut v, |s| crate::order::rank_i32(s.objref()));
        let mut out: Vec<T> = Vec::with_capacity(v.len());
        for s in v {
            match out.last_mut() {
                Some(last) if last.objref() == s.objref() => *last = s,
                _ => out.push(s),
            }
        }
        ByObjref { by_objref: out.into_iter().collect() }
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.by_objref.len()
    }

    /// No objects.
    pub fn is_empty(&self) -> bool {
        self.by_objref.len() == 0
    }

    /// Position of `objref` (`Err`: where it would be inserted), by binary search.
    fn search(&self, objref: i32) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.by_objref.get(mid).map(HasObjref::objref) {
                Some(k) if k < objref => lo = mid + 1,
                Some(k) if k > objref => hi = mid,
                Some(_) => return Ok(mid),
                None => break,
            }
        }
        Err(lo)
    }

    /// The object with this objref.
    pub fn get(&self, objref: &i32) -> Option<&T> {
        self.search(*objref).ok().and_then(|i| self.by_objref.get(i))
    }

    /// The object with this objref, mutably (its objref must not change).
    pub fn get_mut(&mut self, objref: &i32) -> Option<&mut T> {
        self.search(*objref).ok().and_then(|i| self.by_objref.get_mut(i))
    }

    /// Whether an object has this objref.
    pub fn contains_key(&self, objref: &i32) -> bool {
        self.search(*objref).is_ok()
    }

    /// Insert (or replace) an object, keeping the order; returns the object it replaced.
    /// Appending (the largest objref so far) is O(1); inserting before the end is O(n).
    pub fn insert(&mut self, s: T) -> Option<T> {
        match self.search(s.objref()) {
            Ok(i) => self.by_objref.get_mut(i).map(|x| std::mem::replace(x, s)),
            Err(i) if i == self.len() => {
                self.by_objref.push(s);
                None
            }
            Err(i) => {
                let mut v = std::mem::take(&mut self.by_objref).into_vec();
                v.insert(i, s);
                self.by_objref = v.into_iter().collect();
                None
            }
        }
    }

    /// Objects in objref order.
    pub fn values(&self) -> Values<'_, T> {
        self.by_objref.iter()
    }

    /// Objects in objref order, mutably (objrefs must not change).
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> + '_ {
        self.by_objref.chunks.iter_mut().flatten()
    }

    /// Objrefs in increasing order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = i32> + ExactSizeIterator + '_ {
        self.values().map(|s| s.objref())
    }

    /// `(objref, object)` in objref order, like a map's `iter`.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (i32, &T)> + ExactSizeIterator + '_ {
        self.values().map(|s| (s.objref(), s))
    }

    /// The objects, in objref order.
    pub fn into_vec(self) -> Vec<T> {
        self.by_objref.into_vec()
    }
}

impl<'s, T: HasObjref> IntoIterator for &'s ByObjref<T> {
    type Item = (i32, &'s T);
    type IntoIter = std::iter::Map<Values<'s, T>, fn(&'s T) -> (i32, &'s T)>;
    fn into_iter(self) -> Self::IntoIter {
        self.values().map(|s| (s.objref(), s))
    }
}

impl<T: HasObjref> FromIterator<T> for ByObjref<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        ByObjref::from_chunks(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::SocketRepr;

    fn sock(objref: i32, offset: usize) -> Sock<'static> {
        Sock {
            objref,
            offset,
            record: 0,
            common: SocketRepr::default(),
            unix: None,
            inet: None,
            queue: Vec::new(),
            pending: Vec::new(),
            opts: None,
            oob: None,
        }
    }

    #[test]
    fn unsorted_input_is_sorted_and_the_last_duplicate_wins() {
        let s = Sockets::from_vec(vec![sock(5, 0), sock(2, 1), sock(5, 2), sock(3, 3)]);
        assert_eq!(s.keys().collect::<Vec<_>>(), [2, 3, 5]);
        assert_eq!(s.get(&5).map(|x| x.offset), Some(2));
        assert!(s.get(&4).is_none() && !s.contains_key(&1) && s.contains_key(&3));
    }

    #[test]
    fn insert_keeps_objref_order() {
        let mut s = Sockets::from_vec(vec![sock(1, 0), sock(9, 0)]);
        assert!(s.insert(sock(4, 0)).is_none());
        assert_eq!(s.insert(sock(9, 7)).map(|x| x.offset), Some(0));
        assert_eq!(s.iter().map(|(k, v)| (k, v.offset)).collect::<Vec<_>>(), [(1, 0), (4, 0), (9, 7)]);
    }

    #[test]
    fn many_chunks_lookups_iteration_and_inserts() {
        let n = 3 * CHUNK as i32 + 7;
        let mut s: Sockets<'_> = (1..=n).map(|k| sock(2 * k, k as usize)).collect();
        assert_eq!(s.len(), n as usize);
        assert_eq!(s.values().len(), n as usize);
        assert_eq!(s.keys().next_back(), Some(2 * n));
        assert!(s.keys().eq((1..=n).map(|k| 2 * k)));
        assert!(s.keys().rev().eq((1..=n).rev().map(|k| 2 * k)));
        for k in 1..=n {
            assert_eq!(s.get(&(2 * k)).map(|x| x.offset), Some(k as usize));
            assert!(!s.contains_key(&(2 * k - 1)));
        }
        // In the middle (a rebuild), at the end (a push), and a replacement.
        assert!(s.insert(sock(2 * CHUNK as i32 + 1, 0)).is_none());
        assert!(s.insert(sock(2 * n + 2, 0)).is_none());
        assert_eq!(s.insert(sock(2, 9)).map(|x| x.offset), Some(1));
        let keys: Vec<i32> = s.keys().collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]) && keys.len() == n as usize + 2);
        assert_eq!(s.get(&(2 * CHUNK as i32 + 1)).map(|x| x.offset), Some(0));
        assert_eq!(s.clone().into_vec().len(), n as usize + 2);
        for x in s.values_mut() {
            x.record = 1;
        }
        assert!(s.values().all(|x| x.record == 1));
        // Out of order across chunks: sorted at the end, the last duplicate wins.
        let mut v: Vec<Sock<'_>> = (1..=n).rev().map(|k| sock(k, 0)).collect();
        v.push(sock(CHUNK as i32, 1));
        let s = Sockets::from_vec(v);
        assert!(s.keys().eq(1..=n));
        assert_eq!(s.get(&(CHUNK as i32)).map(|x| x.offset), Some(1));
    }
}
