//! RFC 9162 Merkle tree hashing and inclusion proofs: what a log computes and what anyone
//! holding a signed tree head can check, without trusting the log.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// `SHA-256(0x00 || data)`: the hash of a leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    hasher.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// RFC 9162 §2.1.3.2: does `leaf` sit at `index` in the tree of `size` with hash `root`?
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// What a processing log's leaf commits to: the position, the expiry and the body's
/// digest, so a pruned record (body gone) still proves where it was and that its time
/// had come.
pub fn leaf_input(index: u64, expires_at: i64, body_digest: &Hash) -> [u8; 48] {
    let mut input = [0u8; 48];
    input[..8].copy_from_slice(&index.to_be_bytes());
    input[8..16].copy_from_slice(&expires_at.to_be_bytes());
    input[16..].copy_from_slice(body_digest);
    input
}

/// The leaf of a processing-log record from its exact body text: what a reader computes
/// to check that the record it was shown is the one in the signed tree.
pub fn record_leaf(index: u64, expires_at: i64, body: &[u8]) -> Hash {
    let digest: Hash = Sha256::digest(body).into();
    leaf_hash(&leaf_input(index, expires_at, &digest))
}
