//! What the registers share: dates, the `fields` parameter, the query body, the record
//! store, the change feed and the OpenAPI document. Each register stays its own service
//! with its own database; only code is shared.

pub mod api;
pub mod datum;
pub mod feed;
pub mod fields;
pub(crate) mod openapi;
pub(crate) mod params;
pub(crate) mod query;
pub mod records;
pub(crate) mod selected_json;

/// `pub const $name: Schema` for a register whose one migration is `$file` in
/// `migrations/$component/{sqlite,postgres}/`.
macro_rules! schema {
    ($name:ident, $component:literal, $file:literal) => {
        pub const $name: loket_store::Schema = loket_store::Schema {
            component: $component,
            sqlite: &[loket_store::Migration {
                version: 1,
                description: $file,
                sql: include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/migrations/",
                    $component,
                    "/sqlite/",
                    $file
                )),
            }],
            postgres: &[loket_store::Migration {
                version: 1,
                description: $file,
                sql: include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/migrations/",
                    $component,
                    "/postgres/",
                    $file
                )),
            }],
        };
    };
}
pub(crate) use schema;
