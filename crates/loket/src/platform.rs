//! Wiring: every component of the platform, started in one process.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use loket_core::{Secret, SystemClock};
use loket_exchange::ExchangeMetrics;
use loket_http::{HttpService, Metrics};
use loket_logboek::{LogMetrics, Logboek};
use loket_registers::brp;
use loket_registers::{Feed, Record, RecordStore, RegisterApi, duo, inkomen, rdw, reisdocumenten};
use loket_store::{Database, Schema, StorageUrl};
use loket_web::werkplek::{Staff, WerkplekSettings, staff_store};
use loket_web::{PortalErrorPages, PortalSettings, WerkplekErrorPages};
use loket_zaken::catalogue::Catalogue;
use loket_zaken::werk::Werk;
use loket_zaken::zgw::{Zaaktype, ZgwApi};
use loket_zaken::zgw_auth::Clients;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::readiness::StoreReadiness;

/// How often a running log drops the bodies of records whose retention has passed.
/// Retention is counted in days, so a body kept up to an hour longer is within it.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// How often the portal and the workspace remove sessions that timed out.
const SWEEP_EVERY: Duration = Duration::from_secs(300);

/// What the platform needs to start; built from the demo defaults or from configuration.
#[derive(Debug, Clone)]
pub struct PlatformSettings {
    pub storage: StorageUrl,
    /// The resident portal's address; `None` serves no portal (an organisation that only
    /// provides services through the exchange).
    pub portal_listen: Option<SocketAddr>,
    /// Registers to run in this process too, each on its own address (the demo runs all;
    /// production asks RvIG's, RDW's and DUO's).
    pub registers: Vec<(RegisterName, SocketAddr)>,
    pub municipality: String,
    /// The municipality as the process layer knows it (CBS code, RSIN).
    pub gemeente: loket_zaken::apply::Gemeente,
    pub demo: bool,
    pub catalogue: Arc<Catalogue>,
    /// The employee workspace, on its own address (an internal network, in production).
    pub werkplek_listen: Option<SocketAddr>,
    /// The municipality's identity provider for staff, if they sign in there.
    pub werkplek_oidc: Option<loket_web::oidc::OidcSettings>,
    /// The ZGW Zaken API, on its own address.
    pub zaken_api: Option<ZakenApiSettings>,
    /// This organisation's part of the exchange (production; the demo sets up its own).
    pub exchange: Option<crate::exchange_peer::ExchangeSettings>,
    pub portal: PortalWiring,
    /// The operator's address: readiness of every service and the process's metrics
    /// (`[operations] listen`; the demo adds its own).
    pub operations_listen: Option<SocketAddr>,
}

/// What the resident portal is connected to.
#[derive(Debug, Clone)]
pub struct PortalWiring {
    /// The municipality's outway (the registers are asked through it).
    pub outway: Option<String>,
    /// The processing logs residents can read about themselves.
    pub logs: Vec<loket_web::portaal::LogSource>,
    /// Seals residents' sessions (at least 32 bytes).
    pub session_key: Secret<Vec<u8>>,
    /// Signs, for each read of a log, which resident is signed in (the logs hold its
    /// public key); none for a portal that reads no log.
    pub assertions: Option<std::sync::Arc<loket_core::resident_assertion::AssertionSigner>>,
    /// Demo only: the personas the simulated DigiD offers.
    pub personas: Vec<loket_web::portaal::DemoPersona>,
    /// Production: the DigiD broker residents log in with.
    pub digid: Option<loket_web::oidc::OidcSettings>,
    /// The processing activities the portal names when it asks the registers.
    pub activities: loket_zaken::inwoner::Activities,
    /// The municipality's OIN (empty without the exchange) and its register of
    /// processing activities, for its uses other organisations' logs record under its
    /// activities without describing them.
    pub municipality_oin: String,
    pub known_activities: HashMap<String, loket_web::portaal::KnownActivity>,
}

/// Each activity of `register`, as the portal tells residents about it.
pub fn known_activities(
    register: &loket_logboek::Activities,
) -> HashMap<String, loket_web::portaal::KnownActivity> {
    let both = |text: &loket_logboek::Text| (text.nl.clone(), text.en.clone());
    register
        .iter()
        .map(|activity| {
            let known = loket_web::portaal::KnownActivity {
                naam: both(&activity.naam),
                doel: both(&activity.doel),
                grondslag: both(&activity.grondslag),
            };
            (activity.id.clone(), known)
        })
        .collect()
}

/// The processing activities of the built-in register (`config/verwerkingsactiviteiten.toml`)
/// under which the portal asks.
pub fn built_in_portal_activities() -> loket_zaken::inwoner::Activities {
    loket_zaken::inwoner::Activities {
        mijn_gegevens: crate::exchange::MIJN_GEGEVENS.to_owned(),
        attenderen: crate::exchange::ATTENDEREN.to_owned(),
    }
}

/// 32 random bytes.
pub fn random_key() -> anyhow::Result<Secret<Vec<u8>>> {
    let mut key = vec![0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)
        .map_err(|_| anyhow::anyhow!("no randomness for a key"))?;
    Ok(Secret::new(key))
}

#[derive(Debug, Clone)]
pub struct ZakenApiSettings {
    pub listen: SocketAddr,
    /// The scheme and host clients use (default: the address it listens on).
    pub public_url: Option<String>,
    pub clients: Clients,
}

/// The running platform: the services it started and where they listen.
pub struct Platform {
    pub endpoints: BTreeMap<&'static str, String>,
    metrics: Metrics,
    log_metrics: LogMetrics,
    exchange_metrics: ExchangeMetrics,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<std::io::Result<()>>,
    /// Processing logs that sign a last tree head once the servers have stopped.
    logs: Vec<Logboek>,
    /// What every service started so far needs to be ready: the operations address
    /// checks them all.
    checks: Vec<Arc<dyn loket_http::ReadinessCheck>>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl Platform {
    pub fn new() -> Self {
        let (shutdown, _) = watch::channel(false);
        let metrics = Metrics::new();
        Self {
            endpoints: BTreeMap::new(),
            log_metrics: LogMetrics::register(&metrics),
            exchange_metrics: ExchangeMetrics::register(&metrics),
            metrics,
            shutdown,
            tasks: JoinSet::new(),
            logs: Vec::new(),
            checks: Vec::new(),
        }
    }

    pub async fn start(settings: PlatformSettings) -> anyhow::Result<Self> {
        let operations = settings.operations_listen;
        let mut platform = Self::new();
        platform.add_platform(settings).await?;
        match operations {
            Some(listen) => platform.add_operations(listen).await?,
            None if platform.endpoints.contains_key("portal") => tracing::warn!(
                "no [operations] listen: the portal's readiness and this process's metrics are served nowhere"
            ),
            None => {}
        }
        Ok(platform)
    }

    /// The operator's address for the whole process: `/healthz`, `/readyz` over every
    /// service started before it, and `/metrics`. Services the internet reaches (the
    /// portal, an inway) answer only `/healthz` themselves, so neither the process's
    /// counters nor what made it unready are public. Add it last.
    pub async fn add_operations(&mut self, listen: SocketAddr) -> anyhow::Result<()> {
        let service = self.checks.clone().into_iter().fold(
            HttpService::new("operations", axum::Router::new()),
            |service, check| service.readiness(check),
        );
        self.spawn("operations", listen, service).await
    }

    /// The components every deployment runs: the process layer and the portal (and the BRP
    /// when configured to run in-process).
    pub async fn add_platform(&mut self, mut settings: PlatformSettings) -> anyhow::Result<()> {
        for (name, listen) in &settings.registers {
            self.add_register(*name, &settings.storage, *listen).await?;
        }
        if let Some(exchange) = &settings.exchange {
            let ours = crate::exchange_peer::start(self, &settings.storage, exchange).await?;
            // A configured portal.outway (another host's) wins over the one started here.
            if settings.portal.outway.is_none() {
                settings.portal.outway = ours.outway;
            }
            if let Some(log) = ours.log {
                settings.portal.logs.insert(0, log);
            }
        }
        let zaken = Database::open(&settings.storage, &loket_zaken::SCHEMA)
            .await
            .context("cannot open the process layer's database (zaken)")?;

        let store = loket_zaken::zaak_store(&zaken);
        let clock: Arc<dyn loket_core::Clock> = Arc::new(SystemClock);
        if let Some(listen) = settings.portal_listen {
            self.add_portal(listen, &settings, &zaken, store.clone(), clock.clone())
                .await?;
        }
        if let Some(listen) = settings.werkplek_listen {
            let database = open(&settings.storage, &loket_web::werkplek::staff::SCHEMA).await?;
            let werk = Werk::new(store.clone(), settings.catalogue.clone(), clock.clone());
            let werkplek_settings = WerkplekSettings {
                municipality: settings.municipality.clone(),
                demo: settings.demo,
                secure_cookies: !settings.demo,
            };
            let staff = Staff::new(staff_store(&database));
            let sweeping = staff.clone();
            self.sweep_every("werkplek", clock.clone(), move |now| {
                let staff = sweeping.clone();
                async move { staff.sweep_sessions(now).await }
            });
            let routes = loket_web::werkplek::werkplek_routes(
                staff,
                werk,
                werkplek_settings.clone(),
                clock.clone(),
                settings
                    .werkplek_oidc
                    .clone()
                    .map(loket_web::oidc::Oidc::new)
                    .transpose()?,
            );
            let service = HttpService::new("werkplek", routes)
                .readiness(readiness(&database, loket_web::werkplek::staff::SCHEMA))
                .error_pages(Arc::new(WerkplekErrorPages::new(werkplek_settings)));
            self.spawn("werkplek", listen, service).await?;
        }
        if let Some(api) = settings.zaken_api {
            let listener = bind("zaken-api", api.listen).await?;
            let public = match api.public_url {
                Some(url) => url,
                None => format!("http://{}", listener.local_addr()?),
            };
            let zaaktypen = settings
                .catalogue
                .products()
                .iter()
                .map(|p| Zaaktype {
                    id: p.id.clone(),
                    omschrijving: p.naam.nl.clone(),
                    behandeltermijn_dagen: p.behandeltermijn_dagen,
                })
                .collect();
            let service = ZgwApi::new(store, api.clients, zaaktypen, &public, clock)
                .service()
                .readiness(readiness(&zaken, loket_zaken::SCHEMA));
            self.spawn_on("zaken-api", listener, service)?;
        }
        Ok(())
    }

    /// The resident portal, with its own database for sessions.
    async fn add_portal(
        &mut self,
        listen: SocketAddr,
        settings: &PlatformSettings,
        zaken: &Database,
        store: Arc<dyn loket_zaken::ZaakStore>,
        clock: Arc<dyn loket_core::Clock>,
    ) -> anyhow::Result<()> {
        use loket_web::portaal::{DigidSimulatie, Inzage, Portaal, sessies};
        let portal_settings = PortalSettings {
            municipality: settings.municipality.clone(),
            demo: settings.demo,
        };
        let wiring = &settings.portal;
        let sessions_db = open(&settings.storage, &sessies::SCHEMA).await?;
        let exchange = wiring
            .outway
            .as_deref()
            .map(loket_zaken::apply::Exchange::new)
            .transpose()?;
        let inwoner = loket_zaken::inwoner::Inwoner::new(
            store.clone(),
            settings.catalogue.clone(),
            exchange.clone(),
            wiring.activities.clone(),
            clock.clone(),
        );
        let applications = exchange.map(|exchange| {
            loket_zaken::apply::Applications::new(
                settings.catalogue.clone(),
                store.clone(),
                exchange,
                settings.gemeente.clone(),
                clock.clone(),
            )
        });
        let digid = if settings.demo {
            Some(DigidSimulatie::new(
                &portal_settings,
                wiring.personas.clone(),
            )?)
        } else {
            None
        };
        let inzage = match &wiring.assertions {
            _ if wiring.logs.is_empty() => Inzage::none(),
            Some(assertions) => Inzage::new(wiring.logs.clone(), assertions.clone())?
                .knowing(&wiring.municipality_oin, wiring.known_activities.clone()),
            None => anyhow::bail!("the portal reads processing logs but has no inzage key"),
        };
        let session_store = sessies::session_store(&sessions_db);
        let sweeping = session_store.clone();
        self.sweep_every("portal", clock.clone(), move |now| {
            let store = sweeping.clone();
            async move { store.delete_expired(now).await }
        });
        let portaal = Portaal {
            sessions: sessies::Sessions::new(session_store, &wiring.session_key)?,
            inwoner,
            applications,
            idempotency: loket_zaken::idempotency::idempotency_store(zaken),
            inzage,
            digid,
            oidc: wiring
                .digid
                .clone()
                .map(loket_web::oidc::Oidc::new)
                .transpose()?,
            clock,
            secure_cookies: !settings.demo,
        };
        // Residents reach it from the internet: readiness and metrics are at the
        // operations address.
        let portal = HttpService::new(
            "portal",
            loket_web::portal_routes(portal_settings.clone(), portaal),
        )
        .without_operator_routes()
        .readiness(Arc::new(StoreReadiness {
            database: zaken.clone(),
            schema: loket_zaken::SCHEMA,
        }))
        .readiness(readiness(&sessions_db, sessies::SCHEMA))
        .large_bodies(
            loket_web::portaal::UPLOAD_PREFIX,
            loket_web::portaal::UPLOAD_LIMIT,
        )
        .error_pages(Arc::new(PortalErrorPages::new(portal_settings)));
        self.spawn("portal", listen, portal).await
    }

    /// One register on its own address, with its own database.
    pub async fn add_register(
        &mut self,
        name: RegisterName,
        storage: &StorageUrl,
        listen: SocketAddr,
    ) -> anyhow::Result<RegisterHandle> {
        let clock = Arc::new(SystemClock);
        let handle = match name {
            RegisterName::Brp => {
                let database = open(storage, &brp::SCHEMA).await?;
                let store = brp::person_store(&database);
                let feed = Feed::new(&database);
                let service = brp::service(store.clone(), feed.clone(), clock)
                    .readiness(readiness(&database, brp::SCHEMA));
                self.spawn("brp", listen, service).await?;
                RegisterHandle::Brp(store, feed)
            }
            RegisterName::Reisdocumenten => RegisterHandle::Reisdocumenten(
                self.add_records(
                    &reisdocumenten::API,
                    &reisdocumenten::SCHEMA,
                    storage,
                    listen,
                )
                .await?,
            ),
            RegisterName::Rdw => RegisterHandle::Rdw(
                self.add_records(&rdw::API, &rdw::SCHEMA, storage, listen)
                    .await?,
            ),
            RegisterName::Duo => RegisterHandle::Duo(
                self.add_records(&duo::API, &duo::SCHEMA, storage, listen)
                    .await?,
            ),
            RegisterName::Inkomen => RegisterHandle::Inkomen(
                self.add_records(&inkomen::API, &inkomen::SCHEMA, storage, listen)
                    .await?,
            ),
        };
        Ok(handle)
    }

    async fn add_records<R: Record>(
        &mut self,
        api: &'static RegisterApi<R>,
        schema: &Schema,
        storage: &StorageUrl,
        listen: SocketAddr,
    ) -> anyhow::Result<(Arc<dyn RecordStore<R>>, Feed)> {
        let database = open(storage, schema).await?;
        let store = loket_registers::record_store::<R>(&database);
        let feed = Feed::new(&database);
        let service = api
            .service(store.clone(), feed.clone(), Arc::new(SystemClock))
            .readiness(readiness(&database, *schema));
        self.spawn(schema.component, listen, service).await?;
        Ok((store, feed))
    }

    pub async fn spawn(
        &mut self,
        name: &'static str,
        address: SocketAddr,
        service: HttpService,
    ) -> anyhow::Result<()> {
        let listener = bind(name, address).await?;
        self.spawn_on(name, listener, service)
    }

    /// Serve `service` on a listener the caller bound (to know its port beforehand).
    pub fn spawn_on(
        &mut self,
        name: &'static str,
        listener: TcpListener,
        service: HttpService,
    ) -> anyhow::Result<()> {
        let bound = listener.local_addr()?;
        let mut stop = self.shutdown.subscribe();
        self.checks
            .extend(service.readiness_checks().iter().cloned());
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

    /// Serve `service` over mutual TLS (an inway).
    pub fn spawn_tls_on(
        &mut self,
        name: &'static str,
        listener: TcpListener,
        service: HttpService,
        config: Arc<rustls::ServerConfig>,
    ) -> anyhow::Result<()> {
        let bound = listener.local_addr()?;
        let mut stop = self.shutdown.subscribe();
        self.checks
            .extend(service.readiness_checks().iter().cloned());
        let router = service.into_router(self.metrics.clone());
        self.tasks.spawn(async move {
            loket_exchange::serve_tls(listener, config, router, async move {
                let _ = stop.wait_for(|stop| *stop).await;
            })
            .await
        });
        tracing::info!(service = name, address = %bound, "listening (mutual TLS)");
        self.endpoints.insert(name, format!("https://{bound}"));
        Ok(())
    }

    /// Where this platform's outways and inways count refusals and withheld answers.
    pub fn exchange_metrics(&self) -> &ExchangeMetrics {
        &self.exchange_metrics
    }

    /// Count `database` in `/readyz` too: for a component no HTTP service of its own
    /// carries the check for (a processing log, which several services write and read).
    pub fn ready_when(&mut self, database: &Database, schema: Schema) {
        self.checks.push(readiness(database, schema));
    }

    /// Take `log` in: it reports its commits to the platform's metrics, drops the bodies
    /// of expired records now and every [`PRUNE_EVERY`] (retention per processing
    /// activity), and signs a tree head over its last records when the platform stops.
    pub fn keep_log(&mut self, log: Logboek) {
        log.report_to(&self.log_metrics);
        let pruning = log.clone();
        let stop = self.shutdown.subscribe();
        self.tasks.spawn(async move {
            pruning.prune_until(PRUNE_EVERY, stop).await;
            Ok(())
        });
        self.logs.push(log);
    }

    /// Every [`SWEEP_EVERY`] until the platform stops, `sweep` removes what timed out by
    /// the clock's now (sessions), and the count is logged; a failure is logged and the
    /// next round tries again.
    fn sweep_every<F, Fut>(
        &mut self,
        service: &'static str,
        clock: Arc<dyn loket_core::Clock>,
        sweep: F,
    ) where
        F: Fn(time::OffsetDateTime) -> Fut + Send + 'static,
        Fut: Future<Output = Result<u64, loket_store::StoreError>> + Send,
    {
        let mut stop = self.shutdown.subscribe();
        self.tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.wait_for(|stop| *stop) => return Ok(()),
                    () = tokio::time::sleep(SWEEP_EVERY) => {}
                }
                match sweep(clock.now()).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(service, removed, "expired sessions removed"),
                    Err(error) => tracing::warn!(service, %error, "expired sessions not removed"),
                }
            }
        });
    }

    /// Serve until Ctrl-C or SIGTERM, then let open requests finish and the processing
    /// logs sign their last records.
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
        for log in &self.logs {
            if let Err(error) = log.seal().await {
                tracing::error!(log = log.name(), %error, "cannot sign the log's last tree head");
            }
        }
        Ok(())
    }
}

pub async fn bind(name: &str, address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} for {name}"))
}

pub async fn open(storage: &StorageUrl, schema: &Schema) -> anyhow::Result<Database> {
    Database::open(storage, schema)
        .await
        .with_context(|| format!("cannot open the {} database", schema.component))
}

fn readiness(database: &Database, schema: Schema) -> Arc<StoreReadiness> {
    Arc::new(StoreReadiness {
        database: database.clone(),
        schema,
    })
}

/// The registers Loket can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegisterName {
    /// BRP Personen (Haal Centraal)
    Brp,
    /// Reisdocumenten (Haal Centraal)
    Reisdocumenten,
    /// RDW voertuigen
    Rdw,
    /// DUO onderwijsinschrijvingen
    Duo,
    /// Inkomen: benefits and income class
    Inkomen,
}

impl RegisterName {
    pub const ALL: [Self; 5] = [
        Self::Brp,
        Self::Reisdocumenten,
        Self::Rdw,
        Self::Duo,
        Self::Inkomen,
    ];
}

/// A started register's store and feed, for seeding and counting.
#[derive(Debug, Clone)]
pub enum RegisterHandle {
    Brp(Arc<dyn brp::PersonStore>, Feed),
    Reisdocumenten((Arc<dyn RecordStore<reisdocumenten::Reisdocument>>, Feed)),
    Rdw((Arc<dyn RecordStore<rdw::Voertuig>>, Feed)),
    Duo((Arc<dyn RecordStore<duo::Inschrijving>>, Feed)),
    Inkomen((Arc<dyn RecordStore<inkomen::Inkomenssituatie>>, Feed)),
}

impl RegisterHandle {
    pub async fn count(&self) -> anyhow::Result<u64> {
        Ok(match self {
            Self::Brp(store, _) => store.count().await?,
            Self::Reisdocumenten((store, _)) => store.count().await?,
            Self::Rdw((store, _)) => store.count().await?,
            Self::Duo((store, _)) => store.count().await?,
            Self::Inkomen((store, _)) => store.count().await?,
        })
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
