//! Wiring: every component of the platform, started in one process.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use loket_core::SystemClock;
use loket_http::{HttpService, Metrics};
use loket_registers::brp;
use loket_store::{Database, StorageUrl};
use loket_web::{PortalErrorPages, PortalSettings};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::readiness::StoreReadiness;

/// What the platform needs to start; built from the demo defaults or from configuration.
#[derive(Debug, Clone)]
pub struct PlatformSettings {
    pub storage: StorageUrl,
    pub portal_listen: SocketAddr,
    /// Run the BRP register in this process too (the demo does; production asks RvIG's).
    pub brp_listen: Option<SocketAddr>,
    pub municipality: String,
    pub demo: bool,
}

/// The running platform: the services it started and where they listen.
#[derive(Debug)]
pub struct Platform {
    pub endpoints: BTreeMap<&'static str, String>,
    metrics: Metrics,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<std::io::Result<()>>,
}

impl Platform {
    pub fn new() -> Self {
        let (shutdown, _) = watch::channel(false);
        Self {
            endpoints: BTreeMap::new(),
            metrics: Metrics::new(),
            shutdown,
            tasks: JoinSet::new(),
        }
    }

    pub async fn start(settings: PlatformSettings) -> anyhow::Result<Self> {
        let mut platform = Self::new();
        platform.add_platform(settings).await?;
        Ok(platform)
    }

    /// The components every deployment runs: the process layer and the portal (and the BRP
    /// when configured to run in-process).
    pub async fn add_platform(&mut self, settings: PlatformSettings) -> anyhow::Result<()> {
        if let Some(listen) = settings.brp_listen {
            self.add_brp(&settings.storage, listen).await?;
        }
        let zaken = Database::open(&settings.storage, &loket_zaken::SCHEMA)
            .await
            .context("cannot open the process layer's database (zaken)")?;

        let portal_settings = PortalSettings {
            municipality: settings.municipality.clone(),
            demo: settings.demo,
        };
        let portal = HttpService::new("portal", loket_web::portal_routes(portal_settings.clone()))
            .readiness(Arc::new(StoreReadiness {
                database: zaken,
                schema: loket_zaken::SCHEMA,
            }))
            .error_pages(Arc::new(PortalErrorPages::new(portal_settings)));

        self.spawn("portal", settings.portal_listen, portal).await
    }

    /// The BRP register on its own address, with its own database. Returns its store, so
    /// that the demo can seed it.
    pub async fn add_brp(
        &mut self,
        storage: &StorageUrl,
        listen: SocketAddr,
    ) -> anyhow::Result<Arc<dyn brp::PersonStore>> {
        let database = Database::open(storage, &brp::SCHEMA)
            .await
            .context("cannot open the BRP database")?;
        let store = brp::person_store(&database);
        let service = brp::service(store.clone(), Arc::new(SystemClock)).readiness(Arc::new(
            StoreReadiness {
                database,
                schema: brp::SCHEMA,
            },
        ));
        self.spawn("brp", listen, service).await?;
        Ok(store)
    }

    async fn spawn(
        &mut self,
        name: &'static str,
        address: SocketAddr,
        service: HttpService,
    ) -> anyhow::Result<()> {
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address} for {name}"))?;
        let bound = listener.local_addr()?;
        let mut stop = self.shutdown.subscribe();
        let router = service.into_router(self.metrics.clone());
        self.tasks.spawn(async move {
            loket_http::serve(listener, router, async move {
                let _ = stop.wait_for(|stop| *stop).await;
            })
            .await
        });
        tracing::info!(service = name, address = %bound, "listening");
        self.endpoints.insert(name, format!("http://{bound}"));
        Ok(())
    }

    /// Serve until Ctrl-C or SIGTERM, then let open requests finish.
    pub async fn run_until_signal(mut self) -> anyhow::Result<()> {
        tokio::select! {
            () = shutdown_signal() => tracing::info!("shutting down"),
            Some(result) = self.tasks.join_next() => {
                // A server stopped on its own: that is an error, stop the rest too.
                let _ = self.shutdown.send(true);
                result.context("a service task failed")?.context("a service stopped")?;
                anyhow::bail!("a service stopped unexpectedly");
            }
        }
        let _ = self.shutdown.send(true);
        while let Some(result) = self.tasks.join_next().await {
            result
                .context("a service task failed")?
                .context("a service failed while stopping")?;
        }
        Ok(())
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
