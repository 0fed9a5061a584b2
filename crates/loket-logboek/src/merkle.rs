//! The Merkle tree of RFC 9162 (Certificate Transparency v2, same hashing as RFC 6962):
//! tree hashes, the compact right edge used while appending, and inclusion and
//! consistency proofs with their verification.
//!
//! Nodes are addressed as `(level, index)`: level 0 holds the leaves, and node
//! `(l, i)` covers leaves `i·2^l .. (i+1)·2^l`. Only perfect subtrees are ever stored;
//! every other hash the algorithms need is computed from them.

use sha2::{Digest, Sha256};

pub use loket_core::merkle::{Hash, leaf_hash, node_hash, verify_inclusion};

/// The hash of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// A node position: level and index within the level.
pub type NodeId = (u32, u64);

/// The perfect subtrees that make up a tree of `size` leaves, largest (leftmost) first.
pub fn edge_nodes(size: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut start = 0u64;
    for level in (0..64u32).rev() {
        let width = 1u64 << level;
        if size & width != 0 {
            nodes.push((level, start >> level));
            start += width;
        }
    }
    nodes
}

/// The right edge of a growing tree: the roots of its perfect subtrees. Appending a leaf
/// costs O(log n) and hands back the nodes that it completed, so they can be stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (level, hash), largest subtree first.
    nodes: Vec<(u32, Hash)>,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuild from the stored edge nodes of a tree of `size` leaves (see [`edge_nodes`]).
    pub fn from_edge(size: u64, hashes: Vec<Hash>) -> Option<Self> {
        let ids = edge_nodes(size);
        if ids.len() != hashes.len() {
            return None;
        }
        let nodes = ids
            .into_iter()
            .zip(hashes)
            .map(|((level, _), hash)| (level, hash))
            .collect();
        Some(Self { size, nodes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append a leaf hash; returns the interior nodes (level ≥ 1) it completed.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let index = self.size;
        self.size += 1;
        let mut completed = Vec::new();
        let mut current = (0u32, leaf);
        while let Some(&(level, left)) = self.nodes.last() {
            if level != current.0 {
                break;
            }
            self.nodes.pop();
            let merged = node_hash(&left, &current.1);
            let level = level + 1;
            completed.push(((level, index >> level), merged));
            current = (level, merged);
        }
        self.nodes.push(current);
        completed
    }

    /// The tree hash of everything appended so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.nodes.iter().rev();
        let Some(&(_, last)) = iter.next() else {
            return empty_root();
        };
        iter.fold(last, |acc, (_, left)| node_hash(left, &acc))
    }
}

/// Where the algorithms get the hash of a perfect subtree (a stored node or leaf).
pub trait Nodes {
    fn node(&mut self, id: NodeId) -> Hash;
}

/// Collects the node ids an algorithm asks for, answering with zeros: run a proof once
/// with this to learn which nodes to fetch, fetch them in one query, then run it again.
#[derive(Debug, Default)]
pub struct Wanted(pub Vec<NodeId>);

impl Nodes for Wanted {
    fn node(&mut self, id: NodeId) -> Hash {
        self.0.push(id);
        [0; 32]
    }
}

impl<S: std::hash::BuildHasher> Nodes for std::collections::HashMap<NodeId, Hash, S> {
    fn node(&mut self, id: NodeId) -> Hash {
        self.get(&id).copied().unwrap_or([0; 32])
    }
}

/// MTH of leaves `start .. start + size`; `start` is always aligned as RFC 9162's
/// recursion makes it, so the left part is one stored perfect subtree.
pub fn subtree_hash(nodes: &mut dyn Nodes, start: u64, size: u64) -> Hash {
    if size.is_power_of_two() {
        let level = size.trailing_zeros();
        return nodes.node((level, start >> level));
    }
    let k = split(size);
    let left = subtree_hash(nodes, start, k);
    let right = subtree_hash(nodes, start + k, size - k);
    node_hash(&left, &right)
}

/// The tree hash of the first `size` leaves.
pub fn root(nodes: &mut dyn Nodes, size: u64) -> Hash {
    if size == 0 {
        empty_root()
    } else {
        subtree_hash(nodes, 0, size)
    }
}

/// The audit path of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1), or
/// `None` when the leaf is not in that tree.
pub fn inclusion_proof(nodes: &mut dyn Nodes, index: u64, size: u64) -> Option<Vec<Hash>> {
    if index >= size {
        return None;
    }
    let mut path = Vec::new();
    inclusion_path(nodes, index, 0, size, &mut path);
    Some(path)
}

fn inclusion_path(nodes: &mut dyn Nodes, m: u64, start: u64, n: u64, path: &mut Vec<Hash>) {
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        inclusion_path(nodes, m, start, k, path);
        path.push(subtree_hash(nodes, start + k, n - k));
    } else {
        inclusion_path(nodes, m - k, start + k, n - k, path);
        path.push(subtree_hash(nodes, start, k));
    }
}

/// The proof that the tree of `first` leaves is a prefix of the tree of `second` leaves
/// (RFC 9162 §2.1.4.1), or `None` when `first` is 0 or larger than `second`.
pub fn consistency_proof(nodes: &mut dyn Nodes, first: u64, second: u64) -> Option<Vec<Hash>> {
    if first == 0 || first > second {
        return None;
    }
    let mut proof = Vec::new();
    subproof(nodes, first, 0, second, true, &mut proof);
    Some(proof)
}

fn subproof(nodes: &mut dyn Nodes, m: u64, start: u64, n: u64, whole: bool, proof: &mut Vec<Hash>) {
    if m == n {
        if !whole {
            proof.push(subtree_hash(nodes, start, n));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(nodes, m, start, k, whole, proof);
        proof.push(subtree_hash(nodes, start + k, n - k));
    } else {
        subproof(nodes, m - k, start + k, n - k, false, proof);
        proof.push(subtree_hash(nodes, start, k));
    }
}

/// RFC 9162 §2.1.4.2: is the tree (`first`, `first_root`) a prefix of (`second`,
/// `second_root`)?
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    if first == 0 || first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if first.is_power_of_two() {
        path.insert(0, *first_root);
    }
    let Some((&c0, rest)) = path.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (c0, c0);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *first_root && sr == *second_root
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    /// The tree of RFC 9162 written out: MTH by its definition, no shortcuts.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    /// Every stored node of a tree built leaf by leaf through a frontier.
    fn build(n: u64) -> (Vec<Hash>, HashMap<NodeId, Hash>, Frontier) {
        let mut frontier = Frontier::new();
        let mut stored = HashMap::new();
        let mut leaves = Vec::new();
        for i in 0..n {
            let leaf = leaf_hash(&i.to_be_bytes());
            leaves.push(leaf);
            stored.insert((0, i), leaf);
            for (id, hash) in frontier.push(leaf) {
                stored.insert(id, hash);
            }
        }
        (leaves, stored, frontier)
    }

    #[test]
    fn empty_tree_hash_is_sha256_of_nothing() {
        assert_eq!(
            hex(&empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn known_answer_from_rfc6962_test_vectors() {
        // The eight-leaf tree used by Certificate Transparency's reference tests.
        let inputs: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let mut frontier = Frontier::new();
        for input in inputs {
            frontier.push(leaf_hash(input));
        }
        assert_eq!(
            hex(&frontier.root()),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
        );
    }

    fn hex(hash: &Hash) -> String {
        hash.iter().map(|b| format!("{b:02x}")).collect()
    }

    proptest! {
        #[test]
        fn frontier_and_stored_nodes_give_the_reference_root(n in 0u64..300) {
            let (leaves, mut stored, frontier) = build(n);
            let expected = reference_root(&leaves);
            prop_assert_eq!(frontier.root(), expected);
            prop_assert_eq!(root(&mut stored, n), expected);
            let edge: Vec<Hash> = edge_nodes(n).into_iter().map(|id| stored[&id]).collect();
            prop_assert_eq!(Frontier::from_edge(n, edge).unwrap(), frontier);
        }

        #[test]
        fn every_inclusion_proof_verifies_and_a_wrong_one_does_not(
            n in 1u64..200, pick in any::<u64>(), flip in any::<u8>()
        ) {
            let (leaves, mut stored, _) = build(n);
            let index = pick % n;
            let top = root(&mut stored, n);
            let path = inclusion_proof(&mut stored, index, n).unwrap();
            prop_assert!(verify_inclusion(&leaves[index as usize], index, n, &path, &top));
            // Another leaf at the same place, or the right leaf at another place, fails.
            let other = leaf_hash(b"not in the tree");
            prop_assert!(!verify_inclusion(&other, index, n, &path, &top));
            if n > 1 {
                prop_assert!(!verify_inclusion(&leaves[index as usize], (index + 1) % n, n, &path, &top));
            }
            if !path.is_empty() {
                let mut bad = path;
                let at = usize::from(flip) % bad.len();
                bad[at][0] ^= 1;
                prop_assert!(!verify_inclusion(&leaves[index as usize], index, n, &bad, &top));
            }
        }

        /// What a reader is handed by a log it does not trust: any index and size, also
        /// out of range or at the ends of `u64`, with a real path or any other; nothing
        /// panics. Checked against a size's own root (the reader has it signed with the
        /// size), a path verifies only at its own place in its own tree. (Against another
        /// tree's root a path can fit another place: index 1 of 2 and index 2 of 3 take
        /// the same steps. The leaf commits to its index, so that does not fool a reader.)
        #[test]
        fn a_proof_verifies_only_at_its_own_place_in_its_own_tree(
            n in 1u64..100,
            pick in any::<u64>(),
            index in prop_oneof![any::<u64>(), Just(0u64), Just(u64::MAX)],
            size in prop_oneof![any::<u64>(), Just(0u64), Just(u64::MAX)],
            extra in proptest::collection::vec(any::<[u8; 32]>(), 0..3),
        ) {
            let (leaves, mut stored, _) = build(n);
            let real = pick % n;
            let path = inclusion_proof(&mut stored, real, n).unwrap();
            let leaf = leaves[real as usize];
            let top = root(&mut stored, n);
            let _ = verify_inclusion(&leaf, index, size, &path, &top);
            let _ = verify_inclusion(&leaf, index, size, &extra, &top);
            let claimed_size = size % n + 1;
            let claimed_index = index % claimed_size;
            let claimed_root = root(&mut stored, claimed_size);
            prop_assert_eq!(
                verify_inclusion(&leaf, claimed_index, claimed_size, &path, &claimed_root),
                claimed_index == real && claimed_size == n,
                "index {} of {}", claimed_index, claimed_size
            );
            let mut longer = path;
            longer.extend(extra.iter().copied());
            prop_assert_eq!(verify_inclusion(&leaf, real, n, &longer, &top), extra.is_empty());
        }

        #[test]
        fn every_consistency_proof_verifies_and_a_forked_tree_does_not(
            n in 1u64..200, pick in any::<u64>()
        ) {
            let (_, mut stored, _) = build(n);
            let m = pick % n + 1;
            let (first, second) = (root(&mut stored, m), root(&mut stored, n));
            let proof = consistency_proof(&mut stored, m, n).unwrap();
            prop_assert!(verify_consistency(m, n, &first, &second, &proof));
            // A rewritten history has a different old root: the proof must fail.
            let mut forked = first;
            forked[0] ^= 1;
            prop_assert!(!verify_consistency(m, n, &forked, &second, &proof));
        }

        #[test]
        fn wanted_asks_for_exactly_the_nodes_the_proof_uses(n in 1u64..200, pick in any::<u64>()) {
            let (_, stored, _) = build(n);
            let index = pick % n;
            let mut wanted = Wanted::default();
            let _ = inclusion_proof(&mut wanted, index, n);
            let mut fetched: HashMap<NodeId, Hash> =
                wanted.0.iter().map(|id| (*id, stored[id])).collect();
            let mut all = stored;
            prop_assert_eq!(
                inclusion_proof(&mut fetched, index, n),
                inclusion_proof(&mut all, index, n)
            );
        }
    }
}
