//! Signed tree heads: the log's signed statement "my first `size` records hash to `root`".

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::keys::{LogKeys, VerifyingKey};
use crate::merkle::Hash;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    pub size: u64,
    pub root: Hash,
    pub signed_at_ms: i64,
    pub signature: Vec<u8>,
}

/// Domain separation, so a tree head signature can never be taken for anything else.
const CONTEXT: &[u8] = b"loket-logboek tree head v1\n";

fn message(size: u64, root: &Hash, signed_at_ms: i64) -> Vec<u8> {
    let mut message = Vec::with_capacity(CONTEXT.len() + 48);
    message.extend_from_slice(CONTEXT);
    message.extend_from_slice(&size.to_be_bytes());
    message.extend_from_slice(&signed_at_ms.to_be_bytes());
    message.extend_from_slice(root);
    message
}

impl SignedTreeHead {
    pub fn sign(keys: &LogKeys, size: u64, root: Hash, signed_at_ms: i64) -> Self {
        let signature = keys.sign(&message(size, &root, signed_at_ms));
        Self {
            size,
            root,
            signed_at_ms,
            signature,
        }
    }

    pub fn verify(&self, key: &VerifyingKey) -> bool {
        key.verify(
            &message(self.size, &self.root, self.signed_at_ms),
            &self.signature,
        )
    }

    /// The JSON form the API serves (base64 as RFC 9162 presents hashes).
    pub fn to_json(&self) -> TreeHeadJson {
        TreeHeadJson {
            tree_size: self.size,
            root_hash: STANDARD.encode(self.root),
            timestamp: self.signed_at_ms,
            signature: STANDARD.encode(&self.signature),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeHeadJson {
    pub tree_size: u64,
    pub root_hash: String,
    pub timestamp: i64,
    pub signature: String,
}
