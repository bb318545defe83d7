//! Bearer tokens and the cache of verified tokens, on SQLite and PostgreSQL.

use std::time::Duration;

use seguimiento_app::{App, CreatedToken, Role};
use seguimiento_eventstore::{on_pool, EventStore};

// Current-thread runtime: the TTL test pauses tokio's clock.
seguimiento_eventstore::on_both_backends!(
    current_thread seguimiento_eventstore::testing::TestDb:
    a_revocation_through_any_clone_ends_a_cached_token_at_once,
    a_cached_token_is_trusted_until_its_ttl_then_looked_up_again,
    without_a_ttl_every_lookup_reads_the_database,
    unknown_and_revoked_tokens_are_never_cached_as_valid,
);

/// Revokes token `id` behind the store's back, as another process would.
async fn revoke_elsewhere(store: &EventStore, id: &str) {
    let sql = "UPDATE api_tokens SET revoked_at = 'elsewhere' WHERE id = $1";
    on_pool!(store.pool(), |p| sqlx::query(sql)
        .bind(id)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
    .expect("revoking directly");
}

async fn create(app: &App, role: Role, subject: &str) -> CreatedToken {
    app.tokens()
        .create(role, None, subject)
        .await
        .expect("create")
}

/// Whether the token authenticates (a database error fails the test).
async fn accepted(app: &App, secret: &str) -> bool {
    app.tokens()
        .authenticate(secret)
        .await
        .expect("auth")
        .is_some()
}

async fn a_revocation_through_any_clone_ends_a_cached_token_at_once(store: EventStore) {
    let app = App::from_store(store);
    app.tokens().set_cache_ttl(Duration::from_secs(3600));
    let token = create(&app, Role::Viewer, "dash").await;
    let who = app
        .tokens()
        .authenticate(&token.secret)
        .await
        .expect("auth");
    assert_eq!(who.map(|p| p.role), Some(Role::Viewer));
    // Another clone of the same services revokes it (what a `revokeToken` would do).
    let other = app.clone();
    assert!(other.tokens().revoke(&token.id).await.expect("revoke"));
    assert_eq!(
        app.tokens().authenticate(&token.secret).await.ok(),
        Some(None)
    );
}

async fn a_cached_token_is_trusted_until_its_ttl_then_looked_up_again(store: EventStore) {
    let app = App::from_store(store.clone());
    let ttl = Duration::from_secs(5);
    app.tokens().set_cache_ttl(ttl);
    let token = create(&app, Role::Auditor, "audit").await;
    assert!(accepted(&app, &token.secret).await);
    revoke_elsewhere(&store, &token.id).await;
    // Within the TTL the verification is reused: this is the documented revocation
    // latency for revocations made by another process.
    assert!(accepted(&app, &token.secret).await);
    tokio::time::pause();
    tokio::time::advance(ttl + Duration::from_millis(1)).await;
    tokio::time::resume();
    assert_eq!(
        app.tokens().authenticate(&token.secret).await.ok(),
        Some(None)
    );
}

async fn without_a_ttl_every_lookup_reads_the_database(store: EventStore) {
    let app = App::from_store(store.clone());
    let token = create(&app, Role::Viewer, "dash").await;
    assert!(accepted(&app, &token.secret).await);
    revoke_elsewhere(&store, &token.id).await;
    assert_eq!(
        app.tokens().authenticate(&token.secret).await.ok(),
        Some(None)
    );
}

async fn unknown_and_revoked_tokens_are_never_cached_as_valid(store: EventStore) {
    let app = App::from_store(store.clone());
    app.tokens().set_cache_ttl(Duration::from_secs(3600));
    let unknown = "seg_000000000000000000000000000000000000000000000000";
    for _ in 0..2 {
        assert_eq!(app.tokens().authenticate(unknown).await.ok(), Some(None));
    }
    let token = create(&app, Role::Viewer, "dash").await;
    assert!(app.tokens().revoke(&token.id).await.expect("revoke"));
    for _ in 0..2 {
        assert_eq!(
            app.tokens().authenticate(&token.secret).await.ok(),
            Some(None)
        );
    }
}
