//! The newest records' subjects and traces, kept in memory until their bucket is complete
//! and the writer moves them into the lookup tables in key order (see the migration
//! `0002_deferred_lookup_indexes.sql` for why).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};

/// Subjects and traces by a 64-bit key: a hash, so two values may share one. A lookup
/// gets candidates; the store checks the real value of each.
#[derive(Debug)]
pub(crate) struct Tail {
    /// Records from here on are not in the lookup tables (`index_state.indexed_upto`).
    from: u64,
    /// The (subject, trace) keys of records `from`, `from + 1`, …; 0 for none.
    keys: VecDeque<(u64, u64)>,
    subjects: HashMap<u64, Vec<u64>>,
    traces: HashMap<u64, Vec<u64>>,
    /// Keyed per process, so no one can choose trace ids that all share one key.
    hasher: RandomState,
}

impl Tail {
    pub(crate) fn new(from: u64) -> Self {
        Self {
            from,
            keys: VecDeque::new(),
            subjects: HashMap::new(),
            traces: HashMap::new(),
            hasher: RandomState::new(),
        }
    }

    /// The first record not in the lookup tables.
    pub(crate) fn from(&self) -> u64 {
        self.from
    }

    fn key(&self, value: Option<&str>) -> u64 {
        value.map_or(0, |v| self.hasher.hash_one(v).max(1))
    }

    /// Add record `index` (appended in order; a gap is left empty).
    pub(crate) fn push(&mut self, index: u64, subject: Option<&str>, trace: Option<&str>) {
        let Some(offset) = index.checked_sub(self.from) else {
            return;
        };
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        while self.keys.len() < offset {
            self.keys.push_back((0, 0));
        }
        if self.keys.len() != offset {
            return;
        }
        let keys = (self.key(subject), self.key(trace));
        self.keys.push_back(keys);
        if keys.0 != 0 {
            self.subjects.entry(keys.0).or_default().push(index);
        }
        if keys.1 != 0 {
            self.traces.entry(keys.1).or_default().push(index);
        }
    }

    /// The records a lookup by subject and/or trace may match, newest first, below
    /// `before` when given. Empty when neither is asked.
    pub(crate) fn candidates(
        &self,
        subject: Option<&str>,
        trace: Option<&str>,
        before: Option<u64>,
    ) -> Vec<u64> {
        let (subject, trace) = (self.key(subject), self.key(trace));
        let list = match (subject, trace) {
            (0, 0) => return Vec::new(),
            (s, 0) => self.subjects.get(&s),
            (0, t) => self.traces.get(&t),
            (s, t) => {
                let by_subject = self.subjects.get(&s).map_or(0, Vec::len);
                let by_trace = self.traces.get(&t).map_or(0, Vec::len);
                if by_subject <= by_trace {
                    self.subjects.get(&s)
                } else {
                    self.traces.get(&t)
                }
            }
        };
        let Some(list) = list else {
            return Vec::new();
        };
        list.iter()
            .rev()
            .copied()
            .filter(|index| before.is_none_or(|b| *index < b))
            .filter(|index| {
                let offset = usize::try_from(index - self.from).unwrap_or(usize::MAX);
                self.keys.get(offset).is_some_and(|(s, t)| {
                    (subject == 0 || *s == subject) && (trace == 0 || *t == trace)
                })
            })
            .collect()
    }

    /// Forget the records below `upto`: they are in the lookup tables now.
    pub(crate) fn drop_below(&mut self, upto: u64) {
        let mut touched_subjects = Vec::new();
        let mut touched_traces = Vec::new();
        while self.from < upto {
            let Some((subject, trace)) = self.keys.pop_front() else {
                self.from = upto;
                break;
            };
            touched_subjects.push(subject);
            touched_traces.push(trace);
            self.from += 1;
        }
        for (map, touched) in [
            (&mut self.subjects, touched_subjects),
            (&mut self.traces, touched_traces),
        ] {
            for key in touched {
                if let Some(list) = map.get_mut(&key) {
                    // Indexes ascend: the dropped ones are a prefix.
                    let keep = list.partition_point(|index| *index < upto);
                    list.drain(..keep);
                    if list.is_empty() {
                        map.remove(&key);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_subject_trace_or_both_newest_first_and_forgets_what_was_indexed() {
        let mut tail = Tail::new(10);
        tail.push(10, Some("a"), Some("t1"));
        tail.push(11, Some("b"), Some("t1"));
        tail.push(12, Some("a"), Some("t2"));
        tail.push(14, None, Some("t2"));
        assert_eq!(tail.candidates(Some("a"), None, None), [12, 10]);
        assert_eq!(tail.candidates(None, Some("t1"), None), [11, 10]);
        assert_eq!(tail.candidates(Some("a"), Some("t2"), None), [12]);
        assert_eq!(tail.candidates(Some("a"), None, Some(12)), [10]);
        assert_eq!(tail.candidates(None, Some("t2"), None), [14, 12]);
        assert!(tail.candidates(Some("c"), None, None).is_empty());
        assert!(tail.candidates(None, None, None).is_empty());
        tail.drop_below(12);
        assert_eq!(tail.from(), 12);
        assert_eq!(tail.candidates(Some("a"), None, None), [12]);
        assert!(tail.candidates(Some("b"), None, None).is_empty());
        assert!(tail.subjects.len() == 1 && tail.traces.len() == 1);
        tail.push(15, Some("b"), None);
        assert_eq!(tail.candidates(Some("b"), None, None), [15]);
    }

    proptest::proptest! {
        #[test]
        fn candidates_are_exactly_the_matching_records(
            records in proptest::collection::vec((0u8..4, 0u8..4), 0..60),
            drop in 0u64..70,
            subject in 0u8..4,
            trace in 0u8..4,
        ) {
            let name = |n: u8| (n > 0).then(|| n.to_string());
            let mut tail = Tail::new(0);
            for (i, (s, t)) in records.iter().enumerate() {
                tail.push(i as u64, name(*s).as_deref(), name(*t).as_deref());
            }
            tail.drop_below(drop);
            let expected: Vec<u64> = (0..records.len() as u64)
                .rev()
                .filter(|i| *i >= drop)
                .filter(|i| {
                    let (s, t) = records[*i as usize];
                    (subject == 0 || s == subject) && (trace == 0 || t == trace)
                })
                .collect();
            let found = tail.candidates(name(subject).as_deref(), name(trace).as_deref(), None);
            if subject == 0 && trace == 0 {
                proptest::prop_assert!(found.is_empty());
            } else {
                proptest::prop_assert_eq!(found, expected);
            }
        }
    }
}
