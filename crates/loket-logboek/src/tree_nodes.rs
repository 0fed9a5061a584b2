//! Which tree nodes a log stores, and how it finds the ones it does not.
//!
//! The leaves are stored with their records, and the perfect subtrees of level
//! [`LOWEST_STORED_LEVEL`] and up in `nodes`. The levels in between, seven of every eight
//! nodes, are computed from their leaves when a proof or a restart needs one (at most
//! eight leaves each, read with the stored nodes it needs). Stored, they cost every
//! record a row and an index entry: 13% of PostgreSQL's append rate (BENCHMARKS.md).
//! Nothing checks less for it: `verify` recomputes the whole tree from the records.
//! Migration 4 removed the lower nodes that logs had stored before.

use std::collections::HashMap;
use std::ops::Range;

use loket_store::StoreError;

use crate::merkle::{Frontier, Hash, NodeId};
use crate::store::LogStore;

/// Tree nodes from this level up are stored; the lower ones come from their leaves.
/// Migration 4 deleted the stored ones below 4: a lower value needs them made again.
pub const LOWEST_STORED_LEVEL: u32 = 4;

/// Whether a node of level 1 and up is in the store.
fn is_stored((level, _): NodeId) -> bool {
    level >= LOWEST_STORED_LEVEL
}

/// Of the nodes a new leaf completed ([`Frontier::push`]), the ones the store keeps.
pub(crate) fn kept(completed: Vec<(NodeId, Hash)>) -> impl Iterator<Item = (NodeId, Hash)> {
    completed.into_iter().filter(|(id, _)| is_stored(*id))
}

/// The hashes of `ids` (leaves at level 0): as stored, or computed from their leaves for
/// a node below [`LOWEST_STORED_LEVEL`], in one read of the store (the map may hold those
/// leaves too). Ids that are neither are left out.
pub(crate) async fn tree_nodes(
    store: &dyn LogStore,
    ids: &[NodeId],
) -> Result<HashMap<NodeId, Hash>, StoreError> {
    let (computed, mut asked): (Vec<NodeId>, Vec<NodeId>) =
        ids.iter().partition(|id| id.0 > 0 && !is_stored(**id));
    let computed: Vec<(NodeId, Range<u64>)> = computed
        .into_iter()
        .filter_map(|id| Some((id, leaves_of(id)?)))
        .collect();
    asked.extend(
        computed
            .iter()
            .flat_map(|(_, leaves)| leaves.clone().map(|leaf| (0, leaf))),
    );
    let mut found = store.nodes(&asked).await?;
    for (id, leaves) in computed {
        let hashes: Option<Vec<Hash>> = leaves.map(|leaf| found.get(&(0, leaf)).copied()).collect();
        if let Some(hashes) = hashes {
            let mut subtree = Frontier::new();
            for hash in hashes {
                subtree.push(hash);
            }
            found.insert(id, subtree.root());
        }
    }
    Ok(found)
}

/// The leaves under node `(level, idx)`; `None` for a node no tree of `u64` leaves has.
fn leaves_of((level, idx): NodeId) -> Option<Range<u64>> {
    let start = idx.checked_mul(1u64.checked_shl(level)?)?;
    let end = start.checked_add(1 << level)?;
    Some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_covers_its_leaves_and_impossible_nodes_none() {
        assert_eq!(leaves_of((1, 0)), Some(0..2));
        assert_eq!(leaves_of((3, 2)), Some(16..24));
        assert_eq!(leaves_of((64, 0)), None);
        assert_eq!(leaves_of((1, u64::MAX)), None);
        assert_eq!(leaves_of((3, u64::MAX >> 3)), None);
    }

    #[test]
    fn only_the_levels_from_the_lowest_stored_one_are_stored() {
        assert!(!is_stored((1, 0)));
        assert!(!is_stored((LOWEST_STORED_LEVEL - 1, 7)));
        assert!(is_stored((LOWEST_STORED_LEVEL, 0)));
        assert!(is_stored((40, 1)));
    }
}
