//! Builds the application: keys, database, router and middleware, bound to its address.
//! Tests build it exactly as the binary does, on port 0.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderName, HeaderValue, Method, header},
    middleware::{from_fn, from_fn_with_state},
};
use tokio::{net::TcpListener, sync::Semaphore, task::JoinHandle};
use tower::ServiceBuilder;
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::{
    auth::{Authenticator, denylist::Denylist, keys::dev_secret, revocations::Revocations},
    auth_events,
    clock::Clock,
    config::Config,
    credentials::Issuer,
    db::{self, DenylistTable, Store, WaitingForUsers},
    error::{AppError, is_transient_chain},
    events,
    extract::MAX_BODY_BYTES,
    fanout, idempotency, metrics,
    middleware::{
        close_when_body_unread, conditional_get, private_when_authenticated, request_timeout,
        require_ready, shed_load,
    },
    openapi::{self, ApiDoc},
    rate_limit::{RateLimit, rate_limit},
    reminders::Reminders,
    routes, services,
    state::{AppState, Readiness},
};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How the server is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Report unready, keep accepting for the grace period, then drain (SIGTERM).
    AfterGrace,
    /// Stop accepting now and drain (Ctrl-C, tests).
    Now,
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    /// `/metrics` on a listener of its own (`METRICS_ADDR`).
    metrics: Option<(TcpListener, Router)>,
    state: AppState,
    grace: Duration,
    /// Tasks that run beside the server and stop with it.
    background: Vec<JoinHandle<()>>,
    /// A migration deferred because the database was down, which then failed for good.
    migration: Option<JoinHandle<anyhow::Result<()>>>,
    /// The reminder scheduler, when events are published.
    reminders: Option<Reminders>,
}

impl Application {
    /// Loads the keys, opens the database and binds the listener. A database that does not
    /// answer yet is not fatal: the service starts, answers 503, and migrates as soon as the
    /// database appears; nor is an auth-service's `users` table that is not there yet. A
    /// `users` table it cannot work with is: it refuses to start.
    pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let store = db::connect(config).await?;
        let auth = Arc::new(authenticator(config, &store).await?);
        let readiness = Arc::new(Readiness::default());
        let mut migration = None;
        match store.migrate().await {
            Ok(()) => readiness.set_migrated(),
            Err(err) if waits_for_users(&err) || is_transient_chain(&err) => {
                if waits_for_users(&err) {
                    readiness.set_waiting_for_users();
                    tracing::warn!(error = %err, "serving 503 until the auth-service creates its users table");
                } else {
                    tracing::warn!(error = %err, "the database does not answer yet; serving 503 until it does");
                }
                migration = Some(tokio::spawn(migrate_when_reachable(
                    store.clone(),
                    readiness.clone(),
                )));
            }
            Err(err) => return Err(err.context("migrating the database")),
        }
        let state = AppState {
            store,
            auth,
            clock,
            readiness,
            card_max_age_secs: config.card_max_age_secs,
            credentials: Arc::new(Issuer::from_config(&config.credentials, &config.data_dir)?),
        };
        if config.metrics_enabled {
            metrics::handle();
        }
        let limit = RateLimit::from_config(config)?;
        let router = router(state.clone(), config, limit.clone());
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .with_context(|| format!("binding {}", config.listen_addr))?;
        let metrics = match config.metrics_addr.filter(|_| config.metrics_enabled) {
            Some(address) => Some((
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding METRICS_ADDR {address}"))?,
                metrics::router(state.clone()),
            )),
            None => None,
        };
        let mut background = vec![tokio::spawn(housekeeping(
            state.clone(),
            config.jwt.leeway(),
        ))];
        background.push(tokio::spawn(fanout::run(
            state.clone(),
            config.feed_fanout_max_followers,
        )));
        if let Some(limit) = limit {
            background.push(tokio::spawn(limit.check_redis()));
        }
        match &config.amqp_url {
            Some(url) => {
                let source = auth_events::Source {
                    url: url.clone(),
                    queue: config.auth_events_queue.clone(),
                };
                background.push(tokio::spawn(auth_events::consume(source, state.clone())));
            }
            None => tracing::info!("AMQP_URL is not set: no auth-service events are consumed"),
        }
        let mut reminders = None;
        match events::publisher(&config.events)? {
            Some(publisher) => {
                let relay = events::Relay::new(&config.events);
                background.push(tokio::spawn(relay.run(publisher, state.clone())));
                let scheduler = Reminders::new(
                    state.store.clone(),
                    state.clock.clone(),
                    state.readiness.clone(),
                    config.reminder_local_time,
                    config.reminder_rate,
                );
                if config.reminder_pass_secs > 0 {
                    let every = Duration::from_secs(config.reminder_pass_secs);
                    background.push(tokio::spawn(scheduler.clone().run(every)));
                }
                reminders = Some(scheduler);
            }
            None => {
                tracing::info!("EVENTS_URL is not set: no events are published, no reminders sent")
            }
        }
        Ok(Self {
            listener,
            router,
            metrics,
            state,
            grace: config.shutdown_grace(),
            background,
            migration,
            reminders,
        })
    }

    /// The reminder scheduler (with `EVENTS_URL`), whose passes a test runs itself.
    pub fn reminders(&self) -> Option<Reminders> {
        self.reminders.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where `/metrics` is served when `METRICS_ADDR` gives it a listener of its own.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(listener, _)| {
            listener
                .local_addr()
                .expect("a bound listener has an address")
        })
    }

    /// Serves until `stop` says how to stop. Readiness turns 503 at once; after the grace
    /// period (for [`Stop::AfterGrace`]) the listener closes, requests in flight finish
    /// (each is bounded by the request timeout), and the database pool closes.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = Stop> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.local_addr(), "serving");
        let mut background = self.background;
        if let Some((listener, router)) = self.metrics {
            tracing::info!(address = %listener.local_addr()?, "serving /metrics");
            background.push(tokio::spawn(async move {
                if let Err(err) = axum::serve(listener, router).await {
                    tracing::error!(error = %err, "the metrics listener failed");
                }
            }));
        }
        let readiness = self.state.readiness.clone();
        let grace = self.grace;
        let (failed, migration_failed) = tokio::sync::oneshot::channel();
        if let Some(migration) = self.migration {
            tokio::spawn(async move {
                if let Ok(Err(err)) = migration.await {
                    let _ = failed.send(err);
                }
            });
        }
        let fatal = Arc::new(std::sync::Mutex::new(None));
        let fatal_slot = fatal.clone();
        let shutdown = async move {
            let how = tokio::select! {
                how = stop => how,
                Ok(err) = migration_failed => {
                    tracing::error!(error = %format!("{err:#}"), "migrating the database failed; stopping");
                    *fatal_slot.lock().expect("fatal error slot") = Some(err);
                    Stop::Now
                }
            };
            readiness.start_draining();
            if how == Stop::AfterGrace {
                tracing::info!(
                    ?grace,
                    "draining: readiness reports 503; closing the listener after the grace period"
                );
                tokio::time::sleep(grace).await;
            }
            tracing::info!("closing the listener; finishing requests in flight");
        };
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        for task in &background {
            task.abort();
        }
        self.state.store.close().await;
        if let Some(err) = fatal.lock().expect("fatal error slot").take() {
            return Err(err.context("migrating the database"));
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Retries the migrations until the database answers, backing off up to 10 s, and until the
/// auth-service's `users` table is there, looking every second. A failure other than these
/// ends the retries, and the process.
async fn migrate_when_reachable(
    store: Arc<dyn Store>,
    readiness: Arc<Readiness>,
) -> anyhow::Result<()> {
    let mut wait = Duration::from_millis(250);
    loop {
        tokio::time::sleep(wait).await;
        match store.migrate().await {
            Ok(()) => {
                readiness.set_migrated();
                tracing::info!("database reachable and migrated: ready");
                return Ok(());
            }
            Err(err) if waits_for_users(&err) => {
                if !readiness.is_waiting_for_users() {
                    readiness.set_waiting_for_users();
                    tracing::warn!(error = %err, "serving 503 until the auth-service creates its users table");
                }
                wait = Duration::from_secs(1);
            }
            Err(err) if is_transient_chain(&err) => {
                tracing::debug!(error = %err, "the database still does not answer");
                wait = (wait * 2).min(Duration::from_secs(10));
            }
            Err(err) => return Err(err),
        }
    }
}

fn waits_for_users(err: &anyhow::Error) -> bool {
    err.downcast_ref::<WaitingForUsers>().is_some()
}

/// Hourly: deletes idempotency keys past their 24 hours, the keys of auth-service messages
/// applied more than a week ago, and revoked tokens that can no longer validate (`leeway`
/// past their expiry).
async fn housekeeping(state: AppState, leeway: chrono::TimeDelta) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        if !state.readiness.is_migrated() {
            continue;
        }
        let (store, clock) = (&*state.store, &*state.clock);
        match idempotency::purge(store, clock).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired idempotency keys deleted"),
            Err(err) => tracing::warn!(error = %err, "deleting expired idempotency keys failed"),
        }
        match services::users::purge_inbox(store, clock).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "keys of applied auth-service events deleted"),
            Err(err) => {
                tracing::warn!(error = %err, "deleting applied auth-service event keys failed")
            }
        }
        match services::users::purge_revoked_tokens(store, leeway).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired revoked tokens deleted"),
            Err(err) => tracing::warn!(error = %err, "deleting expired revoked tokens failed"),
        }
    }
}

/// The verifier for the configured keys; with none configured, the development secret,
/// announced loudly. With a deny-list table, or the auth-service's messages, revoked tokens
/// are looked up in `store`.
pub async fn authenticator(
    config: &Config,
    store: &Arc<dyn Store>,
) -> anyhow::Result<Authenticator> {
    let jwt = &config.jwt;
    let dev =
        if jwt.jwt_secret.is_none() && jwt.jwt_public_key.is_none() && jwt.jwt_jwks_url.is_none() {
            let secret = dev_secret(&config.data_dir)?;
            tracing::warn!(
                path = %config.data_dir.join("dev-jwt-secret").display(),
                "no JWT key configured: using a DEVELOPMENT secret. Tokens signed with it are for \
                 local use only; set JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL in production"
            );
            Some(secret)
        } else {
            None
        };
    let mut authenticator = Authenticator::from_config(jwt, dev).await?;
    let remember = Duration::from_secs(jwt.jwt_denylist_cache_secs);
    if let Some(table) = &jwt.jwt_denylist_table {
        authenticator = authenticator.with_denylist(Denylist::new(
            DenylistTable::parse(table).map_err(anyhow::Error::msg)?,
            store.clone(),
            remember,
            jwt.leeway(),
        ));
    }
    // Fed by the auth-service's messages, which arrive only with AMQP_URL.
    if config.amqp_url.is_some() {
        authenticator =
            authenticator.with_revocations(Revocations::new(store.clone(), remember, jwt.leeway()));
    }
    Ok(authenticator)
}

/// The whole HTTP surface. The probes sit outside the API's guards, so a saturated or
/// starting service still answers them truthfully.
pub fn router(state: AppState, config: &Config, limit: Option<Arc<RateLimit>>) -> Router {
    let (api, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::router())
        .split_for_parts();
    let mut probes = OpenApiRouter::new().merge(routes::probes());
    if config.metrics_enabled && config.metrics_addr.is_none() {
        probes = probes.merge(metrics::routes());
    }
    let (probes, probe_doc) = probes.split_for_parts();
    doc.merge(probe_doc);
    let doc = openapi::finish(doc);

    let asyncapi = axum::Json(Arc::new(events::asyncapi::document(&config.events)));
    let mut api = api
        .merge(routes::export::schema_router(&doc))
        .merge(SwaggerUi::new("/docs").url("/openapi.json", doc))
        .route(
            "/asyncapi.json",
            axum::routing::get(move || std::future::ready(asyncapi.clone())),
        )
        .fallback(|| async { AppError::NotFound("no such resource".into()) })
        .method_not_allowed_fallback(|| async {
            AppError::MethodNotAllowed("this resource does not answer that method".into())
        })
        // Innermost first: each `layer` wraps the ones before it.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(from_fn_with_state(
            config.request_timeout(),
            request_timeout,
        ))
        .layer(from_fn(conditional_get))
        .layer(from_fn(private_when_authenticated));
    if let Some(limit) = limit {
        api = api.layer(from_fn_with_state((state.clone(), limit), rate_limit));
    }
    api = api.layer(from_fn_with_state(state.clone(), require_ready));
    if config.max_concurrent_requests > 0 {
        let permits = Arc::new(Semaphore::new(config.max_concurrent_requests));
        api = api.layer(from_fn_with_state(permits, shed_load));
    }
    api = api.layer(from_fn(close_when_body_unread));

    let common = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    // Method, route and request id only: no headers, no query, no bodies.
                    let route = request
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map_or("unmatched", |p| p.as_str());
                    let request_id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!("request", method = %request.method(), route, request_id)
                })
                // A failed request writes one line, its problem's (see `AppError`), not two.
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .option_layer(cors(&config.cors_allowed_origins));
    let mut app = Router::new().merge(probes).merge(api);
    if config.metrics_enabled {
        // Inside `common`, beside each route, where the route's template is known.
        app = app.layer(from_fn(metrics::track));
    }
    app.layer(common).with_state(state)
}

/// Browsers may call the API only from the configured origins; none by default.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter(|o| !o.trim().is_empty())
        .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
                header::IF_NONE_MATCH,
                HeaderName::from_static("idempotency-key"),
            ])
            .expose_headers([
                header::ETAG,
                header::LINK,
                header::LOCATION,
                header::RETRY_AFTER,
                HeaderName::from_static("ratelimit-limit"),
                HeaderName::from_static("ratelimit-remaining"),
                HeaderName::from_static("ratelimit-reset"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}
