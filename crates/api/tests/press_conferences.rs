//! Press conferences ("Ruedas de Prensa") over GraphQL: the Office records them, everyone
//! reads the register, the executive report and the period report, today or as of a past
//! instant.

mod common;

use common::*;
use serde_json::{json, Value};

const GOVERNOR: &str = "00000000-0000-4000-8000-00000000c001";
const PRESIDENT: &str = "00000000-0000-4000-8000-00000000c002";

fn conference(id: &str, kind: &str, date: &str, topic: &str) -> Value {
    json!({"conferenceId": id, "kind": kind, "date": date, "presidedBy": "Gobernador",
           "topic": topic, "state": "Sonora", "venue": "Palacio de Gobierno",
           "durationMinutes": 50})
}

async fn participants(s: &Server, id: &str) {
    for (name, role, outlet) in [
        ("Lic. Ruiz", "Reportera", "El Imparcial"),
        ("Mtro. Gómez", "Vocal ejecutivo", "CEA"),
    ] {
        s.must(
            &s.admin,
            "registerConferenceParticipant",
            json!({"conferenceId": id, "name": name, "role": role, "outlet": outlet}),
        )
        .await;
    }
}

async fn the_office_records_conferences_and_everyone_reads_their_reports(s: &Server) {
    s.must(
        &s.admin,
        "holdPressConference",
        conference(GOVERNOR, "GOVERNOR", "2023-03-06", "Agua"),
    )
    .await;
    s.must(
        &s.admin,
        "holdPressConference",
        conference(PRESIDENT, "PRESIDENT_MORNING", "2023-03-07", "Seguridad"),
    )
    .await;
    participants(s, GOVERNOR).await;
    participants(s, PRESIDENT).await;
    let question = json!({"conferenceId": GOVERNOR, "askedBy": "Lic. Ruiz",
        "question": "¿Cuándo concluye el acueducto?", "answeredBy": "Mtro. Gómez",
        "answerSummary": "En diciembre."});

    // A liaison does not write the Office's register; a non-participant does not speak.
    let (_, body) = s
        .mutate(
            &s.capturista,
            "recordConferenceQuestion",
            question.clone(),
            json!({}),
        )
        .await;
    assert_eq!(code(&body).as_deref(), Some("FORBIDDEN"), "{body}");
    let mut stranger = question.clone();
    stranger["askedBy"] = json!("Otro");
    let (_, body) = s
        .mutate(&s.admin, "recordConferenceQuestion", stranger, json!({}))
        .await;
    assert_eq!(code(&body).as_deref(), Some("VALIDATION"), "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "askedBy",
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["validValues"],
        json!(["Lic. Ruiz", "Mtro. Gómez"]),
        "{body}"
    );

    s.settle().await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let before_question = chrono::Utc::now().to_rfc3339();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    s.must(&s.admin, "recordConferenceQuestion", question).await;
    s.must(
        &s.admin,
        "recordConferenceExposition",
        json!({"conferenceId": PRESIDENT, "speaker": "Mtro. Gómez", "topic": "Agua",
               "ideas": "El acueducto avanza al 80 %."}),
    )
    .await;
    // An instruction given at the Governor's conference, and its progress.
    let instruction = "00000000-0000-4000-8000-00000000a001";
    register_agency(s, "CEA", "Comisión Estatal del Agua", None).await;
    s.must(
        &s.admin,
        "createAgreement",
        json!({"agreementId": instruction, "kind": "INSTRUCTION", "origin": "PRESS_CONFERENCE",
               "conferenceId": GOVERNOR, "description": "Concluir el acueducto",
               "agencies": ["CEA"], "responsiblePerson": "Ing. López",
               "issuer": "Gobernador", "issuedOn": "2023-03-06"}),
    )
    .await;
    s.must(
        &s.admin,
        "changeAgreementStatus",
        json!({"agreementId": instruction, "status": "IN_PROGRESS"}),
    )
    .await;
    s.must(
        &s.admin,
        "reportAgreementProgress",
        json!({"agreementId": instruction, "progress": "35", "note": null}),
    )
    .await;
    s.settle().await;

    let report = r#"query($id: UUID!, $asOf: DateTime) {
        pressConference(conferenceId: $id, asOf: $asOf) {
            kind topic durationMinutes participants { name role outlet }
            interventions { kind participant role outlet text topic }
            instructions { agreementId description status progressPct } } }"#;
    let d = s.ok(&s.viewer, report, json!({"id": GOVERNOR})).await;
    let c = &d["pressConference"];
    assert_eq!(c["kind"], "GOVERNOR");
    assert_eq!(c["durationMinutes"], 50);
    assert_eq!(c["participants"][1]["outlet"], "CEA");
    assert_eq!(
        c["interventions"],
        json!([
            {"kind": "QUESTION", "participant": "Lic. Ruiz", "role": "Reportera",
             "outlet": "El Imparcial", "text": "¿Cuándo concluye el acueducto?", "topic": "Agua"},
            {"kind": "ANSWER", "participant": "Mtro. Gómez", "role": "Vocal ejecutivo",
             "outlet": "CEA", "text": "En diciembre.", "topic": "Agua"},
        ])
    );
    assert_eq!(
        c["instructions"],
        json!([{"agreementId": instruction, "description": "Concluir el acueducto",
                "status": "IN_PROGRESS", "progressPct": "35.00"}])
    );
    // As it stood before the question was recorded.
    let d = s
        .ok(
            &s.viewer,
            report,
            json!({"id": GOVERNOR, "asOf": before_question}),
        )
        .await;
    assert_eq!(d["pressConference"]["interventions"], json!([]), "{d}");
    let d = s
        .ok(
            &s.viewer,
            report,
            json!({"id": "00000000-0000-4000-8000-00000000ffff"}),
        )
        .await;
    assert!(d["pressConference"].is_null());

    let d = s
        .ok(
            &s.capturista,
            "{ pressConferences(year: 2023) { conferenceId date kind } }",
            json!({}),
        )
        .await;
    let kinds: Vec<&str> = d["pressConferences"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kinds, vec!["GOVERNOR", "PRESIDENT_MORNING"]);

    let d = s
        .ok(
            &s.viewer,
            "{ pressConferencePeriod(year: 2023) { total months { month governor presidentMorning total } topics { topic conferences } instructions instructionCompliancePct } }",
            json!({}),
        )
        .await;
    let p = &d["pressConferencePeriod"];
    assert_eq!(p["total"], 2);
    assert_eq!(p["instructions"], 1);
    assert_eq!(p["instructionCompliancePct"], "35.00");
    assert_eq!(
        p["months"][2],
        json!({"month": 3, "governor": 1, "presidentMorning": 1, "total": 2})
    );
    // Water was the Governor's topic and an exposition's at the President's conference.
    assert_eq!(
        p["topics"],
        json!([{"topic": "Agua", "conferences": 2}, {"topic": "Seguridad", "conferences": 1}])
    );
}

seguimiento_eventstore::on_both_backends!(common::Server: the_office_records_conferences_and_everyone_reads_their_reports);
