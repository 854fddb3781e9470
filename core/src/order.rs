//! Sorting and collecting with one sort for the whole crate.
//!
//! Every `sort_by_key` and every `collect()` into a `BTreeMap`/`BTreeSet` (which sorts its
//! input first) instantiates the standard library's stable sort for its own element and closure
//! types: ~3.5 KB of wasm each, a dozen of them in the browser bundle. Here the caller gives a
//! `u128` rank instead of a key; the ranks are sorted together with their input positions by one
//! `sort_unstable` on `(u128, usize)` (the pairs are distinct, so that order is the stable one)
//! and the permutation is applied in place. The maps are built by inserting one by one, with the
//! `insert` that every map type has anyway.

use std::collections::{BTreeMap, BTreeSet};

/// Sort `v` stably by `rank` (ties keep their input order).
pub fn sort_by_rank<T>(v: &mut [T], rank: impl Fn(&T) -> u128) {
    if v.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])) {
        return;
    }
    let mut keyed: Vec<(u128, usize)> = v.iter().enumerate().map(|(i, x)| (rank(x), i)).collect();
    keyed.sort_unstable();
    // `from[j]`: the input position of the element that goes to position j.
    let mut from: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    for start in 0..v.len() {
        // Follow the cycle through `start`; a placed position is marked by `from[p] == p`.
        let mut at = start;
        loop {
            let next = from[at];
            from[at] = at;
            if next == start {
                break;
            }
            v.swap(at, next);
            at = next;
        }
    }
}

/// The rank of an `i32`, in `i32` order.
pub fn rank_i32(x: i32) -> u128 {
    u128::from((x as u32) ^ 0x8000_0000)
}

/// The rank of a pair, ordered by `hi` then `lo`.
pub fn rank_pair(hi: u64, lo: u64) -> u128 {
    (u128::from(hi) << 64) | u128::from(lo)
}

/// The run of `v` (sorted by `key`, as `sort_by_rank` with `rank_i32` leaves it) whose key is
/// `k`, in its order: a map of lists without a map type.
pub fn run_of<T>(v: &[T], k: i32, key: impl Fn(&T) -> i32) -> &[T] {
    let from = v.partition_point(|x| key(x) < k);
    let len = v[from..].partition_point(|x| key(x) == k);
    &v[from..from + len]
}

/// A map from pairs; of two with the same key the later one is kept, as with `collect()`.
pub fn map<K: Ord, V>(pairs: impl IntoIterator<Item = (K, V)>) -> BTreeMap<K, V> {
    let mut m = BTreeMap::new();
    m.extend(pairs);
    m
}

/// A set from items, as with `collect()`.
pub fn set<K: Ord>(items: impl IntoIterator<Item = K>) -> BTreeSet<K> {
    let mut s = BTreeSet::new();
    s.extend(items);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every vector of length up to 6 over keys 0..3 (with its input position as the payload):
    /// `sort_by_rank` gives exactly the standard stable sort. Runs natively and in node.
    #[test]
    fn sort_by_rank_is_the_stable_sort_on_every_small_input() {
        for len in 0..=6u32 {
            for code in 0..3u32.pow(len) {
                let v: Vec<(i32, u32)> = (0..len).map(|i| ((code / 3u32.pow(i) % 3) as i32 - 1, i)).collect();
                let mut want = v.clone();
                want.sort_by_key(|p| p.0);
                let mut got = v;
                sort_by_rank(&mut got, |p| rank_i32(p.0));
                assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn ranks_keep_the_order() {
        let xs = [i32::MIN, -2, -1, 0, 1, 2, i32::MAX];
        for a in xs {
            for b in xs {
                assert_eq!(rank_i32(a).cmp(&rank_i32(b)), a.cmp(&b));
            }
        }
        let ys = [0, 1, u64::MAX - 1, u64::MAX];
        for a in ys {
            for b in ys {
                for c in ys {
                    for d in ys {
                        assert_eq!(rank_pair(a, b).cmp(&rank_pair(c, d)), (a, b).cmp(&(c, d)));
                    }
                }
            }
        }
    }

    #[test]
    fn run_of_is_the_filter_of_a_sorted_list() {
        let mut v = vec![(3, 'a'), (-1, 'b'), (3, 'c'), (7, 'd'), (-1, 'e'), (3, 'f')];
        sort_by_rank(&mut v, |x| rank_i32(x.0));
        for k in [-2, -1, 0, 3, 7, 8] {
            let want: Vec<(i32, char)> = v.iter().copied().filter(|x| x.0 == k).collect();
            assert_eq!(run_of(&v, k, |x| x.0), &want[..], "{k}");
        }
        assert_eq!(run_of(&v, 3, |x| x.0), &[(3, 'a'), (3, 'c'), (3, 'f')]);
        assert!(run_of::<(i32, char)>(&[], 1, |x| x.0).is_empty());
    }

    #[test]
    fn map_and_set_are_collect() {
        let pairs = [(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        assert_eq!(map(pairs), pairs.into_iter().collect::<BTreeMap<_, _>>());
        assert_eq!(set([5, 1, 5, 3]), [5, 1, 5, 3].into_iter().collect::<BTreeSet<_>>());
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sort_by_rank_is_the_stable_sort(v in proptest::collection::vec((any::<i32>(), any::<u8>()), 0..200)) {
            let mut want = v.clone();
            want.sort_by_key(|p| p.0);
            let mut got = v;
            sort_by_rank(&mut got, |p| rank_i32(p.0));
            prop_assert_eq!(got, want);
        }

        #[test]
        fn map_keeps_the_last_like_collect(v in proptest::collection::vec((0u8..8, any::<u8>()), 0..32)) {
            let want: BTreeMap<u8, u8> = v.iter().copied().collect();
            prop_assert_eq!(map(v), want);
        }
    }
}
