//! Extreme values through every numeric input the server takes: no panic, no `INTERNAL`,
//! and exactly the values the README's input policy ("Security model → Input") allows are
//! stored.
//!
//! 1. The numeric inputs are found by introspecting the running server: every argument and
//!    input-object field (through lists and non-null wrappers) of every mutation and every
//!    query whose type is `Int`, `Float` or one of the numeric and date scalars. Each must
//!    have a row in [`SWEEP`] or [`QUERY_SWEEP`], so a new one fails here until someone
//!    says what it holds.
//! 2. Every mutation input is sent, as a valid command of [`writes`] with that one value
//!    changed, once per extreme value of its [`Kind`]. A value the policy allows must be
//!    stored, as sent; any other must be refused with a typed error that names the field
//!    (or by GraphQL's own input coercion) and store nothing.
//! 3. Then, over what the sweep stored plus many maximum amounts on one commitment and
//!    agency, every query of [`reads`] and every numeric query argument swept the same way,
//!    then every CLI report, must answer without a panic or an internal error.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc};
use seguimiento_api::ApiConfig;
use seguimiento_domain::Command;
use seguimiento_system_tests::*;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------
// What a numeric input holds, its extreme values, and what the policy allows
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// `Mxn`: 0 to 999,999,999,999,999.99, at most two decimals, no sign.
    Amount,
    /// `Progress`: 0 to 100, at most two decimals, no sign.
    Progress,
    /// A campaign-commitment number: 1 to 9,999.
    CommitmentNumber,
    /// The year of a budget line or of an annual goal: 1900 to 2100.
    BudgetYear,
    /// An annual goal (meta anual): 0 to 1,000,000,000.
    GoalTarget,
    /// A press conference's duration: 1 to 1,440 minutes.
    DurationMinutes,
    /// The day a fact took effect: years 1900 to 2100, and not after today.
    BusinessDate,
    /// A due date: years 1900 to 2100 (it may lie in the future).
    DueDate,
    /// The instant a fact took effect (also `effectiveAt`): years 1900 to 2100 in UTC, no
    /// leap second, and not in the future.
    Instant,
    /// `expectedVersion`: the stream's current version, else `CONFLICT`.
    ExpectedVersion,
    // Query arguments: the README sets no range for them; they must only never fail
    // inside (no `INTERNAL`, no HTTP 5xx).
    /// The year of a monthly report.
    ReportYear,
    /// A page size.
    PageSize,
    /// A numeric cursor (a `String` argument, swept because it is read as a number).
    Cursor,
    /// A past instant of an as-of view (`asOf`, `effectiveAt` of a query).
    AsOf,
}

/// The scalar an argument of each kind has in the schema.
fn scalar_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Amount => "Mxn",
        Kind::Progress => "Progress",
        Kind::BusinessDate | Kind::DueDate => "NaiveDate",
        Kind::Instant | Kind::AsOf => "DateTime",
        Kind::Cursor => "String",
        Kind::CommitmentNumber
        | Kind::BudgetYear
        | Kind::GoalTarget
        | Kind::DurationMinutes
        | Kind::ExpectedVersion
        | Kind::ReportYear
        | Kind::PageSize => "Int",
    }
}

/// The scalars that hold numbers, dates or instants; every other scalar of the schema must
/// be in [`OTHER_SCALARS`], so a new scalar fails here until it is classified.
const NUMERIC_SCALARS: &[&str] = &["Int", "Float", "Mxn", "Progress", "NaiveDate", "DateTime"];
/// The catalogue codes are strings too: their shape is checked, never read as a number.
const OTHER_SCALARS: &[&str] = &[
    "String",
    "Boolean",
    "ID",
    "UUID",
    "JSON",
    "MeetingType",
    "Channel",
    "Topic",
    "FollowUpKind",
];

/// One value to send: as JSON (a string, or a JSON number as the client writes it) and a
/// short label for reports.
#[derive(Clone, Debug)]
struct Probe {
    label: String,
    json: Value,
    /// The number or text as written (a JSON number's own digits, not its `f64`).
    text: String,
}

/// A JSON string.
fn s(text: &str) -> Probe {
    Probe {
        label: format!("{text:?}"),
        json: Value::String(text.to_owned()),
        text: text.to_owned(),
    }
}

/// A JSON number, written exactly as `literal` (parsed the way the server's JSON reader does).
fn n(literal: &str) -> Probe {
    Probe {
        label: literal.to_owned(),
        json: serde_json::from_str(literal).unwrap(),
        text: literal.to_owned(),
    }
}

/// Ten thousand digits.
fn ten_kb_of_digits() -> Probe {
    let digits = "9".repeat(10_000);
    Probe {
        label: "\"9…9\" (10 kB)".into(),
        json: Value::String(digits.clone()),
        text: digits,
    }
}

#[rustfmt::skip]
const INTEGERS: &[&str] = &[
    "0", "1", "-1", "2147483647", "2147483648", "-2147483648", "4294967295", "4294967296",
    "9007199254740993", "9223372036854775807", "-9223372036854775808", "18446744073709551615",
    "18446744073709551616", "1.5", "1e3",
];

/// The extreme values of a kind: JSON strings (`s`) and JSON numbers (`n`).
#[rustfmt::skip]
fn probes(kind: Kind) -> Vec<Probe> {
    let strings = |texts: &[&str]| texts.iter().map(|t| s(t)).collect::<Vec<_>>();
    let numbers = |literals: &[&str]| literals.iter().map(|l| n(l)).collect::<Vec<_>>();
    let mut v: Vec<Probe> = match kind {
        Kind::Amount => [
            strings(&[
                "0", "0.00", "0.01", "1234.5", "999999999999999.99", "1000000000000000.00",
                "1000000000000000", "-0", "-0.00", "-1", "-0.01", "+1", "0.001", "1.005", "1e2",
                "1e15", "1e-2", "79228162514264337593543950335", "79228162514264337593543950336",
                "1e400", "NaN", "Infinity", "-Infinity", "",
            ]),
            numbers(&[
                "0", "-1", "0.1", "1e308", "9007199254740993", "999999999999999",
                "999999999999999.99", "99999999999999.99", "1e15",
            ]),
        ]
        .concat(),
        Kind::Progress => [
            strings(&[
                "0", "100", "100.00", "99.99", "33.33", "100.01", "101", "33.333", "-0", "-0.00",
                "-1", "+1", "1e-9", "1e2", "NaN", "Infinity", "", "79228162514264337593543950335",
            ]),
            numbers(&["0", "100", "50.5", "100.01", "-1", "1e-9", "1e308", "9007199254740993"]),
        ]
        .concat(),
        Kind::CommitmentNumber => [numbers(&["9999", "10000"]), numbers(INTEGERS), strings(&["1"])].concat(),
        Kind::DurationMinutes => [numbers(&["1440", "1441"]), numbers(INTEGERS), strings(&["45"])].concat(),
        Kind::GoalTarget => [
            numbers(&["40000", "1000000000", "1000000001"]),
            numbers(INTEGERS),
            strings(&["40000"]),
        ]
        .concat(),
        Kind::BudgetYear | Kind::ReportYear => [
            numbers(&["1899", "1900", "2023", "2100", "2101", "9999", "10000"]),
            numbers(INTEGERS),
            strings(&["2023"]),
        ]
        .concat(),
        Kind::ExpectedVersion => [numbers(&["2", "3"]), numbers(INTEGERS), strings(&["1"])].concat(),
        Kind::PageSize => [numbers(&["20", "100", "101"]), numbers(INTEGERS)].concat(),
        Kind::Cursor => strings(&["0", "1", "-1", "18446744073709551615", "18446744073709551616", "1e3", ""]),
        Kind::BusinessDate | Kind::DueDate => [
            strings(&[
                "1899-12-31", "1900-01-01", "2023-06-30", "2024-02-29", "2023-02-29", "2023-02-30",
                "2023-13-01", "2100-12-31", "2101-01-01", "0000-01-01", "9999-12-31",
                "-2023-01-01", "+002023-01-01", "02023-01-01", "2023-1-1", "2023-06-30T00:00:00Z",
                "20230630", "",
            ]),
            numbers(&["20230630"]),
        ]
        .concat(),
        Kind::Instant => [
            strings(&[
                "1900-01-01T00:00:00Z", "1899-12-31T23:59:59Z", "1899-12-31T23:00:00-01:00",
                "1900-01-01T00:30:00+01:00", "2023-06-30T17:00:00Z",
                "2023-06-30T17:00:00.123456789Z", "2023-06-30T10:00:00-07:00",
                "2023-06-30T17:00:00+14:00", "2023-06-30T17:00:00-23:59", "2023-06-30t17:00:00z",
                "2023-06-30 17:00:00Z", "2016-12-31T23:59:60Z", "2100-12-31T23:59:59Z",
                "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "-0001-01-01T00:00:00Z",
                "+002023-06-30T17:00:00Z", "+275760-09-13T00:00:00Z", "2023-06-30T17:00:00+24:00",
                "2023-06-30T17:00:00", "2023-02-30T00:00:00Z", "2023-06-30T24:00:00Z",
                "2023-06-30", "",
            ]),
            numbers(&["1688144400"]),
        ]
        .concat(),
        Kind::AsOf => [
            strings(&[
                "1900-01-01T00:00:00Z", "1899-12-31T23:59:59Z", "2016-12-31T23:59:60Z",
                "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "-0001-01-01T00:00:00Z",
                "+275760-09-13T00:00:00Z", "2023-06-30T17:00:00-23:59", "",
                &Utc::now().to_rfc3339(),
            ]),
            numbers(&["1688144400"]),
        ]
        .concat(),
    };
    if matches!(
        kind,
        Kind::Amount | Kind::Progress | Kind::BusinessDate | Kind::DueDate | Kind::Instant
    ) {
        v.push(ten_kb_of_digits());
    }
    v
}

/// What the policy says of one value, told apart where the answer differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Stored,
    Refused,
    /// `expectedVersion` naming another version than the stream's: `CONFLICT`.
    Conflict,
}

/// The README's policy for `probe` as a value of `kind` (`version`: the stream's current
/// version, for [`Kind::ExpectedVersion`]).
fn policy(kind: Kind, probe: &Probe, version: Option<u64>, now: DateTime<Utc>) -> Expect {
    let yes = |ok: bool| if ok { Expect::Stored } else { Expect::Refused };
    match kind {
        Kind::Amount => yes(decimal_text(probe)
            .and_then(|t| decimal_parts(&t))
            .is_some_and(|(int, frac)| int.len() <= 15 && frac.len() <= 2)),
        Kind::Progress => yes(decimal_text(probe)
            .and_then(|t| decimal_parts(&t))
            .is_some_and(|(int, frac)| {
                frac.len() <= 2 && (int.len() < 3 || (int == "100" && frac.is_empty()))
            })),
        Kind::CommitmentNumber => yes(integer(probe).is_some_and(|i| (1..=9_999).contains(&i))),
        Kind::BudgetYear => yes(integer(probe).is_some_and(|i| (1900..=2100).contains(&i))),
        Kind::GoalTarget => yes(integer(probe).is_some_and(|i| (0..=1_000_000_000).contains(&i))),
        Kind::DurationMinutes => yes(integer(probe).is_some_and(|i| (1..=1_440).contains(&i))),
        Kind::DueDate => yes(date(probe).is_some()),
        Kind::BusinessDate => yes(date(probe).is_some_and(|d| {
            // The day's start in Sonora (UTC−7), the instant a dated fact takes effect.
            let start = d.and_time(NaiveTime::MIN).and_utc() + TimeDelta::hours(7);
            start <= now + seguimiento_domain::CLOCK_SKEW
        })),
        Kind::Instant => yes(instant(probe).is_some_and(|t| {
            (1900..=2100).contains(&t.year())
                && t.nanosecond() < 1_000_000_000
                && t <= now + seguimiento_domain::CLOCK_SKEW
        })),
        // The store's versions are signed 64-bit: a larger one is not an `Int` it reads.
        Kind::ExpectedVersion => match integer(probe).and_then(|i| i64::try_from(i).ok()) {
            Some(v) if v >= 0 && u64::try_from(v).ok() == version => Expect::Stored,
            Some(v) if v >= 0 => Expect::Conflict,
            _ => Expect::Refused,
        },
        Kind::ReportYear | Kind::PageSize | Kind::Cursor | Kind::AsOf => {
            unreachable!("query arguments have no policy")
        }
    }
}

/// The decimal a string or JSON number spells (JSON strings only for the text; a JSON
/// number's own digits otherwise). A negative zero spells zero (the policy reads `-0` as
/// 0, as events stored by earlier releases may hold it). A JSON number with a fraction or
/// an exponent keeps at most 15 significant digits, what a double carries exactly; beyond
/// that it must be sent as a string.
fn decimal_text(probe: &Probe) -> Option<String> {
    let text = match probe.text.strip_prefix('-') {
        Some(rest) if decimal_parts(rest).is_some_and(|(i, f)| i.is_empty() && f.is_empty()) => {
            rest.to_owned()
        }
        _ => probe.text.clone(),
    };
    match &probe.json {
        Value::String(_) => Some(text),
        Value::Number(n) if n.is_f64() => {
            let significant: String = text
                .split(['e', 'E'])
                .next()
                .unwrap_or_default()
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            (significant.trim_matches('0').len() <= 15).then_some(text)
        }
        Value::Number(_) => Some(text),
        _ => None,
    }
}

/// A non-negative decimal written as digits with at most one point and optionally an
/// exponent ("1e3", which some JSON writers print): its integer and fraction digits without
/// leading or trailing zeros. `None` for anything else (a sign, "NaN", "", "1,5"…).
fn decimal_parts(text: &str) -> Option<(String, String)> {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i64>().ok()?),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || exponent.abs() > 100_000 {
        return None;
    }
    let all = format!("{int}{frac}");
    let point = i64::try_from(int.len()).unwrap() + exponent;
    let len = i64::try_from(all.len()).unwrap();
    let (int, frac) = if point <= 0 {
        (
            String::new(),
            format!("{}{all}", "0".repeat(usize::try_from(-point).unwrap())),
        )
    } else if point >= len {
        (
            format!("{all}{}", "0".repeat(usize::try_from(point - len).unwrap())),
            String::new(),
        )
    } else {
        let p = usize::try_from(point).unwrap();
        (all[..p].to_owned(), all[p..].to_owned())
    };
    Some((
        int.trim_start_matches('0').to_owned(),
        frac.trim_end_matches('0').to_owned(),
    ))
}

/// A JSON integer (GraphQL's `Int` takes no fraction, exponent or string).
fn integer(probe: &Probe) -> Option<i128> {
    match &probe.json {
        Value::Number(num) if num.is_i64() || num.is_u64() => probe.text.parse().ok(),
        _ => None,
    }
}

/// A calendar date as `YYYY-MM-DD` (GraphQL's `NaiveDate` also reads one-digit months and
/// days, as the README says) in the years 1900 to 2100.
fn date(probe: &Probe) -> Option<NaiveDate> {
    let Value::String(text) = &probe.json else {
        return None;
    };
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let digits =
        |p: &str, lens: &[usize]| lens.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some() || !digits(y, &[4]) || !digits(m, &[1, 2]) || !digits(d, &[1, 2]) {
        return None;
    }
    let day = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    (1900..=2100).contains(&day.year()).then_some(day)
}

/// An RFC 3339 instant, in UTC.
fn instant(probe: &Probe) -> Option<DateTime<Utc>> {
    let Value::String(text) = &probe.json else {
        return None;
    };
    DateTime::<FixedOffset>::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

// ---------------------------------------------------------------------------------------
// The sweep tables
// ---------------------------------------------------------------------------------------

/// Every numeric input of every mutation (`mutation.argument.field…`; `*` for the arguments
/// every mutation takes).
#[rustfmt::skip]
const SWEEP: &[(&str, Kind)] = &[
    ("*.expectedVersion",                          Kind::ExpectedVersion),
    ("*.effectiveAt",                              Kind::Instant),
    ("holdCabinetMeeting.input.date",              Kind::BusinessDate),
    ("createAgreement.input.issuedOn",             Kind::BusinessDate),
    ("createAgreement.input.dueOn",                Kind::DueDate),
    ("createAgreement.input.budget.year",          Kind::BudgetYear),
    ("createAgreement.input.budget.amountMxn",     Kind::Amount),
    ("reportAgreementProgress.input.progress",     Kind::Progress),
    ("recordFollowUpAction.input.date",            Kind::BusinessDate),
    ("correctAgreementEvent.input.progress",       Kind::Progress),
    ("correctAgreementEvent.input.dueOn",          Kind::DueDate),
    ("registerCommitment.input.number",            Kind::CommitmentNumber),
    ("assignCommitment.input.number",              Kind::CommitmentNumber),
    ("registerAction.input.number",                Kind::CommitmentNumber),
    ("registerAction.input.progress",              Kind::Progress),
    ("registerAction.input.investmentMxn",         Kind::Amount),
    ("registerAction.input.date",                  Kind::BusinessDate),
    ("changeActionStatus.input.number",            Kind::CommitmentNumber),
    ("reportActionProgress.input.number",          Kind::CommitmentNumber),
    ("reportActionProgress.input.progress",        Kind::Progress),
    ("createActivity.input.dueOn",                 Kind::DueDate),
    ("reportActivity.input.progress",              Kind::Progress),
    ("receiveLetter.input.receivedAt",             Kind::Instant),
    ("turnLetter.input.turnedAt",                  Kind::Instant),
    ("openCaseFile.input.openedAt",                Kind::Instant),
    ("issueOutgoingLetter.input.issuedAt",         Kind::Instant),
    ("recordLetterFollowUp.input.recordedAt",      Kind::Instant),
    ("answerLetter.input.answeredAt",              Kind::Instant),
    ("receivePetition.input.receivedAt",           Kind::Instant),
    ("turnPetition.input.turnedAt",                Kind::Instant),
    ("recordPetitionFollowUp.input.at",            Kind::Instant),
    ("attendPetition.input.at",                    Kind::Instant),
    ("closePetition.input.at",                     Kind::Instant),
    ("setAnnualGoal.input.year",                   Kind::BudgetYear),
    ("setAnnualGoal.input.target",                 Kind::GoalTarget),
    ("holdPressConference.input.date",             Kind::BusinessDate),
    ("holdPressConference.input.durationMinutes",  Kind::DurationMinutes),
];

/// Values a row stores nothing for although the policy allows them, because the world of
/// [`read_world`] already holds the record they would make: (field, value as labelled, the
/// refusal).
const TAKEN: &[(&str, &str, &str)] = &[
    // The seed registered commitment 1 through this same mutation.
    (
        "registerCommitment.input.number",
        "1",
        "commitment number 1 is already used",
    ),
];

/// Answers that differ from the README's policy, found by this sweep and not fixed yet:
/// (kind, value as labelled, what the server does instead). Each must still happen, so a
/// fix makes its entry fail until it is removed.
#[rustfmt::skip]
const KNOWN: &[(Kind, &str, Answer)] = &[
    // KNOWN: GraphQL's `NaiveDate` and `DateTime` scalars read an expanded year with a sign
    // ("+002023-…") as 2023; the README refuses it in JSON commands and names only
    // "2023-1-1" as what GraphQL reads besides YYYY-MM-DD.
    (Kind::BusinessDate, "\"+002023-01-01\"",              Answer::Stored),
    (Kind::DueDate,      "\"+002023-01-01\"",              Answer::Stored),
    (Kind::Instant,      "\"+002023-06-30T17:00:00Z\"",    Answer::Stored),
];

/// Every numeric argument of every query, and the numeric cursors.
#[rustfmt::skip]
const QUERY_SWEEP: &[(&str, Kind)] = &[
    ("compliance.asOf",                  Kind::AsOf),
    ("compliance.effectiveAt",           Kind::AsOf),
    ("complianceExplain.asOf",           Kind::AsOf),
    ("complianceExplain.effectiveAt",    Kind::AsOf),
    ("cabinetReport.year",               Kind::ReportYear),
    ("cabinetReport.asOf",               Kind::AsOf),
    ("cabinetReport.effectiveAt",        Kind::AsOf),
    ("commitments.first",                Kind::PageSize),
    ("commitments.after",                Kind::Cursor),
    ("commitments.asOf",                 Kind::AsOf),
    ("commitments.effectiveAt",          Kind::AsOf),
    ("correspondenceMonthly.year",       Kind::ReportYear),
    ("correspondenceMonthly.asOf",       Kind::AsOf),
    ("correspondenceByAgency.year",      Kind::ReportYear),
    ("correspondenceByAgency.asOf",      Kind::AsOf),
    ("petitionsMonthly.year",            Kind::ReportYear),
    ("petitionsMonthly.asOf",            Kind::AsOf),
    ("pressConferences.year",            Kind::ReportYear),
    ("pressConferences.asOf",            Kind::AsOf),
    ("pressConference.asOf",             Kind::AsOf),
    ("pressConferencePeriod.year",       Kind::ReportYear),
    ("pressConferencePeriod.asOf",       Kind::AsOf),
    ("history.first",                    Kind::PageSize),
    ("history.after",                    Kind::Cursor),
    ("history.asOf",                     Kind::AsOf),
    ("commitment.number",                Kind::CommitmentNumber),
];

// ---------------------------------------------------------------------------------------
// The schema's numeric inputs
// ---------------------------------------------------------------------------------------

/// One numeric argument or input field of a root field.
#[derive(Clone, Debug)]
struct Leaf {
    /// The mutation or query.
    root: String,
    /// Argument, then input fields (lists pass through).
    path: Vec<String>,
    scalar: String,
    /// The type as declared (`Int!`, `[YearBudgetInput!]!`…) of the argument.
    declared: String,
    nullable: bool,
}

impl Leaf {
    fn name(&self) -> String {
        format!("{}.{}", self.root, self.path.join("."))
    }

    fn field(&self) -> &str {
        self.path.last().unwrap()
    }
}

const TYPE_REF: &str = "fragment T on __Type { kind name ofType { kind name ofType { kind name \
                        ofType { kind name ofType { kind name } } } } }";

/// Every scalar of the schema, and the numeric leaves of `root` (`mutationType`,
/// `queryType`).
async fn numeric_leaves(s: &Server, root: &str) -> (Vec<String>, Vec<Leaf>) {
    let q = format!(
        "{{ __schema {{ types {{ name kind inputFields {{ name type {{ ...T }} }} }} \
         {root} {{ fields {{ name args {{ name type {{ ...T }} }} }} }} }} }} {TYPE_REF}"
    );
    let data = s.ok(&s.admin, &q, json!({})).await;
    let types: HashMap<String, Value> = data["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone()))
        .collect();
    let scalars = types
        .values()
        .filter(|t| t["kind"] == "SCALAR")
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    let mut leaves = Vec::new();
    for field in data["__schema"][root]["fields"].as_array().unwrap() {
        for arg in field["args"].as_array().unwrap() {
            let root = field["name"].as_str().unwrap().to_owned();
            let declared = declared(&arg["type"]);
            walk(
                &types,
                &arg["type"],
                &mut |path, scalar, nullable| {
                    leaves.push(Leaf {
                        root: root.clone(),
                        path,
                        scalar,
                        declared: declared.clone(),
                        nullable,
                    })
                },
                vec![arg["name"].as_str().unwrap().to_owned()],
                0,
            );
        }
    }
    (scalars, leaves)
}

fn declared(ty: &Value) -> String {
    match ty["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", declared(&ty["ofType"])),
        Some("LIST") => format!("[{}]", declared(&ty["ofType"])),
        _ => ty["name"].as_str().unwrap().to_owned(),
    }
}

/// Calls `found(path, scalar, nullable)` for each numeric scalar under a type reference.
fn walk(
    types: &HashMap<String, Value>,
    ty: &Value,
    found: &mut dyn FnMut(Vec<String>, String, bool),
    path: Vec<String>,
    depth: usize,
) {
    assert!(depth < 16, "input types nested deeper than 16 at {path:?}");
    let nullable = ty["kind"] != "NON_NULL";
    let mut named = ty;
    while named["name"].is_null() {
        named = &named["ofType"];
    }
    let name = named["name"].as_str().unwrap();
    match named["kind"].as_str().unwrap() {
        "SCALAR" if NUMERIC_SCALARS.contains(&name) => found(path, name.to_owned(), nullable),
        "INPUT_OBJECT" => {
            for f in types[name]["inputFields"].as_array().unwrap() {
                let mut p = path.clone();
                p.push(f["name"].as_str().unwrap().to_owned());
                walk(types, &f["type"], found, p, depth + 1);
            }
        }
        _ => {}
    }
}

/// The row of `leaf` in `table` (by its name, or `*.argument` for every root field).
fn kind_of(table: &[(&str, Kind)], leaf: &Leaf) -> Option<Kind> {
    let name = leaf.name();
    let any = format!("*.{}", leaf.path.join("."));
    table
        .iter()
        .find(|(row, _)| *row == name || *row == any)
        .map(|(_, k)| *k)
}

/// Fails naming every leaf without a row, every row without a leaf, every row whose kind
/// is not of its leaf's scalar, and every scalar not classified.
fn assert_table_covers(table: &[(&str, Kind)], leaves: &[Leaf]) {
    let mut problems = Vec::new();
    for leaf in leaves {
        match kind_of(table, leaf) {
            None => problems.push(format!("{} ({}) has no row", leaf.name(), leaf.scalar)),
            Some(k) if scalar_of(k) != leaf.scalar => problems.push(format!(
                "{} is a {}, its row says {k:?}",
                leaf.name(),
                leaf.scalar
            )),
            Some(_) => {}
        }
    }
    for (row, kind) in table {
        let matched = leaves
            .iter()
            .any(|l| l.name() == *row || row.strip_prefix("*.") == Some(l.path.join(".").as_str()));
        // Cursors are strings: their rows name arguments the numeric search does not find.
        if !matched && *kind != Kind::Cursor {
            problems.push(format!("row {row} names no numeric input of the schema"));
        }
    }
    assert!(
        problems.is_empty(),
        "the sweep table and the schema differ:\n{}",
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Sending one value
// ---------------------------------------------------------------------------------------

/// Sets every `path` field under `v` (through lists) to `new`.
fn set_path(v: &mut Value, path: &[String], new: &Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(|i| set_path(i, path, new)),
        Value::Object(map) => match path {
            [] => {}
            [last] => {
                map.insert(last.clone(), new.clone());
            }
            [first, rest @ ..] => {
                if let Some(inner) = map.get_mut(first) {
                    set_path(inner, rest, new);
                }
            }
        },
        _ => {}
    }
}

const EARLIEST_DATE: &str = "1900-01-01";
const EARLIEST_INSTANT: &str = "1900-01-01T00:00:00Z";

/// Moves every date and instant of a mutation's input (but `except`) to the earliest the
/// policy allows, or drops an optional one: a swept date then lies after every date it
/// must follow (a turn after the receipt, a due date after the issue).
fn earliest_dates(leaves: &[Leaf], mutation: &str, input: &mut Value, except: Option<&Leaf>) {
    for leaf in leaves
        .iter()
        .filter(|l| l.root == mutation && l.path[0] == "input")
    {
        if except.is_some_and(|e| e.path == leaf.path) {
            continue;
        }
        let earliest = match leaf.scalar.as_str() {
            _ if leaf.nullable => Value::Null,
            "NaiveDate" => json!(EARLIEST_DATE),
            "DateTime" => json!(EARLIEST_INSTANT),
            _ => continue,
        };
        set_path(input, &leaf.path[1..], &earliest);
    }
}

/// A world target of its own for each stored value: a fresh agency (some rows rename or
/// deactivate it, or assign it to commitment 1) and fresh ids.
struct Targets {
    next: usize,
}

impl Targets {
    async fn fresh(&mut self, s: &Server) -> Target {
        self.next += 1;
        let agency = format!("SW{}", self.next);
        s.must(
            &s.admin,
            "registerAgency",
            json!({"acronym": agency, "name": "Dependencia del barrido", "sectorHead": null}),
        )
        .await;
        Target::new(self.next, &agency)
    }
}

/// How the server answered one value (one that breaks what every answer must be is an
/// `Err` instead: HTTP 5xx, `INTERNAL`, a refusal that stored something…).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    /// Stored as sent (or as a value the test cannot read back to compare).
    Stored,
    /// Stored as another value than the one sent.
    Altered,
    /// Refused with a typed error naming the field, or by GraphQL's input coercion.
    Refused,
    /// `CONFLICT`: a version other than the stream's.
    Conflict,
    /// Refused as `VALIDATION`, but without naming the field.
    Unnamed,
}

/// Whether `message` names `field` as a word (not inside another word).
fn names(message: &str, field: &str) -> bool {
    message.match_indices(field).any(|(i, _)| {
        let before = message[..i].chars().next_back();
        let after = message[i + field.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// GraphQL's own refusal of a value its scalar cannot read.
fn is_coercion(message: &str) -> bool {
    [
        "Invalid value for argument",
        "Failed to parse",
        "Expected input type",
    ]
    .iter()
    .any(|start| message.starts_with(start))
}

/// The stored payload values under the key `field` of the events after `position`.
async fn stored_values(s: &Server, position: u64, field: &str) -> Vec<Value> {
    let rows = text_rows(
        s.app.store(),
        &format!(
            "SELECT CAST(payload AS TEXT) FROM events WHERE position > {position} ORDER BY position"
        ),
    )
    .await;
    let mut found = Vec::new();
    for row in rows {
        let payload: Value = serde_json::from_str(row[0].as_deref().unwrap()).unwrap();
        collect_key(&payload, field, &mut found);
    }
    found
}

fn collect_key(v: &Value, key: &str, out: &mut Vec<Value>) {
    match v {
        Value::Object(map) => {
            for (k, inner) in map {
                if k == key {
                    out.push(inner.clone());
                }
                collect_key(inner, key, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_key(i, key, out)),
        _ => {}
    }
}

/// Whether a stored value is the one sent (same number, day or instant).
fn same(kind: Kind, sent: &Probe, stored: &Value) -> bool {
    let Some(stored_text) = stored
        .as_str()
        .map(str::to_owned)
        .or_else(|| stored.as_number().map(ToString::to_string))
    else {
        return false;
    };
    let stored = Probe {
        label: String::new(),
        json: Value::String(stored_text.clone()),
        text: stored_text,
    };
    match kind {
        // A value the test cannot read (one the policy refuses) is not compared.
        Kind::Amount | Kind::Progress => decimal_text(sent)
            .and_then(|t| decimal_parts(&t))
            .is_none_or(|sent| Some(sent) == decimal_parts(&stored.text)),
        Kind::BusinessDate | Kind::DueDate => date(sent).is_none_or(|d| Some(d) == date(&stored)),
        Kind::Instant => instant(sent).is_none_or(|t| Some(t) == instant(&stored)),
        Kind::CommitmentNumber | Kind::BudgetYear | Kind::GoalTarget | Kind::DurationMinutes => {
            integer(sent).map(|i| i.to_string()) == Some(stored.text)
        }
        _ => true,
    }
}

// ---------------------------------------------------------------------------------------
// The scenario
// ---------------------------------------------------------------------------------------

/// What one field did with one value, for the summary and the failures.
struct Outcome {
    field: String,
    kind: Kind,
    probe: String,
    expected: Expect,
    answer: Result<(Answer, String), String>,
}

async fn sweep(db: &Db) {
    let started = Instant::now();
    // Thousands of requests on one token; the reads wait for the projections explicitly.
    let config = ApiConfig {
        rate_limit_per_second: 0,
        read_your_writes: Duration::ZERO,
        ..ApiConfig::default()
    };
    let s = Server::start_with(db.store(), config).await;
    read_world(&s).await;

    let (scalars, mutation_leaves) = numeric_leaves(&s, "mutationType").await;
    let (_, query_leaves) = numeric_leaves(&s, "queryType").await;
    let unknown: Vec<_> = scalars
        .iter()
        .filter(|n| !NUMERIC_SCALARS.contains(&n.as_str()) && !OTHER_SCALARS.contains(&n.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "scalars neither numeric nor other: {unknown:?}"
    );
    assert_table_covers(SWEEP, &mutation_leaves);
    assert_table_covers(QUERY_SWEEP, &query_leaves);
    let cases: HashMap<&str, WriteCase> = writes().into_iter().map(|w| (w.name, w)).collect();
    let mutation_names: Vec<&str> = cases.keys().copied().collect();
    assert_covers(
        "mutation",
        &mutation_names,
        &root_fields(&s, "mutationType").await,
    );

    // 2. Every mutation input, every extreme value of its kind.
    let mut targets = Targets { next: 0 };
    let mut outcomes = Vec::new();
    for leaf in &mutation_leaves {
        let kind = kind_of(SWEEP, leaf).unwrap();
        let case = &cases[leaf.root.as_str()];
        let dated = leaf.path[0] == "input"
            && matches!(kind, Kind::BusinessDate | Kind::DueDate | Kind::Instant);
        let mut target: Option<Target> = None;
        for probe in probes(kind) {
            // A commitment number the policy allows names the commitment written; the
            // target makes that commitment exist (assigned to its agency) first.
            let number = (kind == Kind::CommitmentNumber)
                .then(|| integer(&probe).and_then(|i| u32::try_from(i).ok()))
                .flatten()
                .filter(|i| (1..=9_999).contains(i));
            if target.is_none() || number.is_some() {
                let mut t = targets.fresh(&s).await;
                if let Some(number) = number {
                    t.number = number;
                }
                target = Some(prepare(&s, case, t, &mutation_leaves, dated.then_some(leaf)).await);
            }
            let t = target.as_ref().unwrap();
            let mut input = (case.input)(t);
            if dated {
                earliest_dates(&mutation_leaves, case.name, &mut input, Some(leaf));
            }
            let mut extra = json!({});
            if leaf.path[0] == "input" {
                set_path(&mut input, &leaf.path[1..], &probe.json);
            } else {
                extra[&leaf.path[0]] = probe.json.clone();
            }
            let version = if kind == Kind::ExpectedVersion {
                let cmd: Command =
                    serde_json::from_value(json!({"command": case.name, "input": input})).unwrap();
                s.app
                    .load_stream(&cmd.stream_id())
                    .await
                    .unwrap()
                    .last()
                    .map(|e| e.version)
            } else {
                None
            };
            let mut expected = policy(kind, &probe, version, Utc::now());
            let taken = TAKEN
                .iter()
                .find(|(f, v, _)| *f == leaf.name() && probe.label == *v);
            if taken.is_some() {
                expected = Expect::Refused;
            }
            let before = head(&s).await;
            let answer = send(&s, leaf, kind, &probe, input, extra, taken.map(|t| t.2)).await;
            if head(&s).await != before {
                target = None;
            }
            outcomes.push(Outcome {
                field: leaf.name(),
                kind,
                probe: probe.label.clone(),
                expected,
                answer,
            });
        }
    }
    let sweep_time = started.elapsed();

    let mut failures: Vec<String> = Vec::new();
    let mut known: BTreeMap<(Kind, &str), Vec<String>> = BTreeMap::new();
    let mut accepted: BTreeMap<(Kind, String), Vec<String>> = BTreeMap::new();
    for o in &outcomes {
        let (answer, detail) = match &o.answer {
            Ok(a) => a,
            Err(why) => {
                failures.push(format!("{} = {}: {why}", o.field, o.probe));
                continue;
            }
        };
        if *answer == Answer::Stored {
            accepted
                .entry((o.kind, o.field.clone()))
                .or_default()
                .push(o.probe.clone());
        }
        let as_expected = matches!(
            (answer, o.expected),
            (Answer::Stored, Expect::Stored)
                | (Answer::Refused, Expect::Refused)
                | (Answer::Conflict, Expect::Conflict)
        );
        if as_expected {
            continue;
        }
        match KNOWN
            .iter()
            .find(|(k, label, now)| *k == o.kind && *label == o.probe && now == answer)
        {
            Some((k, label, _)) => known.entry((*k, label)).or_default().push(o.field.clone()),
            None => failures.push(format!(
                "{} = {}: the policy says {:?}, got {answer:?} {detail}",
                o.field, o.probe, o.expected
            )),
        }
    }
    for (kind, label, now) in KNOWN {
        match known.get(&(*kind, *label)) {
            Some(fields) => println!("KNOWN: {kind:?} {label} {now:?} in {}", fields.join(", ")),
            None => failures.push(format!(
                "KNOWN {kind:?} {label} {now:?} no longer happens: remove it from KNOWN"
            )),
        }
    }
    print_accepted(&accepted);
    println!(
        "swept {} values through {} mutation inputs in {sweep_time:?}",
        outcomes.len(),
        mutation_leaves.len()
    );
    assert!(
        failures.is_empty(),
        "{} value(s) answered against the policy:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // 3. Reports over big sums.
    pile_up_maximum_amounts(&s).await;
    s.settle().await;
    let query_started = Instant::now();
    let failures = every_query(&s, &query_leaves).await;
    assert!(
        failures.is_empty(),
        "{} quer(y/ies) failed inside:\n{}",
        failures.len(),
        failures.join("\n")
    );
    still_answers(&s).await;
    println!("queries in {:?}", query_started.elapsed());
    let cli_started = Instant::now();
    every_cli_report(db);
    println!("CLI reports in {:?}", cli_started.elapsed());
    still_answers(&s).await;
    s.stop().await;
    println!("whole scenario in {:?}", started.elapsed());
}
on_both_backends!(Db: sweep);

/// Runs a row's given steps on a target, with its dates moved to the earliest when a date
/// is swept. A commitment the world already holds (commitment 1) is used as it is.
async fn prepare(
    s: &Server,
    case: &WriteCase,
    t: Target,
    leaves: &[Leaf],
    dated: Option<&Leaf>,
) -> Target {
    let steps = (case.given)(&t);
    let mut adjusted = Vec::new();
    for (name, mut input) in steps {
        if dated.is_some() {
            earliest_dates(leaves, name, &mut input, None);
        }
        adjusted.push((name, input));
    }
    for (name, input) in adjusted {
        let (status, body) = s.mutate(&s.admin, name, input.clone(), json!({})).await;
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            body.get("errors").is_none() || message.contains("is already used"),
            "given {name} {input} failed (HTTP {status}): {body}"
        );
    }
    let no_steps = WriteCase {
        name: case.name,
        given: |_| Vec::new(),
        input: case.input,
    };
    give(s, &no_steps, t).await
}

/// Sends one value and checks what every answer must be: below HTTP 500, no `INTERNAL`;
/// stored as sent, or refused with a typed error naming the field, storing nothing.
async fn send(
    s: &Server,
    leaf: &Leaf,
    kind: Kind,
    probe: &Probe,
    input: Value,
    extra: Value,
    taken: Option<&str>,
) -> Result<(Answer, String), String> {
    let before = head(s).await;
    let (status, body) = s.mutate(&s.admin, &leaf.root, input, extra).await;
    let after = head(s).await;
    let short = |b: &Value| {
        let t = b.to_string();
        t.chars().take(400).collect::<String>()
    };
    if status.is_server_error() || codes(&body).iter().any(|c| c == "INTERNAL") {
        return Err(format!("HTTP {status}: {}", short(&body)));
    }
    if body.get("errors").is_none() {
        let appended = body["data"][&leaf.root]["positions"]
            .as_array()
            .map_or(0, |p| p.len() as u64);
        if appended == 0 || after != before + appended {
            return Err(format!(
                "stored {} events for {appended} positions: {}",
                after - before,
                short(&body)
            ));
        }
        if leaf.path[0] == "input" {
            let mut stored = stored_values(s, before, leaf.field()).await;
            if stored.is_empty() && kind == Kind::CommitmentNumber {
                // The number names the stream.
                let stream = body["data"][&leaf.root]["stream"]
                    .as_str()
                    .unwrap_or_default();
                stored.extend(stream.strip_prefix("commitment-").map(Value::from));
            }
            if stored.is_empty() {
                return Err(format!("stored, but no {} in the events", leaf.field()));
            }
            if !stored.iter().all(|v| same(kind, probe, v)) {
                return Ok((Answer::Altered, format!("stored as {stored:?}")));
            }
        }
        return Ok((Answer::Stored, String::new()));
    }
    let code = code(&body).unwrap_or_default();
    let message = body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if after != before {
        return Err(format!(
            "refused ({code}: {message}) but stored {} events",
            after - before
        ));
    }
    if body["errors"].as_array().map_or(0, Vec::len) != 1 || !body["data"][&leaf.root].is_null() {
        return Err(format!("not one error without data: {}", short(&body)));
    }
    let answer = match (kind, code.as_str()) {
        _ if taken.is_some_and(|t| message.contains(t)) => Answer::Refused,
        (Kind::ExpectedVersion, "CONFLICT") => Answer::Conflict,
        (_, "VALIDATION") if is_coercion(&message) || names(&message, leaf.field()) => {
            Answer::Refused
        }
        (_, "VALIDATION") => Answer::Unnamed,
        _ => return Err(format!("refused as {code}: {message}")),
    };
    Ok((answer, format!("{code}: {message}")))
}

fn print_accepted(accepted: &BTreeMap<(Kind, String), Vec<String>>) {
    let mut by_kind: BTreeMap<Kind, BTreeMap<Vec<String>, Vec<String>>> = BTreeMap::new();
    for ((kind, field), values) in accepted {
        by_kind
            .entry(*kind)
            .or_default()
            .entry(values.clone())
            .or_default()
            .push(field.clone());
    }
    for (kind, sets) in by_kind {
        for (values, fields) in sets {
            println!(
                "{kind:?} stored [{}] in {}",
                values.join(", "),
                fields.join(", ")
            );
        }
    }
}

/// Many actions of SIDUR with the largest amount on commitment 1, so every sum of the
/// reports is as large as accepted input makes it.
async fn pile_up_maximum_amounts(s: &Server) {
    for i in 0..50u32 {
        s.must(&s.admin,
            "registerAction",
            json!({"number": 1, "actionId": format!("00000000-0000-4000-8000-{:012x}", 0x30_0000 + i),
                   "agency": SIDUR, "description": "Obra", "status": "IN_PROGRESS",
                   "progress": "100", "investmentMxn": "999999999999999.99", "date": "2023-07-01"}),
        )
        .await;
    }
}

/// Every query of [`reads`] as is, then with each numeric argument set to each extreme
/// value of its kind; returns what failed inside.
async fn every_query(s: &Server, leaves: &[Leaf]) -> Vec<String> {
    let mut failures = Vec::new();
    let mut sent = 0;
    let check = |what: &str, status: u16, body: &Value, strict: bool| {
        let internal = codes(body).iter().any(|c| c == "INTERNAL");
        (status >= 500 || internal || (strict && body.get("errors").is_some()))
            .then(|| format!("{what}: HTTP {status}: {body}"))
    };
    let table = reads();
    for row in &table {
        for records in [&SIDUR_RECORDS, &CEA_RECORDS] {
            let q = (row.query)(records);
            let (status, body) = s.gql(Some(&s.admin), &q, json!({})).await;
            sent += 1;
            failures.extend(check(&q, status.as_u16(), &body, true));
        }
    }
    let mut extra_rows: Vec<Leaf> = leaves.to_vec();
    for (row, kind) in QUERY_SWEEP {
        if *kind == Kind::Cursor {
            let (root, arg) = row.split_once('.').unwrap();
            extra_rows.push(Leaf {
                root: root.into(),
                path: vec![arg.into()],
                scalar: "String".into(),
                declared: "String".into(),
                nullable: true,
            });
        }
    }
    for leaf in &extra_rows {
        let kind = kind_of(QUERY_SWEEP, leaf).unwrap();
        let row = table.iter().find(|r| r.name == leaf.root).unwrap();
        let document = with_variable(&(row.query)(&SIDUR_RECORDS), leaf);
        for probe in probes(kind) {
            let (status, body) = s
                .gql(Some(&s.admin), &document, json!({"v": probe.json}))
                .await;
            sent += 1;
            let what = format!("{} = {}", leaf.name(), probe.label);
            failures.extend(check(&what, status.as_u16(), &body, false));
            if kind == Kind::CommitmentNumber {
                // The README bounds `commitment(number:)` like the commands.
                let allowed = policy(kind, &probe, None, Utc::now()) == Expect::Stored;
                let answered = body.get("errors").is_none();
                if allowed != answered {
                    failures.push(format!(
                        "{what}: the policy {} it: {body}",
                        if allowed { "allows" } else { "refuses" }
                    ));
                }
            }
        }
    }
    println!(
        "{sent} queries, {} of them with a swept argument",
        sent - 2 * table.len()
    );
    failures
}

/// `document` with the argument of `leaf` taken from the variable `$v`.
fn with_variable(document: &str, leaf: &Leaf) -> String {
    let arg = &leaf.path[0];
    let open = format!("{}(", leaf.root);
    let body = if let Some(start) = document.find(&open) {
        let args_start = start + open.len();
        let args_end = args_start + document[args_start..].find(')').unwrap();
        let args: Vec<String> = document[args_start..args_end]
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty() && !a.starts_with(&format!("{arg}:")))
            .map(str::to_owned)
            .chain([format!("{arg}: $v")])
            .collect();
        format!(
            "{}{}{}",
            &document[..args_start],
            args.join(", "),
            &document[args_end..]
        )
    } else {
        let at = document.find(&leaf.root).unwrap() + leaf.root.len();
        format!("{}({arg}: $v){}", &document[..at], &document[at..])
    };
    format!("query($v: {}) {body}", leaf.declared)
}

/// The server still answers an ordinary read, its health check and the chain check.
async fn still_answers(s: &Server) {
    assert_eq!(s.get("/healthz").await.0, 200);
    let d = s.ok(&s.viewer, "{ agencies { acronym } }", json!({})).await;
    assert!(d["agencies"].as_array().unwrap().len() >= 2);
    let v = s
        .ok(
            &s.auditor,
            "{ verify { ok eventsChecked firstBroken { stream version globalPosition reason } } }",
            json!({}),
        )
        .await;
    assert_eq!(v["verify"]["ok"], true, "{v}");
}

/// Every `seguimiento report` scope in every format, as of now, as of and effective at
/// extreme instants, and of extreme years: exit 0, or a clear refusal (exit 1 or 2 with a
/// message); never a panic (101) or a signal.
fn every_cli_report(db: &Db) {
    let dir = std::env::temp_dir().join(format!("numeric-sweep-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("master.keys");
    let key = key.to_str().unwrap();
    let scopes = [
        "semaforo-compromisos",
        "semaforo-gabinete",
        "semaforo-actividades",
        "cabinet",
        "correspondence",
        "petitions",
        "press-conferences",
    ];
    let mut runs: Vec<Vec<String>> = Vec::new();
    for scope in scopes {
        for format in ["table", "csv", "json", "xlsx"] {
            let mut args = vec!["--format".to_owned(), format.to_owned()];
            if format == "xlsx" {
                args.extend([
                    "--out".to_owned(),
                    dir.join(format!("{scope}.xlsx"))
                        .to_str()
                        .unwrap()
                        .to_owned(),
                ]);
            }
            runs.push([vec![scope.to_owned()], args].concat());
        }
        for (flag, at) in [
            ("--as-of", "0000-01-01"),
            ("--effective-at", "9999-12-31T23:59:59Z"),
        ] {
            runs.push(vec![scope.into(), flag.into(), at.into()]);
        }
        if [
            "cabinet",
            "correspondence",
            "petitions",
            "press-conferences",
        ]
        .contains(&scope)
        {
            for year in ["-2147483648", "2147483647"] {
                runs.push(vec![scope.into(), format!("--year={year}")]);
            }
        }
    }
    // Values the command line itself refuses (exit 2 with a message).
    runs.push(vec![
        "cabinet".into(),
        "--as-of".into(),
        "+275760-09-13T00:00:00Z".into(),
    ]);
    runs.push(vec!["petitions".into(), "--year=2147483648".into()]);
    let mut failures = Vec::new();
    let mut refused = Vec::new();
    for chunk in runs.chunks(4) {
        let handles: Vec<_> = chunk
            .iter()
            .map(|args| {
                let mut full = vec!["report".to_owned()];
                full.extend(args.iter().cloned());
                full.extend([
                    "--db".to_owned(),
                    db.url.clone(),
                    "--master-key-file".to_owned(),
                    key.to_owned(),
                ]);
                std::thread::spawn(move || {
                    let refs: Vec<&str> = full.iter().map(String::as_str).collect();
                    (full.join(" "), run_cli(&refs, Duration::from_secs(120)))
                })
            })
            .collect();
        for h in handles {
            let (what, out) = h.join().unwrap();
            let (stdout, stderr) = texts(&out);
            let code = out.status.code();
            let clear = matches!(code, Some(1 | 2)) && !stderr.trim().is_empty();
            let printed = !stdout.trim().is_empty() || what.contains("xlsx");
            if clear {
                let first = stderr
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or_default();
                refused.push(format!("{what}: exit {code:?}: {first}"));
            }
            if !((out.status.success() && printed) || clear) || stderr.contains("panicked") {
                failures.push(format!(
                    "{what}: {code:?}\nstdout: {}\nstderr: {stderr}",
                    stdout.chars().take(300).collect::<String>()
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("{} CLI reports, {} refused:", runs.len(), refused.len());
    refused.iter().for_each(|r| println!("  {r}"));
    assert!(
        failures.is_empty(),
        "{} report(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
