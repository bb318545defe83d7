//! The input policy every command passes before it is decided, the same on every backend
//! and every entry point (GraphQL, import, demo), so an event accepted by one database is
//! accepted by the other and no stored value can overflow a report.
//!
//! | what | rule |
//! |---|---|
//! | codes ([`CODE_FIELDS`]: acronyms, folios, case files, tour ids, responsibles…) | at most [`MAX_CODE_CHARS`] characters, no control characters |
//! | one-line texts ([`LINE_FIELDS`]: names, senders, recipients, titles…) | at most [`MAX_LINE_CHARS`] characters, no control characters |
//! | free texts (every other text: descriptions, notes, subjects…) | at most [`MAX_TEXT_CHARS`] characters; of the control characters only tab, line feed and carriage return |
//! | lists | at most [`MAX_LIST_ITEMS`] items |
//! | amounts (`Mxn`) | from 0 to [`MAX_MXN`], no negative zero |
//! | dates and instants | years [`MIN_YEAR`]–[`MAX_YEAR`]; no leap second (23:59:60) |
//! | commitment numbers | 1–[`MAX_COMMITMENT_NUMBER`] |
//!
//! Stored events are not re-checked when they are read: the log is forever, so readers
//! decode what an older release accepted and reports guard their own arithmetic.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::catalogue::{AnnualGoal, Catalogue};
use crate::error::DomainError;
use crate::values::{
    CitizenContact, Classification, GovernmentLevel, InstructionStage, ItemKind, Mxn, Origin,
    Priority, Progress, Status, TurnTarget, Unit, YearBudget,
};

/// Longest code (acronym, folio, case file, responsible…), in characters. Codes name
/// streams and index keys, which PostgreSQL limits to about 2.7 KB.
pub const MAX_CODE_CHARS: usize = 100;
/// Longest one-line text (a name, a sender, a title), in characters.
pub const MAX_LINE_CHARS: usize = 500;
/// Longest free text (a description, a note), in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Most items in one list (agencies of an agreement, responsibles of an activity…).
pub const MAX_LIST_ITEMS: usize = 200;
/// Largest amount in pesos: 999,999,999,999,999.99 (a thousand times a state's yearly
/// budget). Sums of up to 79 trillion such amounts fit a report's decimal, so no report
/// over amounts accepted here can overflow.
pub const MAX_MXN: Decimal = Decimal::from_parts(1_569_325_055, 23_283_064, 0, false, 2);
/// Earliest and latest year of a business date or instant.
pub const MIN_YEAR: i32 = 1900;
pub const MAX_YEAR: i32 = 2100;
/// Largest annual goal (meta anual).
pub const MAX_GOAL_TARGET: u64 = 1_000_000_000;
/// Highest campaign-commitment number.
pub const MAX_COMMITMENT_NUMBER: u32 = 9_999;

/// Fields (snake_case, as declared) whose texts are codes.
pub const CODE_FIELDS: &[&str] = &[
    "acronym",
    "code",
    "sector_head",
    "agency",
    "agencies",
    "folio",
    "case_file",
    "number",
    "tour_id",
    "municipality",
    "responsible",
    "responsibles",
    "designation_letter",
    "phone",
];
/// Fields (snake_case) whose texts are one line.
pub const LINE_FIELDS: &[&str] = &[
    "name",
    "label",
    "position",
    "contact",
    "responsible_person",
    "issuer",
    "sender",
    "recipient",
    "title",
    "email",
    "address",
];

/// A value that can check itself against the input policy. `field` is the snake_case
/// name the value was declared under, used to pick the text class and in the error.
pub trait Check {
    fn check(&self, field: &'static str) -> Result<(), DomainError>;
}

pub(crate) fn invalid(field: &'static str, reason: String) -> DomainError {
    DomainError::InvalidField {
        field: camel_case(field),
        reason,
    }
}

/// `responsible_person` → `responsiblePerson`, the spelling of JSON and GraphQL.
fn camel_case(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

impl Check for str {
    fn check(&self, field: &'static str) -> Result<(), DomainError> {
        let (limit, class, allowed): (usize, &str, &[char]) = if CODE_FIELDS.contains(&field) {
            (MAX_CODE_CHARS, "a code", &[])
        } else if LINE_FIELDS.contains(&field) {
            (MAX_LINE_CHARS, "a one-line text", &[])
        } else {
            (MAX_TEXT_CHARS, "a text", &['\t', '\n', '\r'])
        };
        // The offending character is named by its code point only: the text may be
        // personal data.
        if let Some(c) = self
            .chars()
            .find(|c| c.is_control() && !allowed.contains(c))
        {
            return Err(invalid(
                field,
                format!(
                    "{class} may not contain the control character U+{:04X}",
                    u32::from(c)
                ),
            ));
        }
        let chars = self.chars().count();
        if chars > limit {
            return Err(invalid(
                field,
                format!("{class} has at most {limit} characters, found {chars}"),
            ));
        }
        Ok(())
    }
}

impl Check for String {
    fn check(&self, field: &'static str) -> Result<(), DomainError> {
        self.as_str().check(field)
    }
}

impl<T: Check> Check for Option<T> {
    fn check(&self, field: &'static str) -> Result<(), DomainError> {
        self.as_ref().map_or(Ok(()), |v| v.check(field))
    }
}

impl<T: Check> Check for Vec<T> {
    fn check(&self, field: &'static str) -> Result<(), DomainError> {
        if self.len() > MAX_LIST_ITEMS {
            return Err(invalid(
                field,
                format!(
                    "a list has at most {MAX_LIST_ITEMS} items, found {}",
                    self.len()
                ),
            ));
        }
        self.iter().try_for_each(|v| v.check(field))
    }
}

impl Check for Mxn {
    fn check(&self, field: &'static str) -> Result<(), DomainError> {
        let amount = self.amount();
        if amount > MAX_MXN || amount.is_sign_negative() {
            return Err(invalid(
                field,
                format!("an amount is from 0 to {MAX_MXN} pesos, found {amount}"),
            ));
        }
        Ok(())
    }
}

impl Check for Progress {
    fn check(&self, field: &'static str) -> Result<(), DomainError> {
        if self.value().is_sign_negative() {
            return Err(invalid(
                field,
                "a percentage is from 0 to 100, without a sign".into(),
            ));
        }
        Ok(())
    }
}

fn check_year(field: &'static str, year: i32) -> Result<(), DomainError> {
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(invalid(
            field,
            format!("a date lies in the years {MIN_YEAR} to {MAX_YEAR}, found year {year}"),
        ));
    }
    Ok(())
}

impl Check for NaiveDate {
    fn check(&self, field: &'static str) -> Result<(), DomainError> {
        check_year(field, self.year())
    }
}

impl Check for DateTime<Utc> {
    fn check(&self, field: &'static str) -> Result<(), DomainError> {
        check_year(field, self.year())?;
        // chrono keeps a leap second (23:59:60) as more than 10^9 nanoseconds; PostgreSQL
        // reads it back as the next minute, so an event hashed with it would not verify.
        if self.nanosecond() >= 1_000_000_000 {
            return Err(invalid(
                field,
                "an instant has no leap second (23:59:60); use 23:59:59".into(),
            ));
        }
        Ok(())
    }
}

impl Check for u32 {
    /// The only whole-number input is a commitment number.
    fn check(&self, field: &'static str) -> Result<(), DomainError> {
        if !(1..=MAX_COMMITMENT_NUMBER).contains(self) {
            return Err(invalid(
                field,
                format!("a commitment number is from 1 to {MAX_COMMITMENT_NUMBER}, found {self}"),
            ));
        }
        Ok(())
    }
}

impl Check for YearBudget {
    fn check(&self, field: &'static str) -> Result<(), DomainError> {
        check_year(field, self.year)?;
        self.amount_mxn.check("amount_mxn")
    }
}

impl Check for CitizenContact {
    fn check(&self, _field: &'static str) -> Result<(), DomainError> {
        self.name.check("name")?;
        self.phone.check("phone")?;
        self.email.check("email")?;
        self.address.check("address")
    }
}

impl Check for TurnTarget {
    fn check(&self, _field: &'static str) -> Result<(), DomainError> {
        match self {
            TurnTarget::Agency(a) => a.check("agency"),
            TurnTarget::GovernmentLevel(_) => Ok(()),
        }
    }
}

/// Reads a command's date only in its documented form, `YYYY-MM-DD` (four-digit year, two-
/// digit month and day): chrono alone also takes `2023-1-1`, `+002023-01-01` and signed
/// years. Stored events keep chrono's reading, so whatever an older release stored still
/// decodes.
pub fn strict_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
    parse_strict_date(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "a date is written YYYY-MM-DD, e.g. 2023-06-30; found {text:?}"
        ))
    })
}

/// [`strict_date`] for an optional date (`null` or absent: none).
pub fn strict_optional_date<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<NaiveDate>, D::Error> {
    let text = <Option<std::borrow::Cow<'de, str>> as serde::Deserialize>::deserialize(d)?;
    text.map(|t| {
        parse_strict_date(&t).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "a date is written YYYY-MM-DD, e.g. 2023-06-30; found {t:?}"
            ))
        })
    })
    .transpose()
}

fn parse_strict_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Values with nothing to check beyond their type.
macro_rules! always_valid {
    ($($t:ty),* $(,)?) => {
        $(impl Check for $t {
            fn check(&self, _field: &'static str) -> Result<(), DomainError> {
                Ok(())
            }
        })*
    };
}

always_valid!(
    Uuid,
    bool,
    Status,
    InstructionStage,
    Origin,
    ItemKind,
    Priority,
    Unit,
    Classification,
    GovernmentLevel,
    Catalogue,
    AnnualGoal,
);

impl Check for i32 {
    /// The only signed whole-number input is a year.
    fn check(&self, field: &'static str) -> Result<(), DomainError> {
        check_year(field, *self)
    }
}

impl Check for u64 {
    /// The only unsigned 64-bit input is an annual goal.
    fn check(&self, field: &'static str) -> Result<(), DomainError> {
        if *self > MAX_GOAL_TARGET {
            return Err(invalid(
                field,
                format!("an annual goal is at most {MAX_GOAL_TARGET}, found {self}"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn reason(r: Result<(), DomainError>) -> String {
        match r {
            Err(DomainError::InvalidField { field, reason }) => format!("{field}: {reason}"),
            other => panic!("expected InvalidField, got {other:?}"),
        }
    }

    #[test]
    fn the_largest_amount_is_just_under_a_thousand_trillion_pesos() {
        assert_eq!(MAX_MXN.to_string(), "999999999999999.99");
        let max: Mxn = "999999999999999.99".parse().unwrap();
        assert!(max.check("investment_mxn").is_ok());
        let over: Mxn = "1000000000000000".parse().unwrap();
        assert!(reason(over.check("investment_mxn")).starts_with("investmentMxn: "));
        let huge: Mxn = "79228162514264337593543950335".parse().unwrap();
        assert!(huge.check("investment_mxn").is_err());
    }

    #[test]
    fn negative_zero_is_refused_as_an_amount() {
        let m: Mxn = "-0".parse().unwrap();
        if m.amount().is_sign_negative() {
            assert!(m.check("investment_mxn").is_err());
        } else {
            assert_eq!(m.to_string(), "0.00");
        }
    }

    #[test]
    fn a_code_refuses_every_control_character_and_long_values() {
        assert!(reason("SID\0UR".check("acronym")).contains("U+0000"));
        assert!("SID\nUR".check("acronym").is_err());
        assert!("a".repeat(MAX_CODE_CHARS).check("folio").is_ok());
        assert!(reason("a".repeat(MAX_CODE_CHARS + 1).check("folio")).starts_with("folio: "));
    }

    #[test]
    fn a_free_text_keeps_line_breaks_and_tabs_but_no_other_control() {
        assert!("line one\nline two\r\n\tend".check("description").is_ok());
        assert!("bell\u{7}".check("description").is_err());
        assert!("nul\0".check("note").is_err());
        assert!("ñ".repeat(MAX_TEXT_CHARS).check("note").is_ok());
        assert!("x".repeat(MAX_TEXT_CHARS + 1).check("note").is_err());
    }

    #[test]
    fn dates_outside_the_supported_years_are_refused() {
        let d = NaiveDate::from_ymd_opt(-2023, 1, 1).unwrap();
        assert!(reason(d.check("issued_on")).starts_with("issuedOn: "));
        assert!(NaiveDate::from_ymd_opt(2023, 1, 1)
            .unwrap()
            .check("issued_on")
            .is_ok());
    }

    #[test]
    fn an_instant_on_a_leap_second_is_refused() {
        let leap = DateTime::parse_from_rfc3339("2016-12-31T23:59:60Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(reason(leap.check("received_at")).starts_with("receivedAt: "));
        let before = DateTime::parse_from_rfc3339("2016-12-31T23:59:59.999999Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(before.check("received_at").is_ok());
    }

    #[test]
    fn a_command_date_is_read_only_as_yyyy_mm_dd() {
        #[derive(serde::Deserialize)]
        struct D {
            #[serde(deserialize_with = "strict_date")]
            d: NaiveDate,
            #[serde(default, deserialize_with = "strict_optional_date")]
            o: Option<NaiveDate>,
        }
        let read = |json: &str| serde_json::from_str::<D>(json).map(|d| (d.d, d.o));
        let day = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        assert_eq!(read(r#"{"d": "2023-01-01"}"#).unwrap(), (day, None));
        assert_eq!(
            read(r#"{"d": "2023-01-01", "o": "2023-01-01"}"#).unwrap(),
            (day, Some(day))
        );
        assert_eq!(
            read(r#"{"d": "2023-01-01", "o": null}"#).unwrap(),
            (day, None)
        );
        for bad in [
            "2023-1-1",
            "+002023-01-01",
            "-2023-01-01",
            "2023-02-30",
            "20230101",
            " 2023-01-01",
        ] {
            assert!(read(&format!(r#"{{"d": "{bad}"}}"#)).is_err(), "{bad}");
            assert!(
                read(&format!(r#"{{"d": "2023-01-01", "o": "{bad}"}}"#)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_error_never_repeats_the_value() {
        let secret = "Juana Pérez\u{1}";
        let r = reason(secret.check("name"));
        assert!(!r.contains("Juana"), "{r}");
    }
}
