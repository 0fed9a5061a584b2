use loket_http::ReadinessCheck;
use loket_store::{Database, Schema};

/// Ready when a component's database answers and carries every migration of this build.
pub struct StoreReadiness {
    pub database: Database,
    pub schema: Schema,
}

#[async_trait::async_trait]
impl ReadinessCheck for StoreReadiness {
    fn name(&self) -> &str {
        self.schema.component
    }

    async fn check(&self) -> Result<(), String> {
        self.database
            .check_ready(&self.schema)
            .await
            .map_err(|error| error.to_string())
    }
}
