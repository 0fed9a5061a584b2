//! The newest records' subjects and traces, kept in memory until their bucket is complete
//! and the writer moves them into the lookup tables in key order (see the migration
//! `0002_deferred_lookup_indexes.sql` for why).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};

use crate::store::bucket_end;

/// Subjects and traces by a 64-bit key: a hash, so two values may share one. A lookup
/// gets candidates; the store checks the real value of each. Kept per bucket, so that
/// forgetting a bucket the writer has put into the lookup tables is dropping its part,
/// not 131,072 removals from shared maps (9–12 ms on the writer's thread, which the
/// next commit waited for).
#[derive(Debug)]
pub(crate) struct Tail {
    /// Records from here on are not in the lookup tables (`index_state.indexed_upto`).
    from: u64,
    /// Oldest first; each within one bucket.
    parts: VecDeque<Part>,
    /// Keyed per process, so no one can choose trace ids that all share one key.
    hasher: RandomState,
}

/// The records of one bucket in the tail, from `from` on.
#[derive(Debug)]
struct Part {
    from: u64,
    /// The (subject, trace) keys of records `from`, `from + 1`, …; 0 for none.
    keys: Vec<(u64, u64)>,
    subjects: HashMap<u64, Vec<u64>>,
    traces: HashMap<u64, Vec<u64>>,
}

impl Part {
    fn new(from: u64) -> Self {
        Self {
            from,
            keys: Vec::new(),
            subjects: HashMap::new(),
            traces: HashMap::new(),
        }
    }

    /// The next record's index.
    fn next(&self) -> u64 {
        self.from + self.keys.len() as u64
    }

    fn is_full(&self) -> bool {
        self.next() >= bucket_end(self.from)
    }

    fn push(&mut self, (subject, trace): (u64, u64)) {
        let index = self.next();
        self.keys.push((subject, trace));
        if subject != 0 {
            self.subjects.entry(subject).or_default().push(index);
        }
        if trace != 0 {
            self.traces.entry(trace).or_default().push(index);
        }
    }

    /// This part's records a lookup may match, newest first.
    fn candidates(&self, subject: u64, trace: u64, before: Option<u64>, found: &mut Vec<u64>) {
        let list = match (subject, trace) {
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
            return;
        };
        found.extend(
            list.iter()
                .rev()
                .copied()
                .filter(|index| before.is_none_or(|b| *index < b))
                .filter(|index| {
                    let offset = usize::try_from(index - self.from).unwrap_or(usize::MAX);
                    self.keys.get(offset).is_some_and(|(s, t)| {
                        (subject == 0 || *s == subject) && (trace == 0 || *t == trace)
                    })
                }),
        );
    }

    /// Forget the records below `upto`, which lies inside this part.
    fn drop_below(&mut self, upto: u64) {
        let count = usize::try_from(upto.saturating_sub(self.from))
            .unwrap_or(usize::MAX)
            .min(self.keys.len());
        let dropped: Vec<(u64, u64)> = self.keys.drain(..count).collect();
        self.from += count as u64;
        let forget = |map: &mut HashMap<u64, Vec<u64>>, key: u64| {
            if let Some(list) = map.get_mut(&key) {
                // Indexes ascend: the dropped ones are a prefix.
                let keep = list.partition_point(|index| *index < upto);
                list.drain(..keep);
                if list.is_empty() {
                    map.remove(&key);
                }
            }
        };
        for (subject, trace) in dropped {
            forget(&mut self.subjects, subject);
            forget(&mut self.traces, trace);
        }
    }
}

/// Parts of the tail that were dropped, for the caller to free where it costs no one a
/// wait (only ever dropped, never read).
#[derive(Debug)]
pub(crate) struct Forgotten(#[allow(dead_code)] Vec<Part>);

impl Tail {
    pub(crate) fn new(from: u64) -> Self {
        Self {
            from,
            parts: VecDeque::new(),
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

    /// The index the next record should have.
    fn next(&self) -> u64 {
        self.parts.back().map_or(self.from, Part::next)
    }

    /// Add record `index` (appended in order; a gap is left empty).
    pub(crate) fn push(&mut self, index: u64, subject: Option<&str>, trace: Option<&str>) {
        if index < self.next() {
            return;
        }
        let keys = (self.key(subject), self.key(trace));
        while self.next() < index {
            self.push_next((0, 0));
        }
        self.push_next(keys);
    }

    /// The next record's keys, into a new part at a bucket's start.
    fn push_next(&mut self, keys: (u64, u64)) {
        let next = self.next();
        match self.parts.back_mut() {
            Some(part) if !part.is_full() => part.push(keys),
            _ => {
                let mut part = Part::new(next);
                part.push(keys);
                self.parts.push_back(part);
            }
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
        let mut found = Vec::new();
        if (subject, trace) == (0, 0) {
            return found;
        }
        for part in self.parts.iter().rev() {
            part.candidates(subject, trace, before, &mut found);
        }
        found
    }

    /// Forget the records below `upto`: they are in the lookup tables now. Whole parts
    /// are handed back rather than freed here.
    #[must_use = "free the forgotten parts, preferably off the writer's thread"]
    pub(crate) fn drop_below(&mut self, upto: u64) -> Forgotten {
        let mut forgotten = Vec::new();
        while self.parts.front().is_some_and(|part| part.next() <= upto) {
            forgotten.extend(self.parts.pop_front());
        }
        if let Some(part) = self.parts.front_mut() {
            part.drop_below(upto);
        }
        self.from = self.from.max(upto);
        Forgotten(forgotten)
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
        let _ = tail.drop_below(12);
        assert_eq!(tail.from(), 12);
        assert_eq!(tail.candidates(Some("a"), None, None), [12]);
        assert!(tail.candidates(Some("b"), None, None).is_empty());
        let keys = |map: fn(&Part) -> usize| tail.parts.iter().map(map).sum::<usize>();
        assert_eq!(keys(|part| part.subjects.len()), 1);
        assert_eq!(keys(|part| part.traces.len()), 1);
        tail.push(15, Some("b"), None);
        assert_eq!(tail.candidates(Some("b"), None, None), [15]);
    }

    proptest::proptest! {
        #[test]
        fn candidates_are_exactly_the_matching_records(
            // Within one bucket, or across the end of the first (65,536).
            base in proptest::prop_oneof![proptest::strategy::Just(0u64), proptest::strategy::Just(65_506u64)],
            records in proptest::collection::vec((0u8..4, 0u8..4), 0..60),
            drop in 0u64..70,
            subject in 0u8..4,
            trace in 0u8..4,
        ) {
            let name = |n: u8| (n > 0).then(|| n.to_string());
            let mut tail = Tail::new(base);
            for (i, (s, t)) in records.iter().enumerate() {
                tail.push(base + i as u64, name(*s).as_deref(), name(*t).as_deref());
            }
            let _ = tail.drop_below(base + drop);
            proptest::prop_assert_eq!(tail.from(), base + drop);
            let expected: Vec<u64> = (0..records.len() as u64)
                .rev()
                .filter(|i| *i >= drop)
                .filter(|i| {
                    let (s, t) = records[*i as usize];
                    (subject == 0 || s == subject) && (trace == 0 || t == trace)
                })
                .map(|i| base + i)
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
