//! Value types shared by every aggregate: money, progress and the closed vocabularies of
//! the follow-up system (estatus, etapas, orígenes…). The vocabularies that change during
//! a term (tipos de gabinete, canales, temas, tipos de seguimiento) are catalogue codes,
//! declared in [`crate::catalogue`] and re-exported here.
//!
//! Every plain enum serializes as SCREAMING_SNAKE_CASE, the same spelling GraphQL uses for
//! enums and catalogue codes use, so a value reads the same in a payload, a query and a
//! CSV export.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::catalogue::{Channel, FollowUpKind, MeetingType, Topic};
use crate::error::DomainError;

/// Parses a decimal from its textual form. Numbers in exponent notation ("1e3") are
/// accepted because that is how some JSON writers print large values. A leading `+` is
/// refused: amounts and percentages are written without a sign (this store never wrote
/// one), and `-` is left to the range checks (`-0` reads as zero, as events stored by
/// earlier releases may hold it).
fn parse_decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    if text.starts_with('+') {
        return None;
    }
    Decimal::from_str(text)
        .ok()
        .or_else(|| Decimal::from_scientific(text).ok())
}

/// Significant digits every decimal keeps through an IEEE double: a JSON number with more
/// arrives changed (`99999999999999.99` as `…98`), so it must be sent as a string.
const EXACT_F64_DIGITS: usize = 15;

/// Accepts a JSON string or a JSON number and hands back its *textual* form, so decimals
/// never go through f64 arithmetic (an f64 prints as its shortest round-trip text).
struct DecimalText;

impl Visitor<'_> for DecimalText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a decimal as a string or a number")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        let text = v.to_string();
        let all: String = text.chars().filter(char::is_ascii_digit).collect();
        let digits = all.trim_matches('0').len();
        if digits > EXACT_F64_DIGITS {
            return Err(E::custom(format!(
                "{text} has more than {EXACT_F64_DIGITS} significant digits, which a JSON \
                 number does not carry exactly: send it as a string"
            )));
        }
        Ok(text)
    }
}

/// Pesos mexicanos: a non-negative amount with at most two decimal places (centavos).
///
/// JSON form: an exact decimal string with two decimals, `"1234.50"`. Parsing accepts a
/// string or a number and fails with [`DomainError::InvalidAmount`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mxn(Decimal);

impl Mxn {
    pub const ZERO: Mxn = Mxn(Decimal::ZERO);

    /// Validates an amount: not negative, at most two decimal places.
    pub fn new(amount: Decimal) -> Result<Self, DomainError> {
        let normalized = amount.normalize();
        if amount < Decimal::ZERO || normalized.scale() > 2 {
            return Err(DomainError::InvalidAmount(amount.to_string()));
        }
        Ok(Mxn(normalized))
    }

    /// The amount as a decimal.
    pub fn amount(&self) -> Decimal {
        self.0
    }
}

impl FromStr for Mxn {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let d = parse_decimal(s).ok_or_else(|| DomainError::InvalidAmount(s.to_owned()))?;
        Mxn::new(d)
    }
}

impl TryFrom<Decimal> for Mxn {
    type Error = DomainError;
    fn try_from(d: Decimal) -> Result<Self, Self::Error> {
        Mxn::new(d)
    }
}

impl fmt::Display for Mxn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl Mxn {
    /// The sum, or `None` when it would not fit a decimal. Amounts accepted today are
    /// bounded ([`crate::validate::MAX_MXN`]), but an older release stored any amount, and
    /// a report must survive every stored event.
    pub fn checked_add(self, rhs: Mxn) -> Option<Mxn> {
        self.0.checked_add(rhs.0).map(Mxn)
    }
}

impl Serialize for Mxn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Mxn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = d.deserialize_any(DecimalText)?;
        Mxn::from_str(&text).map_err(de::Error::custom)
    }
}

/// Avance / porcentaje de cumplimiento: a percentage from 0 to 100 inclusive with at most
/// two decimal places.
///
/// JSON form: a decimal string, `"37.5"`. Parsing accepts a string or a number and fails
/// with [`DomainError::ProgressOutOfRange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Progress(Decimal);

impl Progress {
    pub const ZERO: Progress = Progress(Decimal::ZERO);
    pub const HUNDRED: Progress = Progress(Decimal::ONE_HUNDRED);

    /// Validates a percentage: within 0–100, at most two decimal places.
    pub fn new(value: Decimal) -> Result<Self, DomainError> {
        let normalized = value.normalize();
        if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED || normalized.scale() > 2 {
            return Err(DomainError::ProgressOutOfRange(value.to_string()));
        }
        Ok(Progress(normalized))
    }

    /// The percentage as a decimal.
    pub fn value(&self) -> Decimal {
        self.0
    }
}

impl FromStr for Progress {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let d = parse_decimal(s).ok_or_else(|| DomainError::ProgressOutOfRange(s.to_owned()))?;
        Progress::new(d)
    }
}

impl TryFrom<Decimal> for Progress {
    type Error = DomainError;
    fn try_from(d: Decimal) -> Result<Self, Self::Error> {
        Progress::new(d)
    }
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Progress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Progress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = d.deserialize_any(DecimalText)?;
        Progress::from_str(&text).map_err(de::Error::custom)
    }
}

#[cfg(feature = "graphql")]
async_graphql::scalar!(
    Mxn,
    "Mxn",
    "Pesos mexicanos: a non-negative decimal string with at most two decimals, e.g. \"1234.50\"."
);

#[cfg(feature = "graphql")]
async_graphql::scalar!(
    Progress,
    "Progress",
    "Percentage 0–100 with at most two decimals, as a decimal string, e.g. \"37.5\"."
);

/// Declares a plain vocabulary enum with the derives every one of them shares.
macro_rules! vocabulary {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        #[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
        pub enum $name { $($(#[$vmeta])* $variant),+ }
    };
}
pub(crate) use vocabulary;

vocabulary! {
    /// Estatus: pendiente / en proceso / concluido.
    pub enum Status { Pending, InProgress, Concluded }
}

impl Status {
    /// The progress an item counts with in a semáforo: 100 when concluded, 0 when pending,
    /// and when in progress its last recorded progress or 50 when none was recorded.
    pub fn item_progress(self, last: Option<Progress>) -> Decimal {
        match self {
            Status::Pending => Decimal::ZERO,
            Status::Concluded => Decimal::ONE_HUNDRED,
            Status::InProgress => last.map_or(Decimal::from(50), |p| p.value()),
        }
    }
}

vocabulary! {
    /// Etapa de una instrucción del Gobernador, in the order they are passed:
    /// Oficio → Contestación de oficio → Mesa de trabajo → Proyectos y acuerdos →
    /// Ejecución de acuerdos avanzando → Ejecución al 100%.
    pub enum InstructionStage {
        Oficio,
        ContestacionOficio,
        MesaTrabajo,
        ProyectosAcuerdos,
        EjecucionAvanzando,
        #[serde(rename = "EJECUCION_100")]
        #[cfg_attr(feature = "graphql", graphql(name = "EJECUCION_100"))]
        Ejecucion100,
    }
}

vocabulary! {
    /// Origen de un acuerdo o instrucción: reunión de gabinete, conferencia de prensa,
    /// proyecto especial.
    pub enum Origin { CabinetMeeting, PressConference, SpecialProject }
}

vocabulary! {
    /// Acuerdo (of a cabinet meeting) or instrucción del Gobernador.
    pub enum ItemKind { Agreement, Instruction }
}

vocabulary! {
    /// Prioridad de una actividad: ALTA / NORMAL / BAJA.
    pub enum Priority { Alta, Normal, Baja }
}

vocabulary! {
    /// Unidad receptora de correspondencia: DGGD (Dirección General de Gestión Documental)
    /// or OEE (Oficina del Ejecutivo del Estado).
    pub enum Unit { Dggd, Oee }
}

vocabulary! {
    /// Clasificación de correspondencia: relevante, or CCP (received as a copy).
    pub enum Classification { Relevant, Cc }
}

vocabulary! {
    /// Orden o poder de gobierno fuera del Ejecutivo estatal al que se turna una petición.
    pub enum GovernmentLevel { Federal, Municipal, Judicial, Legislative, Autonomous }
}

/// Where a petition is turned: a state agency (by acronym) or another level of government.
///
/// JSON form: `{"agency": "SIDUR"}` or `{"governmentLevel": "FEDERAL"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::OneofObject))]
#[cfg_attr(feature = "graphql", graphql(name = "TurnTargetInput"))]
pub enum TurnTarget {
    Agency(String),
    GovernmentLevel(GovernmentLevel),
}

/// Presupuesto de un año.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::InputObject))]
#[cfg_attr(feature = "graphql", graphql(name = "YearBudgetInput"))]
pub struct YearBudget {
    pub year: i32,
    pub amount_mxn: Mxn,
}

/// Datos de contacto del ciudadano: personal data. `Debug` is redacted, there is no
/// `Display`, and it travels only in the `contact` field of `PetitionReceived`, which the
/// application layer encrypts as one unit.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::InputObject))]
#[cfg_attr(feature = "graphql", graphql(name = "CitizenContactInput"))]
pub struct CitizenContact {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
}

impl fmt::Debug for CitizenContact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CitizenContact(<redacted>)")
    }
}

/// A citizen's contact data as it stands in a stored event (datos personales).
///
/// The application seals the contact before it is appended (crypto-shredding), so a
/// stored `PetitionReceived` may hold it in clear (as decided), sealed (as stored), or
/// redacted (as shown to a reader who may not see it). Nothing in the domain's rules
/// depends on the contact's content, so every form decodes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PersonalData {
    /// Encrypted under the citizen's key: `{"sealed": "<base64>"}`.
    Sealed { sealed: String },
    /// Withheld from this reader, or the citizen was forgotten: `{"redacted": true}`.
    Redacted { redacted: bool },
    /// In clear: `{name, phone, email, address}`.
    Plain(CitizenContact),
}

impl PersonalData {
    /// The contact in clear, when this copy holds it.
    pub fn plain(&self) -> Option<&CitizenContact> {
        match self {
            PersonalData::Plain(c) => Some(c),
            _ => None,
        }
    }
}

impl From<CitizenContact> for PersonalData {
    fn from(c: CitizenContact) -> Self {
        PersonalData::Plain(c)
    }
}

impl fmt::Debug for PersonalData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonalData(<redacted>)")
    }
}

/// Agency acronyms are compared trimmed and upper-cased so "sidur " and "SIDUR" are one.
pub fn normalize_acronym(acronym: &str) -> String {
    acronym.trim().to_uppercase()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn a_sign_other_than_minus_is_refused_and_json_numbers_stay_exact() {
        assert!("+1".parse::<Mxn>().is_err());
        assert!("+1".parse::<Progress>().is_err());
        assert_eq!(
            "-0".parse::<Mxn>().map(|m| m.to_string()).ok().as_deref(),
            Some("0.00")
        );
        let from_json = |text: &str| serde_json::from_str::<Mxn>(text).map(|m| m.to_string());
        assert_eq!(from_json("1234.5").ok().as_deref(), Some("1234.50"));
        assert_eq!(
            from_json("99999999999999.9").ok().as_deref(),
            Some("99999999999999.90")
        );
        assert_eq!(from_json("1e3").ok().as_deref(), Some("1000.00"));
        let err = from_json("99999999999999.99").expect_err("16 digits change as a double");
        assert!(err.to_string().contains("send it as a string"), "{err}");
        assert_eq!(
            from_json("\"99999999999999.99\"").ok().as_deref(),
            Some("99999999999999.99")
        );
    }

    #[test]
    fn an_amount_serializes_as_an_exact_two_decimal_string() {
        let m: Mxn = "1234.5".parse().unwrap();
        assert_eq!(
            serde_json::to_value(m).unwrap(),
            serde_json::json!("1234.50")
        );
        let back: Mxn = serde_json::from_value(serde_json::json!("1234.50")).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn an_amount_is_accepted_from_a_json_number_without_float_error() {
        let m: Mxn = serde_json::from_str("0.1").unwrap();
        assert_eq!(m.to_string(), "0.10");
        let m: Mxn = serde_json::from_str("98765432.12").unwrap();
        assert_eq!(m.to_string(), "98765432.12");
    }

    #[test]
    fn a_negative_amount_or_one_with_three_decimals_is_invalid() {
        assert!(matches!(
            "-1".parse::<Mxn>(),
            Err(DomainError::InvalidAmount(_))
        ));
        assert!(matches!(
            "1.005".parse::<Mxn>(),
            Err(DomainError::InvalidAmount(_))
        ));
        assert!(matches!(
            "abc".parse::<Mxn>(),
            Err(DomainError::InvalidAmount(_))
        ));
        assert!("1.500".parse::<Mxn>().is_ok());
    }

    #[test]
    fn progress_outside_zero_to_hundred_is_refused() {
        assert!(matches!(
            "100.01".parse::<Progress>(),
            Err(DomainError::ProgressOutOfRange(_))
        ));
        assert!(matches!(
            "-0.5".parse::<Progress>(),
            Err(DomainError::ProgressOutOfRange(_))
        ));
        assert!(matches!(
            "33.333".parse::<Progress>(),
            Err(DomainError::ProgressOutOfRange(_))
        ));
        assert!(serde_json::from_str::<Progress>("101").is_err());
        assert_eq!("100".parse::<Progress>().unwrap(), Progress::HUNDRED);
        assert_eq!("0".parse::<Progress>().unwrap(), Progress::ZERO);
    }

    #[test]
    fn progress_serializes_as_a_decimal_string() {
        let p: Progress = serde_json::from_str("37.50").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"37.5\"");
    }

    #[test]
    fn item_progress_follows_the_semaforo_rule() {
        let p: Progress = "30".parse().unwrap();
        assert_eq!(Status::Pending.item_progress(Some(p)), Decimal::ZERO);
        assert_eq!(Status::Concluded.item_progress(None), Decimal::ONE_HUNDRED);
        assert_eq!(Status::InProgress.item_progress(None), Decimal::from(50));
        assert_eq!(Status::InProgress.item_progress(Some(p)), Decimal::from(30));
    }

    #[test]
    fn instruction_stages_are_ordered() {
        assert!(InstructionStage::Oficio < InstructionStage::ContestacionOficio);
        assert!(InstructionStage::EjecucionAvanzando < InstructionStage::Ejecucion100);
        assert_eq!(
            serde_json::to_value(InstructionStage::Ejecucion100).unwrap(),
            serde_json::json!("EJECUCION_100")
        );
    }

    #[test]
    fn personal_data_decodes_in_clear_sealed_or_redacted() {
        let plain: PersonalData =
            serde_json::from_str(r#"{"name":"Juana","phone":null,"email":null,"address":null}"#)
                .unwrap();
        assert_eq!(plain.plain().map(|c| c.name.as_str()), Some("Juana"));
        let sealed: PersonalData = serde_json::from_str(r#"{"sealed":"AAAA"}"#).unwrap();
        assert_eq!(
            sealed,
            PersonalData::Sealed {
                sealed: "AAAA".into()
            }
        );
        let redacted: PersonalData = serde_json::from_str(r#"{"redacted":true}"#).unwrap();
        assert!(redacted.plain().is_none());
        assert_eq!(format!("{plain:?}"), "PersonalData(<redacted>)");
    }

    #[test]
    fn citizen_contact_debug_is_redacted() {
        let c = CitizenContact {
            name: "Juana Pérez".into(),
            phone: Some("6621234567".into()),
            email: None,
            address: None,
        };
        let shown = format!("{c:?}");
        assert_eq!(shown, "CitizenContact(<redacted>)");
    }

    #[test]
    fn a_turn_target_reads_as_agency_or_level() {
        let t: TurnTarget = serde_json::from_str(r#"{"agency":"SIDUR"}"#).unwrap();
        assert_eq!(t, TurnTarget::Agency("SIDUR".into()));
        let t: TurnTarget = serde_json::from_str(r#"{"governmentLevel":"FEDERAL"}"#).unwrap();
        assert_eq!(t, TurnTarget::GovernmentLevel(GovernmentLevel::Federal));
    }
}
