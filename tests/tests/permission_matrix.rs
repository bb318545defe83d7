//! The permission table of the README ("Roles, tokens and personal data") cell by cell,
//! over HTTP: one row per GraphQL mutation and one per query, one column per role.
//!
//! Columns: the admin (the Office); the capturista of SIDUR on SIDUR's record (its own
//! agency's); the same capturista on CEA's record (another agency's); the auditor; the
//! viewer. An allowed write must succeed and append events; a refused one must answer
//! `FORBIDDEN` and leave the log head where it was. An allowed read must answer without
//! errors and with data; a refused one `FORBIDDEN` and no data.
//!
//! Both tables are checked against the schema the server introspects, so a mutation or a
//! query without a row fails here until someone decides who may run it.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use seguimiento_system_tests::*;
use serde_json::{json, Value};

/// What one role gets from one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cell {
    Allowed,
    Forbidden,
}

const YES: Cell = Cell::Allowed;
const NO: Cell = Cell::Forbidden;

/// The columns of both tables, in their order.
const ROLES: [&str; 5] = [
    "admin",
    "capturista on its own agency's record",
    "capturista on another agency's record",
    "auditor",
    "viewer",
];

/// The capturista's own agency (see [`Server::capturista`]) and another one.
const SIDUR: &str = "SIDUR";
const CEA: &str = "CEA";

// ---------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------

/// The records one write goes to, all of one agency, with ids of their own: each row gets a
/// target of SIDUR and one of CEA, so an allowed write never changes what another row or
/// column sees.
struct Target {
    agency: &'static str,
    /// The agreement, meeting, activity, petition or action id.
    id: String,
    /// The campaign commitment number.
    number: u32,
    folio: String,
    citizen: String,
    /// An acronym no agency has.
    new_acronym: String,
    /// The first event of the agreement `id`, once [`Write::given`] created one.
    agreement_event: String,
}

impl Target {
    fn new(row: usize, agency: &'static str) -> Target {
        let n = 2 * row + usize::from(agency == CEA);
        Target {
            agency,
            id: format!("00000000-0000-4000-8000-{:012x}", 0x10_0000 + n),
            number: 100 + u32::try_from(n).unwrap(),
            folio: format!("MATRIZ-{row:02}-{agency}"),
            citizen: format!("00000000-0000-4000-8000-{:012x}", 0x20_0000 + n),
            new_acronym: format!("NUEVA{row}{agency}"),
            agreement_event: String::new(),
        }
    }
}

type Steps = Vec<(&'static str, Value)>;

/// One mutation: what the admin makes exist first on each target, the input on a
/// target, and the expected outcome per column of [`ROLES`].
struct Write {
    name: &'static str,
    given: fn(&Target) -> Steps,
    cells: [Cell; 5],
    input: fn(&Target) -> Value,
}

fn w(
    name: &'static str,
    given: fn(&Target) -> Steps,
    cells: [Cell; 5],
    input: fn(&Target) -> Value,
) -> Write {
    Write {
        name,
        given,
        cells,
        input,
    }
}

/// The README's write table: the Office runs every command; the capturista only the
/// `Writer::AssignedAgency` ones and only on what is assigned or turned to its agency;
/// auditors and viewers nothing.
#[rustfmt::skip]
fn writes() -> Vec<Write> {
    vec![
        // mutation                       given                   admin own other aud. viewer
        w("registerAgency",               nothing,                [YES, NO,  NO,  NO,  NO],
          |t| json!({"acronym": t.new_acronym, "name": "Nueva dependencia", "sectorHead": t.agency})),
        w("renameAgency",                 nothing,                [YES, NO,  NO,  NO,  NO],
          |t| json!({"acronym": t.agency, "name": format!("{} renombrada", t.agency)})),
        w("designateLiaison",             nothing,                [YES, NO,  NO,  NO,  NO],
          |t| json!({"acronym": t.agency, "name": "Lic. Ruiz", "position": "Enlace",
                     "contact": "ruiz@example.org", "designationLetter": "OF-1"})),
        w("holdCabinetMeeting",           nothing,                [YES, NO,  NO,  NO,  NO],
          |t| json!({"meetingId": t.id, "meetingType": "SECTORIAL", "date": "2023-03-01",
                     "agencies": [t.agency]})),
        w("createAgreement",              nothing,                [YES, NO,  NO,  NO,  NO], agreement_input),
        w("changeInstructionStage",       an_instruction,         [YES, YES, NO,  NO,  NO],
          |t| json!({"agreementId": t.id, "stage": "MESA_TRABAJO"})),
        w("reportAgreementProgress",      an_agreement,           [YES, YES, NO,  NO,  NO],
          |t| json!({"agreementId": t.id, "progress": "50", "note": "Avance"})),
        w("recordFollowUpAction",         an_agreement,           [YES, YES, NO,  NO,  NO],
          |t| json!({"agreementId": t.id, "text": "Reunión de seguimiento", "date": "2023-04-01"})),
        w("changeAgreementStatus",        an_agreement,           [YES, YES, NO,  NO,  NO],
          |t| json!({"agreementId": t.id, "status": "IN_PROGRESS"})),
        w("reassignAgreement",            an_agreement,           [YES, NO,  NO,  NO,  NO],
          |t| json!({"agreementId": t.id, "agencies": [t.agency], "responsiblePerson": "Ing. Soto"})),
        w("cancelAgreement",              an_agreement,           [YES, NO,  NO,  NO,  NO],
          |t| json!({"agreementId": t.id, "reason": "Duplicado"})),
        w("correctAgreementEvent",        an_agreement,           [YES, NO,  NO,  NO,  NO],
          |t| json!({"agreementId": t.id, "correctedEventId": t.agreement_event,
                     "reason": "Error de captura", "status": null, "progress": null,
                     "dueOn": null, "description": "Revisar tarifas de agua"})),
        w("registerCommitment",           nothing,                [YES, NO,  NO,  NO,  NO],
          |t| json!({"number": t.number, "text": "Construir la presa"})),
        w("assignCommitment",             a_commitment,           [YES, NO,  NO,  NO,  NO],
          |t| json!({"number": t.number, "agencies": [t.agency]})),
        w("registerAction",               an_assigned_commitment, [YES, YES, NO,  NO,  NO], action_input),
        w("changeActionStatus",           an_action,              [YES, YES, NO,  NO,  NO],
          |t| json!({"number": t.number, "actionId": t.id, "status": "CONCLUDED"})),
        w("reportActionProgress",         an_action,              [YES, YES, NO,  NO,  NO],
          |t| json!({"number": t.number, "actionId": t.id, "progress": "40"})),
        w("createActivity",               nothing,                [YES, NO,  NO,  NO,  NO], activity_input),
        w("reportActivity",               an_activity,            [YES, NO,  NO,  NO,  NO],
          |t| json!({"activityId": t.id, "responsible": "Ana", "status": "IN_PROGRESS", "progress": "30"})),
        w("closeActivityResponsibility",  an_activity,            [YES, NO,  NO,  NO,  NO],
          |t| json!({"activityId": t.id, "responsible": "Ana"})),
        w("receiveLetter",                nothing,                [YES, NO,  NO,  NO,  NO], letter_input),
        w("turnLetter",                   a_received_letter,      [YES, NO,  NO,  NO,  NO],
          |t| json!({"folio": t.folio, "agency": t.agency, "turnedAt": "2023-02-02T16:00:00Z"})),
        w("openCaseFile",                 a_turned_letter,        [YES, YES, NO,  NO,  NO],
          |t| json!({"folio": t.folio, "caseFile": format!("EXP-{}", t.folio),
                     "openedAt": "2023-02-03T16:00:00Z"})),
        w("issueOutgoingLetter",          a_turned_letter,        [YES, YES, NO,  NO,  NO],
          |t| json!({"folio": t.folio, "number": "SAL-1", "recipient": "Ayuntamiento",
                     "issuedAt": "2023-02-03T16:00:00Z"})),
        w("recordLetterFollowUp",         a_turned_letter,        [YES, YES, NO,  NO,  NO],
          |t| json!({"folio": t.folio, "note": "Llamada", "recordedAt": "2023-02-03T16:00:00Z"})),
        w("answerLetter",                 a_turned_letter,        [YES, YES, NO,  NO,  NO],
          |t| json!({"folio": t.folio, "answeredAt": "2023-02-03T16:00:00Z"})),
        w("receivePetition",              nothing,                [YES, NO,  NO,  NO,  NO],
          |t| petition_input(&t.id, &t.citizen)),
        w("turnPetition",                 a_received_petition,    [YES, NO,  NO,  NO,  NO],
          |t| json!({"petitionId": t.id, "target": {"agency": t.agency},
                     "turnedAt": "2023-04-11T16:00:00Z"})),
        w("recordPetitionFollowUp",       a_turned_petition,      [YES, YES, NO,  NO,  NO],
          |t| json!({"petitionId": t.id, "kind": "CALL", "at": "2023-04-12T16:00:00Z"})),
        w("attendPetition",               a_turned_petition,      [YES, YES, NO,  NO,  NO],
          |t| json!({"petitionId": t.id, "at": "2023-04-12T16:00:00Z"})),
        w("closePetition",                a_turned_petition,      [YES, YES, NO,  NO,  NO],
          |t| json!({"petitionId": t.id, "at": "2023-04-12T16:00:00Z"})),
        w("rectifyCitizenContact",        a_turned_petition,      [YES, NO,  NO,  NO,  NO],
          |t| json!({"petitionId": t.id, "contact": {"name": "Zacarías Quintero Ruiz",
                     "phone": null, "email": null, "address": null}})),
        // Last: its allowed calls deactivate SIDUR and CEA, which every row above writes for.
        w("deactivateAgency",             nothing,                [YES, NO,  NO,  NO,  NO],
          |t| json!({"acronym": t.agency})),
    ]
}

fn nothing(_: &Target) -> Steps {
    Vec::new()
}

fn agreement_input(t: &Target) -> Value {
    agreement_of_kind(t, "AGREEMENT")
}

fn agreement_of_kind(t: &Target, kind: &str) -> Value {
    json!({
        "agreementId": t.id, "kind": kind, "origin": "SPECIAL_PROJECT", "meetingId": null,
        "description": "Revisar tarifas", "agencies": [t.agency], "responsiblePerson": "Ing. Pérez",
        "issuer": "Gobernador", "issuedOn": "2023-03-01", "dueOn": "2023-12-31", "budget": []})
}

fn an_agreement(t: &Target) -> Steps {
    vec![("createAgreement", agreement_of_kind(t, "AGREEMENT"))]
}

fn an_instruction(t: &Target) -> Steps {
    vec![("createAgreement", agreement_of_kind(t, "INSTRUCTION"))]
}

fn a_commitment(t: &Target) -> Steps {
    vec![(
        "registerCommitment",
        json!({"number": t.number, "text": "Construir la presa"}),
    )]
}

fn an_assigned_commitment(t: &Target) -> Steps {
    let mut steps = a_commitment(t);
    steps.push((
        "assignCommitment",
        json!({"number": t.number, "agencies": [t.agency]}),
    ));
    steps
}

fn action_input(t: &Target) -> Value {
    json!({
        "number": t.number, "actionId": t.id, "agency": t.agency, "description": "Licitación",
        "status": "IN_PROGRESS", "progress": "10", "investmentMxn": "1000", "date": "2023-05-02"})
}

fn an_action(t: &Target) -> Steps {
    let mut steps = an_assigned_commitment(t);
    steps.push(("registerAction", action_input(t)));
    steps
}

fn activity_input(t: &Target) -> Value {
    json!({"activityId": t.id, "title": "Informe trimestral", "priority": "ALTA",
           "dueOn": "2023-12-15", "responsibles": ["Ana"]})
}

fn an_activity(t: &Target) -> Steps {
    vec![("createActivity", activity_input(t))]
}

fn letter_input(t: &Target) -> Value {
    json!({"folio": t.folio, "unit": "DGGD", "classification": "RELEVANT",
           "sender": "Ayuntamiento", "subject": "Solicitud", "receivedAt": "2023-02-01T16:00:00Z"})
}

fn a_received_letter(t: &Target) -> Steps {
    vec![("receiveLetter", letter_input(t))]
}

fn a_turned_letter(t: &Target) -> Steps {
    let mut steps = a_received_letter(t);
    steps.push((
        "turnLetter",
        json!({"folio": t.folio, "agency": t.agency, "turnedAt": "2023-02-02T16:00:00Z"}),
    ));
    steps
}

fn a_received_petition(t: &Target) -> Steps {
    vec![("receivePetition", petition_input(&t.id, &t.citizen))]
}

fn a_turned_petition(t: &Target) -> Steps {
    let mut steps = a_received_petition(t);
    steps.push((
        "turnPetition",
        json!({"petitionId": t.id, "target": {"agency": t.agency},
               "turnedAt": "2023-04-11T16:00:00Z"}),
    ));
    steps
}

/// Has the admin make what `row` needs on `t`.
async fn give(s: &Server, row: &Write, mut t: Target) -> Target {
    for (name, input) in (row.given)(&t) {
        must(s, &s.admin, name, input).await;
    }
    let agreement = s
        .app
        .load_stream(&format!("agreement-{}", t.id))
        .await
        .unwrap();
    if let Some(first) = agreement.first() {
        t.agreement_event = first.id.to_string();
    }
    t
}

/// Fails naming the fields of `root` that have no row, and the rows that name no field.
fn assert_covers(root: &str, rows: &[&str], fields: &[String]) {
    let rows: BTreeSet<&str> = rows.iter().copied().collect();
    let fields: BTreeSet<&str> = fields.iter().map(String::as_str).collect();
    let missing: Vec<_> = fields.difference(&rows).collect();
    let unknown: Vec<_> = rows.difference(&fields).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "the {root} table and the schema differ: no row for {missing:?}; rows for no field: \
         {unknown:?}"
    );
}

/// Runs every cell of [`writes`]. Per row, the refused calls come first, so none of them
/// can be refused for a state an allowed one left; then the allowed ones, each on its own
/// target; then the admin runs any target's input nobody ran, so every refused input is
/// shown to be one the domain accepts, and a refusal to be about who asked.
async fn every_mutation_cell(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    let table = writes();
    let names: Vec<&str> = table.iter().map(|r| r.name).collect();
    assert_covers("mutation", &names, &root_fields(&s, "mutationType").await);

    let mut failures = Vec::new();
    for (r, row) in table.iter().enumerate() {
        let own = give(&s, row, Target::new(r, SIDUR)).await;
        let other = give(&s, row, Target::new(r, CEA)).await;
        let calls: [(&str, &Target); 5] = [
            (s.admin.as_str(), &other),
            (s.capturista.as_str(), &own),
            (s.capturista.as_str(), &other),
            (s.auditor.as_str(), &own),
            (s.viewer.as_str(), &own),
        ];
        let by = |expected: Cell| (0..ROLES.len()).filter(move |&c| row.cells[c] == expected);

        for c in by(NO) {
            let (token, target) = calls[c];
            let before = head(&s).await;
            let (status, body) = mutate(&s, token, row.name, (row.input)(target), json!({})).await;
            let after = head(&s).await;
            if status >= 500 || code(&body).as_deref() != Some("FORBIDDEN") || after != before {
                failures.push(format!(
                    "{} by the {}: expected FORBIDDEN and nothing stored, got HTTP {status}, \
                     head {before} → {after}: {body}",
                    row.name, ROLES[c]
                ));
            }
        }

        let mut runs: Vec<(&str, &str, &Target)> = Vec::new();
        for c in by(YES) {
            let (token, target) = calls[c];
            assert!(
                !runs.iter().any(|(_, _, t)| t.agency == target.agency),
                "{}: two allowed calls write {}'s target; give one a target of its own",
                row.name,
                target.agency
            );
            runs.push((ROLES[c], token, target));
        }
        for t in [&own, &other] {
            if !runs.iter().any(|(_, _, r)| r.agency == t.agency) {
                runs.push(("admin, on the input refused above", s.admin.as_str(), t));
            }
        }
        for (who, token, target) in runs {
            let before = head(&s).await;
            let (status, body) = mutate(&s, token, row.name, (row.input)(target), json!({})).await;
            let after = head(&s).await;
            let result = &body["data"][row.name];
            let appended = result["positions"]
                .as_array()
                .is_some_and(|p| !p.is_empty());
            if body.get("errors").is_some()
                || !appended
                || result["replayed"] != false
                || after <= before
            {
                failures.push(format!(
                    "{} by the {who}, target of {}: expected new events, got HTTP {status}, \
                     head {before} → {after}: {body}",
                    row.name, target.agency
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cell(s) of the write table differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    s.stop().await;
}
on_both_backends!(every_mutation_cell, every_mutation_cell);

// ---------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------

/// The records of one agency in the world [`read_world`] makes.
struct Records {
    agency: &'static str,
    agreement: &'static str,
    folio: &'static str,
    /// A commitment assigned to the agency.
    commitment: u32,
    /// A petition turned to the agency.
    petition: &'static str,
}

const SIDUR_LETTER: &str = "DGGD-0002";
const SIDUR_PETITION: &str = "00000000-0000-4000-8000-0000000000c2";
const CEA_COMMITMENT: u32 = 2;

const SIDUR_RECORDS: Records = Records {
    agency: SIDUR,
    agreement: AGREEMENT_SIDUR,
    folio: SIDUR_LETTER,
    commitment: 1,
    petition: SIDUR_PETITION,
};
const CEA_RECORDS: Records = Records {
    agency: CEA,
    agreement: AGREEMENT_CEA,
    folio: "DGGD-0001",
    commitment: CEA_COMMITMENT,
    petition: PETITION_ID,
};

/// [`seed`] plus what makes each agency have a record of every kind: a letter and a
/// petition turned to SIDUR, the seed's petition turned to CEA, a commitment of CEA alone.
async fn read_world(s: &Server) {
    seed(s).await;
    let steps = [
        (
            "receiveLetter",
            json!({"folio": SIDUR_LETTER, "unit": "DGGD", "classification": "CC",
                   "sender": "Ayuntamiento", "subject": "Solicitud",
                   "receivedAt": "2023-02-01T16:00:00Z"}),
        ),
        (
            "turnLetter",
            json!({"folio": SIDUR_LETTER, "agency": SIDUR, "turnedAt": "2023-02-02T16:00:00Z"}),
        ),
        (
            "receivePetition",
            petition_input(SIDUR_PETITION, "00000000-0000-4000-8000-0000000000e2"),
        ),
        (
            "turnPetition",
            json!({"petitionId": SIDUR_PETITION, "target": {"agency": SIDUR},
                   "turnedAt": "2023-04-11T16:00:00Z"}),
        ),
        (
            "turnPetition",
            json!({"petitionId": PETITION_ID, "target": {"agency": CEA},
                   "turnedAt": "2023-04-11T16:00:00Z"}),
        ),
        (
            "registerCommitment",
            json!({"number": CEA_COMMITMENT, "text": "Desalar agua de mar"}),
        ),
        (
            "assignCommitment",
            json!({"number": CEA_COMMITMENT, "agencies": [CEA]}),
        ),
    ];
    for (name, input) in steps {
        must(s, &s.admin, name, input).await;
    }
    s.settle().await;
}

/// One query: the document on an agency's records and the expected outcome per column of
/// [`ROLES`] (the admin, auditor and viewer columns hold on either agency's records).
struct Read {
    name: &'static str,
    cells: [Cell; 5],
    query: fn(&Records) -> String,
}

fn r(name: &'static str, cells: [Cell; 5], query: fn(&Records) -> String) -> Read {
    Read { name, cells, query }
}

/// The README's read rules: admins and auditors read everything; capturistas and viewers
/// the aggregates; capturistas also their own agency's agreements and letters and every
/// commitment; history, verification, the log head and petitions (personal data) are the
/// admin's and the auditor's alone.
#[rustfmt::skip]
fn reads() -> Vec<Read> {
    vec![
        // query                      admin own other aud. viewer
        r("agencies",                 [YES, YES, YES, YES, YES], |_| "{ agencies { acronym } }".into()),
        r("agency",                   [YES, YES, YES, YES, YES],
          |x| format!("{{ agency(acronym: \"{}\") {{ acronym name }} }}", x.agency)),
        r("compliance",               [YES, YES, YES, YES, YES],
          |_| "{ compliance(scope: CABINET_AGREEMENTS) { rows { key compliancePct } } }".into()),
        // Its items are the agreements of the agency asked about: read as those records.
        r("complianceExplain",        [YES, YES, NO,  YES, NO ],
          |x| format!("{{ complianceExplain(scope: CABINET_AGREEMENTS, key: \"{}\") {{ itemId reference }} }}", x.agency)),
        r("cabinetReport",            [YES, YES, YES, YES, YES],
          |_| "{ cabinetReport(year: 2023) { overall { agreements } } }".into()),
        r("commitments",              [YES, YES, YES, YES, YES],
          |_| "{ commitments { commitments edges { node { number } } } }".into()),
        r("correspondenceMonthly",    [YES, YES, YES, YES, YES],
          |_| "{ correspondenceMonthly(year: 2023) { year } }".into()),
        r("correspondenceByAgency",   [YES, YES, YES, YES, YES],
          |_| "{ correspondenceByAgency(year: 2023) { acronym lettersTurned } }".into()),
        r("petitionsMonthly",         [YES, YES, YES, YES, YES],
          |_| "{ petitionsMonthly(year: 2023) { year annualGoal } }".into()),
        r("history",                  [YES, NO,  NO,  YES, NO],
          |x| format!("{{ history(stream: \"petition-{}\") {{ edges {{ node {{ type }} }} }} }}", x.petition)),
        r("verify",                   [YES, NO,  NO,  YES, NO],
          |x| format!("{{ verify(stream: \"agreement-{}\") {{ ok }} }}", x.agreement)),
        r("logHead",                  [YES, NO,  NO,  YES, NO], |_| "{ logHead { position link } }".into()),
        r("agreement",                [YES, YES, NO,  YES, NO],
          |x| format!("{{ agreement(id: \"{}\") {{ description }} }}", x.agreement)),
        r("commitment",               [YES, YES, YES, YES, NO],
          |x| format!("{{ commitment(number: {}) {{ text }} }}", x.commitment)),
        r("letter",                   [YES, YES, NO,  YES, NO],
          |x| format!("{{ letter(folio: \"{}\") {{ folio }} }}", x.folio)),
        r("petition",                 [YES, NO,  NO,  YES, NO],
          |x| format!("{{ petition(id: \"{}\") {{ municipality contact {{ name }} }} }}", x.petition)),
    ]
}

async fn every_query_cell(db: &Db) {
    let s = Server::start(db.store()).await;
    read_world(&s).await;
    let table = reads();
    let names: Vec<&str> = table.iter().map(|r| r.name).collect();
    assert_covers("query", &names, &root_fields(&s, "queryType").await);

    let both: &[&Records] = &[&SIDUR_RECORDS, &CEA_RECORDS];
    let columns: [(&str, &[&Records]); 5] = [
        (s.admin.as_str(), both),
        (s.capturista.as_str(), &[&SIDUR_RECORDS]),
        (s.capturista.as_str(), &[&CEA_RECORDS]),
        (s.auditor.as_str(), both),
        (s.viewer.as_str(), both),
    ];
    let head0 = head(&s).await;
    let mut failures = Vec::new();
    for row in &table {
        for (c, (token, records)) in columns.iter().enumerate() {
            for x in records.iter() {
                let q = (row.query)(x);
                let (status, body) = s.gql(Some(token), &q, json!({})).await;
                let data = &body["data"][row.name];
                let ok = match row.cells[c] {
                    Cell::Allowed => {
                        status == 200 && body.get("errors").is_none() && !data.is_null()
                    }
                    Cell::Forbidden => {
                        status < 500
                            && codes(&body) == ["FORBIDDEN"]
                            && data.is_null()
                            && shows_personal_data(&body.to_string()).is_empty()
                    }
                };
                if !ok {
                    failures.push(format!(
                        "{} by the {} on {}'s records: expected {:?}, got HTTP {status}: {body}",
                        row.name, ROLES[c], x.agency, row.cells[c]
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cell(s) of the read table differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(head(&s).await, head0, "a read appended events");
    s.stop().await;
}
on_both_backends!(every_query_cell, every_query_cell);
