//! The `fields` parameter: which dotted paths a client may ask for, and cutting a
//! response down to exactly those.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// The requested paths as a tree: a node marked `whole` keeps everything beneath it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    whole: bool,
    children: BTreeMap<String, FieldSet>,
}

impl FieldSet {
    /// Parse the requested paths; on failure, the indexes of the paths that do not exist.
    pub fn parse(paths: &[&str], allows: impl Fn(&str) -> bool) -> Result<Self, Vec<usize>> {
        let bad: Vec<usize> = paths
            .iter()
            .enumerate()
            .filter(|(_, p)| !allows(p))
            .map(|(i, _)| i)
            .collect();
        if !bad.is_empty() {
            return Err(bad);
        }
        let mut root = Self::default();
        for path in paths {
            let mut node = &mut root;
            for segment in path.split('.') {
                node = node.children.entry(segment.to_owned()).or_default();
            }
            node.whole = true;
        }
        Ok(root)
    }

    /// Every path: the whole answer.
    pub fn everything() -> Self {
        Self {
            whole: true,
            children: BTreeMap::new(),
        }
    }

    /// What is asked for beneath `key`, if anything: everything when this node is whole.
    pub fn child(&self, key: &str) -> Option<&Self> {
        if self.whole {
            Some(self)
        } else {
            self.children.get(key)
        }
    }

    /// Everything beneath this node is asked for.
    pub fn is_whole(&self) -> bool {
        self.whole
    }

    /// Keep only what was asked for. Arrays are cut element by element; the `type` of a
    /// polymorphic object (verblijfplaats, nationaliteit, datum) is kept with any part of it,
    /// because without it the rest cannot be read. Takes the value, so nothing is copied.
    pub fn select(&self, value: Value) -> Option<Value> {
        if self.whole {
            return Some(value);
        }
        match value {
            Value::Object(mut object) => {
                // In place, in the object's own order, so the answer reads like the full
                // person; kept members are not hashed and inserted again.
                let mut selected_any = false;
                object.retain(|key, value| match self.children.get(key) {
                    Some(child) => match child.select(std::mem::take(value)) {
                        Some(selected) => {
                            *value = selected;
                            selected_any = true;
                            true
                        }
                        None => false,
                    },
                    None => key == "type",
                });
                selected_any.then_some(Value::Object(object))
            }
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .into_iter()
                    .filter_map(|item| self.select(item))
                    .collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            _ => None,
        }
    }
}

/// `fields` lists that passed the checks of one register (one query shape), parsed, by
/// their exact paths. An application asks for the same list with every request; checking
/// and parsing it each time was a tenth of a BRP lookup. Only lists that passed are kept,
/// and at most [`KEPT_LISTS`]: when full it starts over, so no client can make it grow.
#[derive(Debug, Default)]
pub(crate) struct CheckedFields {
    lists: Mutex<HashMap<Vec<u8>, Arc<FieldSet>>>,
}

/// Distinct lists kept per register: far more than the applications that call it.
pub(crate) const KEPT_LISTS: usize = 256;

impl CheckedFields {
    /// The key of a `fields` value: each path's length and bytes, so that no two lists
    /// share one. `None` when it is not an array of strings (that list is never kept).
    pub(crate) fn key(value: &Value) -> Option<Vec<u8>> {
        let items = value.as_array()?;
        let paths: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
        Self::key_of_paths(&paths?)
    }

    /// The key of a list of paths read some other way ([`CheckedFields::key`]).
    pub(crate) fn key_of_paths(paths: &[&str]) -> Option<Vec<u8>> {
        let mut key = Vec::with_capacity(paths.len() * 24);
        for path in paths {
            let length = u32::try_from(path.len()).ok()?;
            key.extend_from_slice(&length.to_le_bytes());
            key.extend_from_slice(path.as_bytes());
        }
        Some(key)
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<Arc<FieldSet>> {
        self.lists.lock().ok()?.get(key).cloned()
    }

    /// Keep a list that passed the checks.
    pub(crate) fn keep(&self, key: Vec<u8>, fields: Arc<FieldSet>) {
        if let Ok(mut lists) = self.lists.lock() {
            if lists.len() >= KEPT_LISTS {
                lists.clear();
            }
            lists.insert(key, fields);
        }
    }

    /// How many lists are kept.
    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        self.lists.lock().map_or(0, |lists| lists.len())
    }
}

/// Every path a client may ask for: each object key, at every depth, through arrays.
/// Derived from a complete example of the register's answer, so the list and the
/// rendering cannot drift apart.
#[derive(Debug, Clone, Default)]
pub struct FieldPaths(BTreeSet<String>);

impl FieldPaths {
    pub fn from_example(example: &Value) -> Self {
        fn walk(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
            match value {
                Value::Object(object) => {
                    for (key, child) in object {
                        let path = if prefix.is_empty() {
                            key.clone()
                        } else {
                            format!("{prefix}.{key}")
                        };
                        walk(child, &path, out);
                        out.insert(path);
                    }
                }
                Value::Array(items) => {
                    for item in items {
                        walk(item, prefix, out);
                    }
                }
                _ => {}
            }
        }
        let mut paths = BTreeSet::new();
        walk(example, "", &mut paths);
        Self(paths)
    }

    pub fn allows(&self, path: &str) -> bool {
        self.0.contains(path)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_from_an_example_include_groups_leaves_and_array_items() {
        let paths = FieldPaths::from_example(&json!({
            "kenteken": "AB123C",
            "tenaamstelling": {"burgerservicenummer": "1", "datum": {"type": "Datum", "datum": "2020-01-01"}},
            "betalingen": [{"bedrag": 1}]
        }));
        let all: Vec<&str> = paths.iter().collect();
        assert_eq!(
            all,
            [
                "betalingen",
                "betalingen.bedrag",
                "kenteken",
                "tenaamstelling",
                "tenaamstelling.burgerservicenummer",
                "tenaamstelling.datum",
                "tenaamstelling.datum.datum",
                "tenaamstelling.datum.type",
            ]
        );
        assert!(!paths.allows("tenaamstelling.bestaatniet"));
    }
}
