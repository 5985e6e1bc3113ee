//! A string interner: namespaces, node names and zones are shared by many pods, so each
//! distinct value is stored once.
use std::{collections::HashSet, sync::Arc};

/// Distinct strings, each held once.
#[derive(Debug, Default)]
pub struct Interner {
    set: HashSet<Arc<str>, foldhash::fast::RandomState>,
}

impl Interner {
    /// The shared copy of `s`.
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.set.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.set.insert(a.clone());
        a
    }

    /// Forgets strings nothing else holds.
    pub fn purge(&mut self) {
        self.set.retain(|a| Arc::strong_count(a) > 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_purges() {
        let mut i = Interner::default();
        let a = i.get("shop");
        assert!(Arc::ptr_eq(&a, &i.get("shop")));
        drop(a);
        i.purge();
        assert!(i.set.is_empty());
    }
}
