//! [`ByObjref`]: the image's sockets and files by objref, each stored as one `Vec` sorted by
//! objref.
//!
//! Images number their objects in increasing order as they define them (`docs/format.md`), so
//! the loader's definition-order vectors are almost always sorted already: building the map is a
//! check, not a sort, and the objects are never moved again (a `BTreeMap` moved each ~300-byte
//! `Sock` into its nodes: a fifth of `load`'s time on header-heavy images). Lookups are binary
//! searches; iteration is in objref order, as with the maps this replaces.

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

/// Objects by objref, in objref order. Objrefs are unique.
#[derive(Debug, Clone, PartialEq)]
pub struct ByObjref<T> {
    by_objref: Vec<T>,
}

/// The image's sockets by objref.
pub type Sockets<'a> = ByObjref<Sock<'a>>;
/// The image's socket files by objref.
pub type Files = ByObjref<FileObj>;

impl<T> Default for ByObjref<T> {
    fn default() -> Self {
        ByObjref { by_objref: Vec::new() }
    }
}

impl<T: HasObjref> ByObjref<T> {
    /// From objects in any order; of two with the same objref the later one is kept (the
    /// loader reports the duplicate; this matches inserting them one by one into a map).
    pub fn from_vec(mut v: Vec<T>) -> Self {
        if !v.windows(2).all(|w| w[0].objref() < w[1].objref()) {
            // Stable: equal objrefs keep their input order, and the last one wins below.
            crate::order::sort_by_rank(&mut v, |s| crate::order::rank_i32(s.objref()));
            let mut out: Vec<T> = Vec::with_capacity(v.len());
            for s in v {
                match out.last_mut() {
                    Some(last) if last.objref() == s.objref() => *last = s,
                    _ => out.push(s),
                }
            }
            v = out;
        }
        ByObjref { by_objref: v }
    }

    /// Number of sockets.
    pub fn len(&self) -> usize {
        self.by_objref.len()
    }

    /// No sockets.
    pub fn is_empty(&self) -> bool {
        self.by_objref.is_empty()
    }

    fn position(&self, objref: i32) -> Option<usize> {
        self.by_objref.binary_search_by_key(&objref, |s| s.objref()).ok()
    }

    /// The socket with this objref.
    pub fn get(&self, objref: &i32) -> Option<&T> {
        self.position(*objref).map(|i| &self.by_objref[i])
    }

    /// The socket with this objref, mutably (its objref must not change).
    pub fn get_mut(&mut self, objref: &i32) -> Option<&mut T> {
        self.position(*objref).map(|i| &mut self.by_objref[i])
    }

    /// Whether a socket has this objref.
    pub fn contains_key(&self, objref: &i32) -> bool {
        self.position(*objref).is_some()
    }

    /// Insert (or replace) a socket, keeping the order; returns the socket it replaced.
    pub fn insert(&mut self, s: T) -> Option<T> {
        match self.by_objref.binary_search_by_key(&s.objref(), |x| x.objref()) {
            Ok(i) => Some(std::mem::replace(&mut self.by_objref[i], s)),
            Err(i) => {
                self.by_objref.insert(i, s);
                None
            }
        }
    }

    /// Sockets in objref order.
    pub fn values(&self) -> std::slice::Iter<'_, T> {
        self.by_objref.iter()
    }

    /// Sockets in objref order, mutably (objrefs must not change).
    pub fn values_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.by_objref.iter_mut()
    }

    /// Objrefs in increasing order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = i32> + ExactSizeIterator + '_ {
        self.by_objref.iter().map(|s| s.objref())
    }

    /// `(objref, socket)` in objref order, like a map's `iter`.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (i32, &T)> + ExactSizeIterator + '_ {
        self.by_objref.iter().map(|s| (s.objref(), s))
    }

    /// The sockets as a slice, in objref order.
    pub fn as_slice(&self) -> &[T] {
        &self.by_objref
    }

    /// The sockets, in objref order.
    pub fn into_vec(self) -> Vec<T> {
        self.by_objref
    }
}

impl<'s, T: HasObjref> IntoIterator for &'s ByObjref<T> {
    type Item = (i32, &'s T);
    type IntoIter = std::iter::Map<std::slice::Iter<'s, T>, fn(&'s T) -> (i32, &'s T)>;
    fn into_iter(self) -> Self::IntoIter {
        self.by_objref.iter().map(|s| (s.objref(), s))
    }
}

impl<T: HasObjref> FromIterator<T> for ByObjref<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        ByObjref::from_vec(iter.into_iter().collect())
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
}
