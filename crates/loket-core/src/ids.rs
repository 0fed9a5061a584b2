//! Identifiers. UUIDv7 sorts by creation time, which keeps b-tree indexes compact.

use uuid::Uuid;

pub fn new_id() -> Uuid {
    Uuid::now_v7()
}
