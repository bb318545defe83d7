//! The write path against real stores: the same tests on SQLite and PostgreSQL.

use chrono::NaiveDate;
use futures::TryStreamExt as _;
use seguimiento_app::{App, AppError, CommandRequest, Principal, Role};
use seguimiento_domain::catalogue::Catalogue;
use seguimiento_domain::command::{
    AssignCommitmentInput, Command, RegisterActionInput, RegisterAgencyInput,
    RegisterCatalogueEntryInput, RegisterCommitmentInput,
};
use seguimiento_domain::values::{Mxn, Status};
use seguimiento_eventstore::EventStore;
use uuid::Uuid;

seguimiento_eventstore::on_both_backends!(
    seguimiento_eventstore::testing::TestDb:
    a_retried_command_id_appends_nothing_twice,
    commands_without_an_id_get_time_ordered_event_ids,
    a_v7_command_stored_with_earlier_ids_is_still_a_replay,
    a_pinned_stale_version_is_a_conflict,
    a_capturista_writes_only_for_its_own_agency,
    readers_cannot_write_and_the_actor_is_the_principal,
    a_refused_command_stores_nothing,
    a_future_effective_time_is_refused_and_not_stored,
);

fn admin() -> Principal {
    Principal::system("admin@test")
}

fn req(command: Command, principal: Principal) -> CommandRequest {
    CommandRequest {
        command,
        principal,
        effective_at: None,
        expected_version: None,
        command_id: None,
    }
}

async fn seed(app: &App) {
    for (catalogue, code) in [
        (Catalogue::PetitionChannel, "CALL_CENTER"),
        (Catalogue::PetitionTopic, "HEALTH"),
        (Catalogue::MeetingType, "LEGAL"),
    ] {
        app.execute(req(
            Command::RegisterCatalogueEntry(RegisterCatalogueEntryInput {
                catalogue,
                code: code.into(),
                label: code.into(),
            }),
            admin(),
        ))
        .await
        .expect("catalogue entry registered");
    }
    for (acronym, name) in [
        ("SEC", "Secretaría de Educación y Cultura"),
        ("SH", "Secretaría de Hacienda"),
    ] {
        app.execute(req(
            Command::RegisterAgency(RegisterAgencyInput {
                acronym: acronym.into(),
                name: name.into(),
                sector_head: None,
            }),
            admin(),
        ))
        .await
        .expect("agency registered");
    }
    app.execute(req(
        Command::RegisterCommitment(RegisterCommitmentInput {
            number: 7,
            text: "Escuelas dignas".into(),
        }),
        admin(),
    ))
    .await
    .expect("commitment registered");
    app.execute(req(
        Command::AssignCommitment(AssignCommitmentInput {
            number: 7,
            agencies: vec!["SEC".into(), "SH".into()],
        }),
        admin(),
    ))
    .await
    .expect("commitment assigned");
}

fn action(agency: &str) -> Command {
    Command::RegisterAction(RegisterActionInput {
        number: 7,
        action_id: Uuid::new_v4(),
        agency: agency.into(),
        description: "Rehabilitación de aulas".into(),
        status: Status::InProgress,
        progress: None,
        investment_mxn: "1500000.50".parse::<Mxn>().expect("amount"),
        date: NaiveDate::from_ymd_opt(2023, 5, 2).expect("date"),
    })
}

async fn a_retried_command_id_appends_nothing_twice(store: EventStore) {
    let app = App::from_store(store);
    seed(&app).await;
    // A client's v4 id keeps the v5-derived event ids; a v7 id (what servers and
    // `seguimiento gen` mint) gives time-ordered ones. Both must make retries idempotent.
    for command_id in [Uuid::new_v4(), Uuid::now_v7()] {
        let cmd = action("SEC");
        let first = app
            .execute(CommandRequest {
                command_id: Some(command_id),
                ..req(cmd.clone(), admin())
            })
            .await
            .expect("first");
        let head = app.store().head_position().await.expect("head");
        let retry = app
            .execute(CommandRequest {
                command_id: Some(command_id),
                ..req(cmd, admin())
            })
            .await
            .expect("retry");
        assert!(!first.replayed);
        assert!(retry.replayed, "{command_id}");
        assert_eq!(first.positions, retry.positions);
        assert_eq!(first.version, retry.version);
        assert_eq!(app.store().head_position().await.expect("head"), head);
        let ids = commitment_ids_from(&app, first.version).await;
        assert_eq!(
            ids,
            seguimiento_domain::ids::command_event_ids(command_id, 1)
        );
        let expected = match command_id.get_version() {
            Some(uuid::Version::SortRand) => uuid::Version::SortRand,
            _ => uuid::Version::Sha1,
        };
        assert_eq!(ids[0].get_version(), Some(expected));
    }
}

/// A v7 command applied by a release before time-ordered ids stored its first event under
/// the v5 id of `"<command id>/0"`. Retried now, it must be recognised, not applied again.
async fn a_v7_command_stored_with_earlier_ids_is_still_a_replay(store: EventStore) {
    let app = App::from_store(store);
    seed(&app).await;
    let applied = app
        .execute(req(action("SEC"), admin()))
        .await
        .expect("applied");
    let original = app
        .store()
        .read_stream("commitment-7", applied.version, None)
        .try_collect::<Vec<_>>()
        .await
        .expect("read")
        .pop()
        .expect("the event");
    // The same event as the older release would have stored it for command `c`.
    let c = Uuid::now_v7();
    let legacy_id = seguimiento_domain::ids::legacy_first_event_id(c).expect("v7");
    let old = app
        .store()
        .append(
            "commitment-7",
            seguimiento_eventstore::ExpectedVersion::Exact(applied.version),
            vec![seguimiento_eventstore::NewEvent {
                id: legacy_id,
                event_type: original.event_type.clone(),
                schema_version: original.schema_version,
                payload: original.payload.clone(),
                metadata: seguimiento_eventstore::Metadata {
                    correlation_id: Some(c),
                    ..original.metadata.clone()
                },
                effective_at: Some(original.effective_at),
            }],
        )
        .await
        .expect("stored the old way");
    let head = app.store().head_position().await.expect("head");
    let retry = app
        .execute(CommandRequest {
            command_id: Some(c),
            ..req(action("SEC"), admin())
        })
        .await
        .expect("retry");
    assert!(retry.replayed);
    assert_eq!(retry.positions, old.positions);
    assert_eq!(app.store().head_position().await.expect("head"), head);
}

/// The ids of `commitment-7`'s events from `version` on.
async fn commitment_ids_from(app: &App, version: u64) -> Vec<Uuid> {
    let stored: Vec<_> = app
        .store()
        .read_stream("commitment-7", version, None)
        .try_collect()
        .await
        .expect("read");
    stored.iter().map(|e| e.id).collect()
}

async fn commands_without_an_id_get_time_ordered_event_ids(store: EventStore) {
    let app = App::from_store(store);
    seed(&app).await;
    let first = app
        .execute(req(action("SEC"), admin()))
        .await
        .expect("first");
    let second = app
        .execute(req(action("SH"), admin()))
        .await
        .expect("second");
    assert_eq!(second.version, first.version + 1);
    let ids = commitment_ids_from(&app, first.version).await;
    assert_eq!(ids.len(), 2);
    for id in &ids {
        assert_eq!(id.get_version(), Some(uuid::Version::SortRand), "{id}");
    }
    // v7 ids minted by one process sort by creation.
    assert!(ids[0] < ids[1]);
}

async fn a_pinned_stale_version_is_a_conflict(store: EventStore) {
    let app = App::from_store(store);
    seed(&app).await;
    // commitment-7 is at version 1 (registered, assigned).
    let ok = app
        .execute(CommandRequest {
            expected_version: Some(1),
            ..req(action("SEC"), admin())
        })
        .await
        .expect("at version 1");
    assert_eq!(ok.version, 2);
    let err = app
        .execute(CommandRequest {
            expected_version: Some(1),
            ..req(action("SEC"), admin())
        })
        .await
        .expect_err("stale");
    assert!(
        matches!(
            err,
            AppError::Conflict {
                actual: Some(2),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), "CONFLICT");
}

async fn a_capturista_writes_only_for_its_own_agency(store: EventStore) {
    let app = App::from_store(store);
    seed(&app).await;
    let sec = Principal {
        subject: "enlace.sec".into(),
        role: Role::Capturista,
        agency: Some("SEC".into()),
    };
    app.execute(req(action("SEC"), sec.clone()))
        .await
        .expect("own agency");
    let err = app
        .execute(req(action("SH"), sec.clone()))
        .await
        .expect_err("other agency");
    assert_eq!(err.code(), "FORBIDDEN");
    // Only on a commitment assigned to its agency.
    app.execute(req(
        Command::RegisterCommitment(RegisterCommitmentInput {
            number: 8,
            text: "Sin asignar".into(),
        }),
        admin(),
    ))
    .await
    .expect("admin registers");
    let unassigned = match action("SEC") {
        Command::RegisterAction(mut i) => {
            i.number = 8;
            Command::RegisterAction(i)
        }
        other => other,
    };
    let err = app
        .execute(req(unassigned, sec.clone()))
        .await
        .expect_err("unassigned commitment");
    assert_eq!(err.code(), "FORBIDDEN");
    let err = app
        .execute(req(
            Command::RegisterAgency(RegisterAgencyInput {
                acronym: "X".into(),
                name: "X".into(),
                sector_head: None,
            }),
            sec,
        ))
        .await
        .expect_err("catalog");
    assert_eq!(err.code(), "FORBIDDEN");
}

async fn readers_cannot_write_and_the_actor_is_the_principal(store: EventStore) {
    let app = App::from_store(store);
    seed(&app).await;
    for role in [Role::Auditor, Role::Viewer] {
        let p = Principal {
            subject: "reader".into(),
            role,
            agency: None,
        };
        let err = app
            .execute(req(action("SEC"), p))
            .await
            .expect_err("reader");
        assert_eq!(err.code(), "FORBIDDEN");
    }
    let out = app
        .execute(req(action("SEC"), admin()))
        .await
        .expect("admin");
    let events = app.load_stream(&out.stream).await.expect("stream");
    let last = events.last().expect("event");
    assert_eq!(last.metadata.actor, "admin@test");
}

async fn a_refused_command_stores_nothing(store: EventStore) {
    let app = App::from_store(store);
    seed(&app).await;
    let head = app.store().head_position().await.expect("head");
    let err = app
        .execute(req(action("NOPE"), admin()))
        .await
        .expect_err("unknown agency");
    assert_eq!(err.code(), "VALIDATION");
    assert_eq!(app.store().head_position().await.expect("head"), head);
}

async fn a_future_effective_time_is_refused_and_not_stored(store: EventStore) {
    let app = App::from_store(store);
    seed(&app).await;
    let head = app.store().head_position().await.expect("head");
    let future = chrono::Utc::now() + chrono::TimeDelta::days(2);
    let err = app
        .execute(CommandRequest {
            effective_at: Some(future),
            ..req(action("SEC"), admin())
        })
        .await
        .expect_err("future");
    assert_eq!(err.code(), "VALIDATION");
    assert_eq!(app.store().head_position().await.expect("head"), head);
    // Within the tolerated clock drift it is accepted.
    let soon = chrono::Utc::now() + chrono::TimeDelta::minutes(1);
    app.execute(CommandRequest {
        effective_at: Some(soon),
        ..req(action("SEC"), admin())
    })
    .await
    .expect("within clock skew");
}
