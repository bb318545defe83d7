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

use seguimiento_system_tests::*;
use serde_json::json;

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

fn names_of(table: &[(&'static str, [Cell; 5])]) -> Vec<&'static str> {
    table.iter().map(|(name, _)| *name).collect()
}

/// The cells of the row of `name` (rows and schema are checked to match first).
fn cells_of(table: &[(&str, [Cell; 5])], name: &str) -> [Cell; 5] {
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, cells)| *cells)
        .unwrap_or_else(|| panic!("no permission row for {name}"))
}

// ---------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------

/// The README's write table: the Office runs every command; the capturista only the
/// `Writer::AssignedAgency` ones and only on what is assigned or turned to its agency;
/// auditors and viewers nothing. The inputs are those of [`writes`].
#[rustfmt::skip]
const WRITE_CELLS: &[(&str, [Cell; 5])] = &[
    // mutation                       admin own other aud. viewer
    ("registerAgency",                [YES, NO,  NO,  NO,  NO]),
    ("renameAgency",                  [YES, NO,  NO,  NO,  NO]),
    ("designateLiaison",              [YES, NO,  NO,  NO,  NO]),
    ("holdCabinetMeeting",            [YES, NO,  NO,  NO,  NO]),
    ("createAgreement",               [YES, NO,  NO,  NO,  NO]),
    ("changeInstructionStage",        [YES, YES, NO,  NO,  NO]),
    ("reportAgreementProgress",       [YES, YES, NO,  NO,  NO]),
    ("recordFollowUpAction",          [YES, YES, NO,  NO,  NO]),
    ("changeAgreementStatus",         [YES, YES, NO,  NO,  NO]),
    ("reassignAgreement",             [YES, NO,  NO,  NO,  NO]),
    ("cancelAgreement",               [YES, NO,  NO,  NO,  NO]),
    ("correctAgreementEvent",         [YES, NO,  NO,  NO,  NO]),
    ("registerCommitment",            [YES, NO,  NO,  NO,  NO]),
    ("assignCommitment",              [YES, NO,  NO,  NO,  NO]),
    ("registerAction",                [YES, YES, NO,  NO,  NO]),
    ("changeActionStatus",            [YES, YES, NO,  NO,  NO]),
    ("reportActionProgress",          [YES, YES, NO,  NO,  NO]),
    ("createActivity",                [YES, NO,  NO,  NO,  NO]),
    ("reportActivity",                [YES, NO,  NO,  NO,  NO]),
    ("closeActivityResponsibility",   [YES, NO,  NO,  NO,  NO]),
    ("receiveLetter",                 [YES, NO,  NO,  NO,  NO]),
    ("turnLetter",                    [YES, NO,  NO,  NO,  NO]),
    ("openCaseFile",                  [YES, YES, NO,  NO,  NO]),
    ("issueOutgoingLetter",           [YES, YES, NO,  NO,  NO]),
    ("recordLetterFollowUp",          [YES, YES, NO,  NO,  NO]),
    ("answerLetter",                  [YES, YES, NO,  NO,  NO]),
    ("receivePetition",               [YES, NO,  NO,  NO,  NO]),
    ("turnPetition",                  [YES, NO,  NO,  NO,  NO]),
    ("recordPetitionFollowUp",        [YES, YES, NO,  NO,  NO]),
    ("attendPetition",                [YES, YES, NO,  NO,  NO]),
    ("closePetition",                 [YES, YES, NO,  NO,  NO]),
    ("rectifyCitizenContact",         [YES, NO,  NO,  NO,  NO]),
    ("deactivateAgency",              [YES, NO,  NO,  NO,  NO]),
    ("registerCatalogueEntry",        [YES, NO,  NO,  NO,  NO]),
    ("renameCatalogueEntry",          [YES, NO,  NO,  NO,  NO]),
    ("retireCatalogueEntry",          [YES, NO,  NO,  NO,  NO]),
    ("setAnnualGoal",                 [YES, NO,  NO,  NO,  NO]),
    ("holdPressConference",           [YES, NO,  NO,  NO,  NO]),
    ("registerConferenceParticipant", [YES, NO,  NO,  NO,  NO]),
    ("recordConferenceExposition",    [YES, NO,  NO,  NO,  NO]),
    ("recordConferenceQuestion",      [YES, NO,  NO,  NO,  NO]),
];

/// Runs every cell of [`writes`]. Per row, the refused calls come first, so none of them
/// can be refused for a state an allowed one left; then the allowed ones, each on its own
/// target; then the admin runs any target's input nobody ran, so every refused input is
/// shown to be one the domain accepts, and a refusal to be about who asked.
async fn every_mutation_cell(db: &Db) {
    let s = Server::start(db.store()).await;
    seed(&s).await;
    let table = writes();
    let fields = root_fields(&s, "mutationType").await;
    let names: Vec<&str> = table.iter().map(|r| r.name).collect();
    assert_covers("mutation", &names, &fields);
    assert_covers("write permission", &names_of(WRITE_CELLS), &fields);

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
        let cells = cells_of(WRITE_CELLS, row.name);
        let by = |expected: Cell| (0..ROLES.len()).filter(move |&c| cells[c] == expected);

        for c in by(NO) {
            let (token, target) = calls[c];
            let before = head(&s).await;
            let (status, body) = s
                .mutate(token, row.name, (row.input)(target), json!({}))
                .await;
            let after = head(&s).await;
            if status.is_server_error()
                || code(&body).as_deref() != Some("FORBIDDEN")
                || after != before
            {
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
            let (status, body) = s
                .mutate(token, row.name, (row.input)(target), json!({}))
                .await;
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
on_both_backends!(Db: every_mutation_cell);

// ---------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------

/// The README's read rules: admins and auditors read everything; capturistas and viewers
/// the aggregates; capturistas also their own agency's agreements and letters and every
/// commitment; history, verification, the log head and petitions (personal data) are the
/// admin's and the auditor's alone. The admin, auditor and viewer columns hold on either
/// agency's records; the documents are those of [`reads`].
#[rustfmt::skip]
const READ_CELLS: &[(&str, [Cell; 5])] = &[
    // query                      admin own other aud. viewer
    ("agencies",                  [YES, YES, YES, YES, YES]),
    ("agency",                    [YES, YES, YES, YES, YES]),
    ("catalogue",                 [YES, YES, YES, YES, YES]),
    ("annualGoals",               [YES, YES, YES, YES, YES]),
    ("compliance",                [YES, YES, YES, YES, YES]),
    // Its items are the agreements of the agency asked about: read as those records.
    ("complianceExplain",         [YES, YES, NO,  YES, NO ]),
    ("cabinetReport",             [YES, YES, YES, YES, YES]),
    ("commitments",               [YES, YES, YES, YES, YES]),
    ("correspondenceMonthly",     [YES, YES, YES, YES, YES]),
    ("correspondenceByAgency",    [YES, YES, YES, YES, YES]),
    ("petitionsMonthly",          [YES, YES, YES, YES, YES]),
    ("pressConferences",          [YES, YES, YES, YES, YES]),
    ("pressConference",           [YES, YES, YES, YES, YES]),
    ("pressConferencePeriod",     [YES, YES, YES, YES, YES]),
    ("history",                   [YES, NO,  NO,  YES, NO]),
    ("verify",                    [YES, NO,  NO,  YES, NO]),
    ("logHead",                   [YES, NO,  NO,  YES, NO]),
    ("agreement",                 [YES, YES, NO,  YES, NO]),
    ("commitment",                [YES, YES, YES, YES, NO]),
    ("letter",                    [YES, YES, NO,  YES, NO]),
    ("petition",                  [YES, NO,  NO,  YES, NO]),
];

async fn every_query_cell(db: &Db) {
    let s = Server::start(db.store()).await;
    read_world(&s).await;
    let table = reads();
    let fields = root_fields(&s, "queryType").await;
    let names: Vec<&str> = table.iter().map(|r| r.name).collect();
    assert_covers("query", &names, &fields);
    assert_covers("read permission", &names_of(READ_CELLS), &fields);

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
        let cells = cells_of(READ_CELLS, row.name);
        for (c, (token, records)) in columns.iter().enumerate() {
            for x in records.iter() {
                let q = (row.query)(x);
                let (status, body) = s.gql(Some(token), &q, json!({})).await;
                let data = &body["data"][row.name];
                let ok = match cells[c] {
                    Cell::Allowed => {
                        status == 200 && body.get("errors").is_none() && !data.is_null()
                    }
                    Cell::Forbidden => {
                        !status.is_server_error()
                            && codes(&body) == ["FORBIDDEN"]
                            && data.is_null()
                            && shows_personal_data(&body.to_string()).is_empty()
                    }
                };
                if !ok {
                    failures.push(format!(
                        "{} by the {} on {}'s records: expected {:?}, got HTTP {status}: {body}",
                        row.name, ROLES[c], x.agency, cells[c]
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
on_both_backends!(Db: every_query_cell);
