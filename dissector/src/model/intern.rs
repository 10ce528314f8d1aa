//! String interning for topics, client ids, user names and filters: each distinct string is stored
//! once and referred to by a 4-byte [`Sym`], so ten million packet records on a few hundred topics
//! stay small.

use rustc_hash::FxHashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

/// An interned string: an index into a [`Interner`] (resolve with [`crate::model::Trace::str`]).
///
/// Non-zero inside, so `Option<Sym>` is still 4 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(NonZeroU32);

impl Sym {
    /// The 0-based position of the string in the interner (stable for a trace's lifetime).
    #[inline]
    pub fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }
    /// The symbol at a 0-based interner position (as [`Sym::index`] returns it).
    pub fn from_index(index: usize) -> Option<Sym> {
        u32::try_from(index)
            .ok()
            .and_then(|i| i.checked_add(1))
            .and_then(NonZeroU32::new)
            .map(Sym)
    }
}

impl serde::Serialize for Sym {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0.get() - 1)
    }
}

impl<'de> serde::Deserialize<'de> for Sym {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Sym, D::Error> {
        let i = <u32 as serde::Deserialize>::deserialize(d)?;
        Sym::from_index(i as usize)
            .ok_or_else(|| serde::de::Error::custom("symbol index out of range"))
    }
}

/// A lookup key: the shared string, hashed and compared as its bytes, so bytes from the wire
/// are looked up before (and, when found, without) checking that they are UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key(Arc<str>);

impl std::hash::Hash for Key {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Must hash exactly as `[u8]` does: lookups borrow the key as bytes.
        self.0.as_bytes().hash(state);
    }
}

impl std::borrow::Borrow<[u8]> for Key {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Stores each distinct string once; `Sym` → `&str` in O(1), `&str` → `Sym` by hash.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    strings: Vec<Arc<str>>,
    lookup: FxHashMap<Key, Sym>,
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Interner {
        Interner::default()
    }

    /// The symbol for `s`, adding it when new.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.lookup.get(s.as_bytes()) {
            return sym;
        }
        self.insert_new(s)
    }

    /// Adds a string known not to be interned yet.
    fn insert_new(&mut self, s: &str) -> Sym {
        // More than four billion distinct strings cannot come from a capture that fits anywhere;
        // saturate on the last symbol rather than panic.
        let sym = Sym::from_index(self.strings.len()).unwrap_or(Sym(NonZeroU32::MAX));
        let shared: Arc<str> = Arc::from(s);
        self.strings.push(Arc::clone(&shared));
        self.lookup.insert(Key(shared), sym);
        sym
    }

    /// Interns bytes from the wire, replacing invalid UTF-8 by U+FFFD. A string seen before is
    /// found by its bytes alone (every stored string is valid UTF-8, so equal bytes are too).
    #[inline]
    pub fn intern_bytes(&mut self, bytes: &[u8]) -> Sym {
        if let Some(&sym) = self.lookup.get(bytes) {
            return sym;
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => self.insert_new(s),
            Err(_) => self.intern(&String::from_utf8_lossy(bytes)),
        }
    }

    /// The symbol of `s` if it was interned.
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.lookup.get(s.as_bytes()).copied()
    }

    /// The string of a symbol ("" for a symbol from another interner that is out of range).
    #[inline]
    pub fn resolve(&self, sym: Sym) -> &str {
        self.strings.get(sym.index()).map_or("", |s| s)
    }

    /// Number of distinct strings.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// True when nothing is interned.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }

    /// All strings with their symbols, in interning order.
    pub fn iter(&self) -> impl Iterator<Item = (Sym, &str)> + '_ {
        self.strings
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Sym::from_index(i).map(|sym| (sym, &**s)))
    }
}

impl serde::Serialize for Interner {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.strings.iter().map(|s| &**s))
    }
}

impl<'de> serde::Deserialize<'de> for Interner {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Interner, D::Error> {
        let strings = <Vec<String> as serde::Deserialize>::deserialize(d)?;
        let mut interner = Interner::new();
        for s in &strings {
            interner.intern(s);
        }
        Ok(interner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_the_same_string_twice_gives_the_same_symbol() {
        let mut i = Interner::new();
        let a = i.intern("a/b");
        let b = i.intern("c");
        assert_eq!(i.intern("a/b"), a);
        assert_ne!(a, b);
        assert_eq!(i.resolve(a), "a/b");
        assert_eq!(i.resolve(b), "c");
        assert_eq!(i.len(), 2);
    }

    #[test]
    fn invalid_utf8_is_interned_lossily() {
        let mut i = Interner::new();
        let s = i.intern_bytes(b"a\xffb");
        assert_eq!(i.resolve(s), "a\u{fffd}b");
    }

    #[test]
    fn option_of_sym_is_four_bytes() {
        assert_eq!(std::mem::size_of::<Option<Sym>>(), 4);
    }

    #[test]
    fn interner_round_trips_through_json() {
        let mut i = Interner::new();
        let a = i.intern("x");
        let b = i.intern("y");
        let json = serde_json::to_string(&i).unwrap();
        assert_eq!(json, r#"["x","y"]"#);
        let back: Interner = serde_json::from_str(&json).unwrap();
        assert_eq!(back.resolve(a), "x");
        assert_eq!(back.resolve(b), "y");
    }
}
