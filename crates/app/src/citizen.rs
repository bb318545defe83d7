//! Data-protection requests (ARCO rights under Mexico's personal-data law): everything the
//! system holds about one citizen, for an administrator, and the record of each request.
//!
//! Requests are recorded in `citizen_data_requests`, beside the log: an access changes no
//! fact of the domain, and the log's readers (projections, import) know only domain events.

use chrono::Utc;
use futures::StreamExt;
use seguimiento_eventstore::on_pool;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::{Principal, Role};
use crate::error::AppError;
use crate::App;

impl App {
    /// Every petition of `citizen` with all its events, personal data opened where the
    /// citizen's key still exists, and the latest contact. Admins only; recorded.
    pub async fn citizen_export(
        &self,
        citizen: Uuid,
        principal: &Principal,
    ) -> Result<Value, AppError> {
        if principal.role != Role::Admin {
            return Err(AppError::Forbidden(
                "only an administrator serves data-protection requests".into(),
            ));
        }
        let id = citizen.to_string();
        let sql = "SELECT stream, payload FROM events \
                   WHERE event_type = 'PetitionReceived' AND payload LIKE $1 ORDER BY position";
        let pattern = format!("%{id}%");
        let rows: Vec<(String, String)> = on_pool!(self.store().pool(), |p| sqlx::query_as(sql)
            .bind(&pattern)
            .fetch_all(p)
            .await)?;
        let mut petitions = Vec::new();
        for (stream, payload) in rows {
            let payload: Value = serde_json::from_str(&payload)
                .map_err(|_| AppError::Validation("a stored payload is not JSON".into()))?;
            if payload.get("citizenId").and_then(Value::as_str) != Some(id.as_str()) {
                continue;
            }
            let mut events = Vec::new();
            let mut contact = Value::Null;
            let mut readable = true;
            let mut read = self.store().read_stream(&stream, 0, None);
            while let Some(ev) = read.next().await {
                let mut ev = ev?;
                let opened = self.vault().unseal(&ev.event_type, &mut ev.payload).await?;
                if !opened {
                    crate::personal_data::redact(&ev.event_type, &mut ev.payload, false);
                    readable = false;
                }
                if let Some(c) = ev.payload.get("contact") {
                    contact = c.clone();
                }
                events.push(json!({
                    "position": ev.position,
                    "version": ev.version,
                    "type": ev.event_type,
                    "recordedAt": ev.recorded_at,
                    "effectiveAt": ev.effective_at,
                    "actor": ev.metadata.actor,
                    "payload": ev.payload,
                }));
            }
            petitions.push(json!({
                "stream": stream,
                "petitionId": payload.get("petitionId"),
                "contact": contact,
                "contactReadable": readable,
                "events": events,
            }));
        }
        let detail = format!("{} petitions", petitions.len());
        self.record_citizen_request(&id, "export", principal, &detail)
            .await?;
        Ok(json!({
            "citizenId": id,
            "exportedAt": Utc::now(),
            "exportedBy": principal.subject,
            "petitions": petitions,
        }))
    }

    /// Appends a row to the record of data-protection requests.
    pub async fn record_citizen_request(
        &self,
        citizen: &str,
        kind: &str,
        principal: &Principal,
        detail: &str,
    ) -> Result<(), AppError> {
        let sql = "INSERT INTO citizen_data_requests (id, citizen_id, kind, actor, at, detail) \
                   VALUES ($1, $2, $3, $4, $5, $6)";
        let id = Uuid::new_v4().to_string();
        let at = Utc::now().to_rfc3339();
        on_pool!(self.store().pool(), |p| sqlx::query(sql)
            .bind(&id)
            .bind(citizen)
            .bind(kind)
            .bind(&principal.subject)
            .bind(&at)
            .bind(detail)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}
