//! The migration runner's contract, on SQLite and PostgreSQL alike.

// Tests fail loudly; that is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use loket_store::sqlx;
use loket_store::{Database, Migration, Schema, StorageUrl, StoreError};

const V1: Migration = Migration {
    version: 1,
    description: "notes",
    sql: "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL);",
};
const V2: Migration = Migration {
    version: 2,
    description: "note tags",
    sql: "ALTER TABLE notes ADD COLUMN tag TEXT; CREATE INDEX notes_tag ON notes (tag);",
};
const V1_EDITED: Migration = Migration {
    version: 1,
    description: "notes",
    sql: "CREATE TABLE notes (id BIGINT PRIMARY KEY);",
};

const ALPHA_V1: Schema = Schema {
    component: "alpha",
    sqlite: &[V1],
    postgres: &[V1],
};
const ALPHA_V2: Schema = Schema {
    component: "alpha",
    sqlite: &[V1, V2],
    postgres: &[V1, V2],
};
const ALPHA_EDITED: Schema = Schema {
    component: "alpha",
    sqlite: &[V1_EDITED],
    postgres: &[V1_EDITED],
};
const BETA_V1: Schema = Schema {
    component: "beta",
    sqlite: &[V1],
    postgres: &[V1],
};

async fn handle(url: &StorageUrl) -> StorageUrl {
    url.clone()
}

async fn count_notes(database: &Database) -> i64 {
    match database {
        Database::Sqlite(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM notes")
            .fetch_one(pool)
            .await
            .unwrap(),
        Database::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM notes")
            .fetch_one(pool)
            .await
            .unwrap(),
    }
}

async fn insert_note(database: &Database, id: i64) {
    match database {
        Database::Sqlite(pool) => {
            sqlx::query("INSERT INTO notes (id, body) VALUES (?, 'x')")
                .bind(id)
                .execute(pool)
                .await
                .unwrap();
        }
        Database::Postgres(pool) => {
            sqlx::query("INSERT INTO notes (id, body) VALUES ($1, 'x')")
                .bind(id)
                .execute(pool)
                .await
                .unwrap();
        }
    }
}

async fn opening_twice_applies_once_and_keeps_data(url: StorageUrl) {
    let first = Database::open(&url, &ALPHA_V1).await.unwrap();
    insert_note(&first, 1).await;
    first.close().await;
    let second = Database::open(&url, &ALPHA_V1).await.unwrap();
    assert_eq!(count_notes(&second).await, 1);
    second.check_ready(&ALPHA_V1).await.unwrap();
}

async fn new_migrations_are_applied_in_order(url: StorageUrl) {
    let old = Database::open(&url, &ALPHA_V1).await.unwrap();
    insert_note(&old, 1).await;
    assert!(
        matches!(old.check_ready(&ALPHA_V2).await, Err(StoreError::MigrationsPending { missing, .. }) if missing == vec![2])
    );
    old.close().await;
    let new = Database::open(&url, &ALPHA_V2).await.unwrap();
    new.check_ready(&ALPHA_V2).await.unwrap();
    assert_eq!(count_notes(&new).await, 1);
}

async fn an_edited_migration_is_refused(url: StorageUrl) {
    Database::open(&url, &ALPHA_V1).await.unwrap().close().await;
    let error = Database::open(&url, &ALPHA_EDITED).await.unwrap_err();
    assert!(
        matches!(error, StoreError::MigrationChanged { version: 1, .. }),
        "{error}"
    );
}

async fn a_migration_from_a_newer_build_is_refused(url: StorageUrl) {
    Database::open(&url, &ALPHA_V2).await.unwrap().close().await;
    let error = Database::open(&url, &ALPHA_V1).await.unwrap_err();
    assert!(
        matches!(error, StoreError::UnknownMigration { version: 2, .. }),
        "{error}"
    );
}

async fn components_do_not_share_tables(url: StorageUrl) {
    let alpha = Database::open(&url, &ALPHA_V1).await.unwrap();
    let beta = Database::open(&url, &BETA_V1).await.unwrap();
    insert_note(&alpha, 1).await;
    insert_note(&alpha, 2).await;
    assert_eq!(count_notes(&alpha).await, 2);
    assert_eq!(count_notes(&beta).await, 0);
}

async fn a_failing_migration_leaves_nothing_half_done(url: StorageUrl) {
    const BROKEN: Migration = Migration {
        version: 2,
        description: "broken",
        sql: "CREATE TABLE extra (id BIGINT); THIS IS NOT SQL;",
    };
    const ALPHA_BROKEN: Schema = Schema {
        component: "alpha",
        sqlite: &[V1, BROKEN],
        postgres: &[V1, BROKEN],
    };
    assert!(Database::open(&url, &ALPHA_BROKEN).await.is_err());
    // Neither V1 nor the first statement of the broken migration may have stuck.
    let database = Database::open(
        &url,
        &Schema {
            component: "alpha",
            sqlite: &[],
            postgres: &[],
        },
    )
    .await
    .unwrap();
    let tables: i64 = match &database {
        Database::Sqlite(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('notes', 'extra')").fetch_one(pool).await.unwrap(),
        Database::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'alpha' AND table_name IN ('notes', 'extra')").fetch_one(pool).await.unwrap(),
    };
    assert_eq!(tables, 0);
}

async fn bad_component_names_are_refused(url: StorageUrl) {
    let schema = Schema {
        component: "Alpha\"; DROP",
        sqlite: &[],
        postgres: &[],
    };
    assert!(matches!(
        Database::open(&url, &schema).await,
        Err(StoreError::ComponentName(_))
    ));
}

loket_store::contract_suite! {
    open = handle;
    tests = [
        opening_twice_applies_once_and_keeps_data,
        new_migrations_are_applied_in_order,
        an_edited_migration_is_refused,
        a_migration_from_a_newer_build_is_refused,
        components_do_not_share_tables,
        a_failing_migration_leaves_nothing_half_done,
        bad_component_names_are_refused,
    ];
}
