//! What users ask for (comandos). One variant per command, each wrapping an input struct
//! whose camelCase fields are the JSON (and, with feature `graphql`, the GraphQL input).
//!
//! JSON form: `{"command": "registerAgency", "input": {"acronym": "SIDUR", "name": "…"}}`.
//! Ids of new things (agreementId, activityId, meetingId, petitionId, actionId) are chosen
//! by the caller so a retried command is idempotent.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalogue::{AnnualGoal, Catalogue};
use crate::error::DomainError;
use crate::event::{AggregateKind, DomainEvent};
use crate::validate::Check;
use crate::values::{
    normalize_acronym, Channel, CitizenContact, Classification, FollowUpKind, InstructionStage,
    ItemKind, MeetingType, Mxn, Origin, Priority, Progress, Status, Topic, TurnTarget, Unit,
    YearBudget,
};
use crate::{
    activity_stream, agreement_stream, commitment_stream, letter_stream, meeting_stream,
    petition_stream, AGENCY_CATALOG_STREAM,
};

/// Declares a command input struct with the derives every one of them shares.
macro_rules! input {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        #[cfg_attr(feature = "graphql", derive(async_graphql::InputObject))]
        pub struct $name { $($(#[$fmeta])* pub $field: $ty),* }

        impl Check for $name {
            fn check(&self, _field: &'static str) -> Result<(), DomainError> {
                $(Check::check(&self.$field, stringify!($field))?;)*
                Ok(())
            }
        }
    };
}

input! {
    /// Registrar dependencia.
    pub struct RegisterAgencyInput { pub acronym: String, pub name: String, pub sector_head: Option<String> }
}
input! {
    pub struct RenameAgencyInput { pub acronym: String, pub name: String }
}
input! {
    pub struct DeactivateAgencyInput { pub acronym: String }
}
input! {
    /// Designar enlace.
    pub struct DesignateLiaisonInput {
        pub acronym: String,
        pub name: String,
        pub position: String,
        pub contact: String,
        pub designation_letter: String,
    }
}
input! {
    /// Registrar una entrada de catálogo: a new code, stable forever, and its label.
    pub struct RegisterCatalogueEntryInput { pub catalogue: Catalogue, pub code: String, pub label: String }
}
input! {
    pub struct RenameCatalogueEntryInput { pub catalogue: Catalogue, pub code: String, pub label: String }
}
input! {
    pub struct RetireCatalogueEntryInput { pub catalogue: Catalogue, pub code: String }
}
input! {
    /// Fijar la meta anual: replaces an earlier goal for the same year.
    pub struct SetAnnualGoalInput { pub goal: AnnualGoal, pub year: i32, pub target: u64 }
}
input! {
    /// Registrar reunión de gabinete.
    pub struct HoldCabinetMeetingInput {
        pub meeting_id: Uuid,
        pub meeting_type: MeetingType,
        #[serde(deserialize_with = "crate::validate::strict_date")]
        pub date: NaiveDate,
        pub agencies: Vec<String>,
    }
}
input! {
    /// Registrar acuerdo o instrucción.
    pub struct CreateAgreementInput {
        pub agreement_id: Uuid,
        pub kind: ItemKind,
        pub origin: Origin,
        /// Required when the origin is a cabinet meeting.
        pub meeting_id: Option<Uuid>,
        pub description: String,
        pub agencies: Vec<String>,
        pub responsible_person: String,
        pub issuer: String,
        #[serde(deserialize_with = "crate::validate::strict_date")]
        pub issued_on: NaiveDate,
        #[serde(default, deserialize_with = "crate::validate::strict_optional_date")]
        pub due_on: Option<NaiveDate>,
        #[serde(default)]
        #[cfg_attr(feature = "graphql", graphql(default))]
        pub budget: Vec<YearBudget>,
    }
}
input! {
    pub struct ChangeInstructionStageInput { pub agreement_id: Uuid, pub stage: InstructionStage }
}
input! {
    pub struct ReportAgreementProgressInput {
        pub agreement_id: Uuid,
        pub progress: Progress,
        pub note: Option<String>,
    }
}
input! {
    /// Registrar "última acción realizada".
    pub struct RecordFollowUpActionInput {
        pub agreement_id: Uuid,
        pub text: String,
        #[serde(deserialize_with = "crate::validate::strict_date")]
        pub date: NaiveDate,
    }
}
input! {
    pub struct ChangeAgreementStatusInput { pub agreement_id: Uuid, pub status: Status }
}
input! {
    pub struct ReassignAgreementInput {
        pub agreement_id: Uuid,
        pub agencies: Vec<String>,
        pub responsible_person: String,
    }
}
input! {
    pub struct CancelAgreementInput { pub agreement_id: Uuid, pub reason: String }
}
input! {
    /// Corregir un evento: the values given win over the corrected event's.
    pub struct CorrectAgreementEventInput {
        pub agreement_id: Uuid,
        pub corrected_event_id: Uuid,
        pub reason: String,
        pub status: Option<Status>,
        pub progress: Option<Progress>,
        #[serde(default, deserialize_with = "crate::validate::strict_optional_date")]
        pub due_on: Option<NaiveDate>,
        pub description: Option<String>,
    }
}
input! {
    /// Registrar compromiso de campaña.
    pub struct RegisterCommitmentInput { pub number: u32, pub text: String }
}
input! {
    pub struct AssignCommitmentInput { pub number: u32, pub agencies: Vec<String> }
}
input! {
    /// Registrar acción de una dependencia sobre un compromiso.
    pub struct RegisterActionInput {
        pub number: u32,
        pub action_id: Uuid,
        pub agency: String,
        pub description: String,
        pub status: Status,
        pub progress: Option<Progress>,
        pub investment_mxn: Mxn,
        #[serde(deserialize_with = "crate::validate::strict_date")]
        pub date: NaiveDate,
    }
}
input! {
    pub struct ChangeActionStatusInput { pub number: u32, pub action_id: Uuid, pub status: Status }
}
input! {
    pub struct ReportActionProgressInput { pub number: u32, pub action_id: Uuid, pub progress: Progress }
}
input! {
    /// Registrar actividad.
    pub struct CreateActivityInput {
        pub activity_id: Uuid,
        pub title: String,
        pub priority: Priority,
        #[serde(deserialize_with = "crate::validate::strict_date")]
        pub due_on: NaiveDate,
        pub responsibles: Vec<String>,
    }
}
input! {
    pub struct ReportActivityInput {
        pub activity_id: Uuid,
        pub responsible: String,
        pub status: Status,
        pub progress: Progress,
    }
}
input! {
    pub struct CloseActivityResponsibilityInput { pub activity_id: Uuid, pub responsible: String }
}
input! {
    /// Recibir oficio (registrar folio).
    pub struct ReceiveLetterInput {
        pub folio: String,
        pub unit: Unit,
        pub classification: Classification,
        pub sender: String,
        pub subject: String,
        pub received_at: DateTime<Utc>,
    }
}
input! {
    /// Turnar oficio.
    pub struct TurnLetterInput { pub folio: String, pub agency: String, pub turned_at: DateTime<Utc> }
}
input! {
    /// Abrir expediente.
    pub struct OpenCaseFileInput { pub folio: String, pub case_file: String, pub opened_at: DateTime<Utc> }
}
input! {
    /// Emitir oficio de salida.
    pub struct IssueOutgoingLetterInput {
        pub folio: String,
        pub number: String,
        pub recipient: String,
        pub issued_at: DateTime<Utc>,
    }
}
input! {
    pub struct RecordLetterFollowUpInput { pub folio: String, pub note: String, pub recorded_at: DateTime<Utc> }
}
input! {
    pub struct AnswerLetterInput { pub folio: String, pub answered_at: DateTime<Utc> }
}
input! {
    /// Recibir petición ciudadana.
    pub struct ReceivePetitionInput {
        pub petition_id: Uuid,
        pub channel: Channel,
        pub topic: Topic,
        pub municipality: String,
        pub citizen_id: Uuid,
        pub contact: CitizenContact,
        /// Required when the channel is a tour (gira).
        pub tour_id: Option<String>,
        pub received_at: DateTime<Utc>,
    }
}
input! {
    pub struct TurnPetitionInput { pub petition_id: Uuid, pub target: TurnTarget, pub turned_at: DateTime<Utc> }
}
input! {
    pub struct RecordPetitionFollowUpInput { pub petition_id: Uuid, pub kind: FollowUpKind, pub at: DateTime<Utc> }
}
input! {
    pub struct AttendPetitionInput { pub petition_id: Uuid, pub at: DateTime<Utc> }
}
input! {
    pub struct ClosePetitionInput { pub petition_id: Uuid, pub at: DateTime<Utc> }
}
input! {
    /// Rectificar datos de contacto (ARCO): the citizen's contact as it should read.
    pub struct RectifyCitizenContactInput { pub petition_id: Uuid, pub contact: CitizenContact }
}

/// Declares every command once: its variant and input, its name in JSON and GraphQL with
/// the name of its mutation's resolver, who may write it ([`Writer`]) and the aggregate it
/// is decided against. The enum, [`Command::name`], [`Command::check`],
/// [`Command::writer`], [`Command::aggregate_kind`], [`COMMAND_NAMES`] and, through
/// [`for_each_command!`](crate::for_each_command), the API's mutations all come from this
/// one list. (`$d` is a literal `$`, for the macro this one defines.)
macro_rules! commands {
    ($d:tt $(
        $(#[$doc:meta])*
        $variant:ident($input:ty) => $name:literal, $resolver:ident, $writer:ident, $kind:ident;
    )*) => {
        /// Every command.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "command", content = "input", rename_all = "camelCase")]
        pub enum Command {
            $( $(#[$doc])* $variant($input), )*
        }

        /// Every command's name, in declaration order.
        pub const COMMAND_NAMES: &[&str] = &[$($name),*];

        impl Command {
            /// Checks the input against the policy of [`crate::validate`] (text classes and
            /// lengths, amounts, years, numbers) before anything is decided or stored.
            pub fn check(&self) -> Result<(), DomainError> {
                match self {
                    $( Command::$variant(i) => i.check("input"), )*
                }
            }

            /// The command name as in JSON and GraphQL (`registerAgency`).
            pub fn name(&self) -> &'static str {
                match self {
                    $( Command::$variant(_) => $name, )*
                }
            }

            /// Who may run the command: the Office registers, assigns, routes and cancels;
            /// an agency's liaison reports on what is assigned or turned to its own agency
            /// (see [`Writer`]). The one table of write permissions; the README lists it.
            pub fn writer(&self) -> Writer {
                match self {
                    $( Command::$variant(_) => Writer::$writer, )*
                }
            }

            /// The aggregate the command is decided against.
            pub fn aggregate_kind(&self) -> AggregateKind {
                match self {
                    $( Command::$variant(_) => AggregateKind::$kind, )*
                }
            }
        }

        /// Calls `$callback!` with every command as `resolver => Variant(Input);`, its doc
        /// comments first: how a layer above (the GraphQL mutations) declares one item per
        /// command without a list of its own.
        #[macro_export]
        macro_rules! for_each_command {
            ($d callback:ident) => {
                $d callback! {
                    $( $(#[$doc])* $resolver => $variant($input); )*
                }
            };
        }
    };
}

commands! { $
    /// Registrar dependencia (admin).
    RegisterAgency(RegisterAgencyInput) => "registerAgency", register_agency, Office, AgencyCatalog;
    RenameAgency(RenameAgencyInput) => "renameAgency", rename_agency, Office, AgencyCatalog;
    DeactivateAgency(DeactivateAgencyInput) => "deactivateAgency", deactivate_agency, Office, AgencyCatalog;
    /// Designar enlace.
    DesignateLiaison(DesignateLiaisonInput) => "designateLiaison", designate_liaison, Office, AgencyCatalog;
    /// Registrar una entrada de catálogo (tipo de gabinete, canal, tema, tipo de seguimiento).
    RegisterCatalogueEntry(RegisterCatalogueEntryInput) => "registerCatalogueEntry", register_catalogue_entry, Office, AgencyCatalog;
    /// Cambiar la etiqueta de una entrada de catálogo (its code stays).
    RenameCatalogueEntry(RenameCatalogueEntryInput) => "renameCatalogueEntry", rename_catalogue_entry, Office, AgencyCatalog;
    /// Retirar una entrada de catálogo: no new fact may name it.
    RetireCatalogueEntry(RetireCatalogueEntryInput) => "retireCatalogueEntry", retire_catalogue_entry, Office, AgencyCatalog;
    /// Fijar una meta anual.
    SetAnnualGoal(SetAnnualGoalInput) => "setAnnualGoal", set_annual_goal, Office, AgencyCatalog;
    /// Registrar reunión de gabinete.
    HoldCabinetMeeting(HoldCabinetMeetingInput) => "holdCabinetMeeting", hold_cabinet_meeting, Office, CabinetMeeting;
    /// Registrar acuerdo o instrucción.
    CreateAgreement(CreateAgreementInput) => "createAgreement", create_agreement, Office, Agreement;
    ChangeInstructionStage(ChangeInstructionStageInput) => "changeInstructionStage", change_instruction_stage, AssignedAgency, Agreement;
    ReportAgreementProgress(ReportAgreementProgressInput) => "reportAgreementProgress", report_agreement_progress, AssignedAgency, Agreement;
    /// Registrar "última acción realizada".
    RecordFollowUpAction(RecordFollowUpActionInput) => "recordFollowUpAction", record_follow_up_action, AssignedAgency, Agreement;
    ChangeAgreementStatus(ChangeAgreementStatusInput) => "changeAgreementStatus", change_agreement_status, AssignedAgency, Agreement;
    ReassignAgreement(ReassignAgreementInput) => "reassignAgreement", reassign_agreement, Office, Agreement;
    CancelAgreement(CancelAgreementInput) => "cancelAgreement", cancel_agreement, Office, Agreement;
    /// Corregir un evento: the values given win over the corrected event's.
    CorrectAgreementEvent(CorrectAgreementEventInput) => "correctAgreementEvent", correct_agreement_event, Office, Agreement;
    /// Registrar compromiso de campaña.
    RegisterCommitment(RegisterCommitmentInput) => "registerCommitment", register_commitment, Office, Commitment;
    AssignCommitment(AssignCommitmentInput) => "assignCommitment", assign_commitment, Office, Commitment;
    /// Registrar acción de una dependencia sobre un compromiso.
    RegisterAction(RegisterActionInput) => "registerAction", register_action, AssignedAgency, Commitment;
    ChangeActionStatus(ChangeActionStatusInput) => "changeActionStatus", change_action_status, AssignedAgency, Commitment;
    ReportActionProgress(ReportActionProgressInput) => "reportActionProgress", report_action_progress, AssignedAgency, Commitment;
    /// Registrar actividad.
    CreateActivity(CreateActivityInput) => "createActivity", create_activity, Office, Activity;
    ReportActivity(ReportActivityInput) => "reportActivity", report_activity, Office, Activity;
    CloseActivityResponsibility(CloseActivityResponsibilityInput) => "closeActivityResponsibility", close_activity_responsibility, Office, Activity;
    /// Recibir oficio (registrar folio).
    ReceiveLetter(ReceiveLetterInput) => "receiveLetter", receive_letter, Office, Letter;
    /// Turnar oficio.
    TurnLetter(TurnLetterInput) => "turnLetter", turn_letter, Office, Letter;
    /// Abrir expediente.
    OpenCaseFile(OpenCaseFileInput) => "openCaseFile", open_case_file, AssignedAgency, Letter;
    /// Emitir oficio de salida.
    IssueOutgoingLetter(IssueOutgoingLetterInput) => "issueOutgoingLetter", issue_outgoing_letter, AssignedAgency, Letter;
    RecordLetterFollowUp(RecordLetterFollowUpInput) => "recordLetterFollowUp", record_letter_follow_up, AssignedAgency, Letter;
    AnswerLetter(AnswerLetterInput) => "answerLetter", answer_letter, AssignedAgency, Letter;
    /// Recibir petición ciudadana.
    ReceivePetition(ReceivePetitionInput) => "receivePetition", receive_petition, Office, Petition;
    TurnPetition(TurnPetitionInput) => "turnPetition", turn_petition, Office, Petition;
    RecordPetitionFollowUp(RecordPetitionFollowUpInput) => "recordPetitionFollowUp", record_petition_follow_up, AssignedAgency, Petition;
    AttendPetition(AttendPetitionInput) => "attendPetition", attend_petition, AssignedAgency, Petition;
    ClosePetition(ClosePetitionInput) => "closePetition", close_petition, AssignedAgency, Petition;
    /// Rectificar datos de contacto (ARCO). Admin only.
    RectifyCitizenContact(RectifyCitizenContactInput) => "rectifyCitizenContact", rectify_citizen_contact, Office, Petition;
}

impl Command {
    /// The stream the command reads and appends to.
    pub fn stream_id(&self) -> String {
        use Command::*;
        match self {
            RegisterAgency(_)
            | RenameAgency(_)
            | DeactivateAgency(_)
            | DesignateLiaison(_)
            | RegisterCatalogueEntry(_)
            | RenameCatalogueEntry(_)
            | RetireCatalogueEntry(_)
            | SetAnnualGoal(_) => AGENCY_CATALOG_STREAM.to_owned(),
            HoldCabinetMeeting(i) => meeting_stream(i.meeting_id),
            CreateAgreement(i) => agreement_stream(i.agreement_id),
            ChangeInstructionStage(i) => agreement_stream(i.agreement_id),
            ReportAgreementProgress(i) => agreement_stream(i.agreement_id),
            RecordFollowUpAction(i) => agreement_stream(i.agreement_id),
            ChangeAgreementStatus(i) => agreement_stream(i.agreement_id),
            ReassignAgreement(i) => agreement_stream(i.agreement_id),
            CancelAgreement(i) => agreement_stream(i.agreement_id),
            CorrectAgreementEvent(i) => agreement_stream(i.agreement_id),
            RegisterCommitment(i) => commitment_stream(i.number),
            AssignCommitment(i) => commitment_stream(i.number),
            RegisterAction(i) => commitment_stream(i.number),
            ChangeActionStatus(i) => commitment_stream(i.number),
            ReportActionProgress(i) => commitment_stream(i.number),
            CreateActivity(i) => activity_stream(i.activity_id),
            ReportActivity(i) => activity_stream(i.activity_id),
            CloseActivityResponsibility(i) => activity_stream(i.activity_id),
            ReceiveLetter(i) => letter_stream(&i.folio),
            TurnLetter(i) => letter_stream(&i.folio),
            OpenCaseFile(i) => letter_stream(&i.folio),
            IssueOutgoingLetter(i) => letter_stream(&i.folio),
            RecordLetterFollowUp(i) => letter_stream(&i.folio),
            AnswerLetter(i) => letter_stream(&i.folio),
            ReceivePetition(i) => petition_stream(i.petition_id),
            TurnPetition(i) => petition_stream(i.petition_id),
            RecordPetitionFollowUp(i) => petition_stream(i.petition_id),
            AttendPetition(i) => petition_stream(i.petition_id),
            ClosePetition(i) => petition_stream(i.petition_id),
            RectifyCitizenContact(i) => petition_stream(i.petition_id),
        }
    }

    /// The cabinet meeting whose state the application must load into
    /// [`crate::Context::meeting`] before deciding.
    pub fn meeting_ref(&self) -> Option<Uuid> {
        match self {
            Command::CreateAgreement(i) => i.meeting_id,
            _ => None,
        }
    }

    /// The agency named in the input as the one a capturista writes for (an action is
    /// registered *by* an agency). Commands on existing items: see
    /// [`Command::agencies_touched`].
    pub fn agency(&self) -> Option<&str> {
        match self {
            Command::RegisterAction(i) => Some(i.agency.as_str()),
            _ => None,
        }
    }

    /// The agencies whose records the command writes to, for authorizing an enlace:
    /// the agencies named in the input plus, for commands on existing items, the agencies
    /// the item is assigned or turned to according to `history` (the stream's events).
    /// Acronyms are normalized; the list has no duplicates.
    pub fn agencies_touched(&self, history: &[DomainEvent]) -> Vec<String> {
        use Command::*;
        let mut out: Vec<String> = Vec::new();
        let mut push = |a: &str| {
            let a = normalize_acronym(a);
            if !out.contains(&a) {
                out.push(a);
            }
        };
        match self {
            RegisterAgency(i) => push(&i.acronym),
            RenameAgency(i) => push(&i.acronym),
            DeactivateAgency(i) => push(&i.acronym),
            DesignateLiaison(i) => push(&i.acronym),
            RegisterCatalogueEntry(_)
            | RenameCatalogueEntry(_)
            | RetireCatalogueEntry(_)
            | SetAnnualGoal(_) => {}
            HoldCabinetMeeting(i) => i.agencies.iter().for_each(|a| push(a)),
            CreateAgreement(i) => i.agencies.iter().for_each(|a| push(a)),
            ReassignAgreement(i) => {
                agreement_agencies(history).iter().for_each(|a| push(a));
                i.agencies.iter().for_each(|a| push(a));
            }
            ChangeInstructionStage(_)
            | ReportAgreementProgress(_)
            | RecordFollowUpAction(_)
            | ChangeAgreementStatus(_)
            | CancelAgreement(_)
            | CorrectAgreementEvent(_) => {
                agreement_agencies(history).iter().for_each(|a| push(a));
            }
            RegisterCommitment(_) => {}
            AssignCommitment(i) => i.agencies.iter().for_each(|a| push(a)),
            RegisterAction(i) => push(&i.agency),
            ChangeActionStatus(ChangeActionStatusInput { action_id, .. })
            | ReportActionProgress(ReportActionProgressInput { action_id, .. }) => {
                if let Some(a) = action_agency(history, *action_id) {
                    push(&a);
                }
            }
            CreateActivity(_) | ReportActivity(_) | CloseActivityResponsibility(_) => {}
            ReceiveLetter(_) => {}
            TurnLetter(i) => push(&i.agency),
            OpenCaseFile(_)
            | IssueOutgoingLetter(_)
            | RecordLetterFollowUp(_)
            | AnswerLetter(_) => {
                for e in history {
                    if let DomainEvent::LetterTurned { agency, .. } = e {
                        push(agency);
                    }
                }
            }
            // Personal data: an admin's alone.
            ReceivePetition(_) | RectifyCitizenContact(_) => {}
            TurnPetition(i) => {
                if let TurnTarget::Agency(a) = &i.target {
                    push(a);
                }
            }
            RecordPetitionFollowUp(_) | AttendPetition(_) | ClosePetition(_) => {
                for e in history {
                    if let DomainEvent::PetitionTurned {
                        target: TurnTarget::Agency(a),
                        ..
                    } = e
                    {
                        push(a);
                    }
                }
            }
        }
        out
    }
}

/// Who may run a command (besides an admin, who runs every command).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// Only the Office (admin tokens).
    Office,
    /// Also the liaison (capturista) of an agency the item is assigned or turned to, as
    /// the item's history says, never as the command's input says.
    AssignedAgency,
}

/// The agencies an agreement is currently assigned to.
fn agreement_agencies(history: &[DomainEvent]) -> Vec<String> {
    let mut current = Vec::new();
    for e in history {
        match e {
            DomainEvent::AgreementCreated { agencies, .. }
            | DomainEvent::AgreementReassigned { agencies, .. } => current.clone_from(agencies),
            _ => {}
        }
    }
    current
}

/// The agency that registered an action.
fn action_agency(history: &[DomainEvent], id: Uuid) -> Option<String> {
    history.iter().find_map(|e| match e {
        DomainEvent::ActionRegistered {
            action_id, agency, ..
        } if *action_id == id => Some(agency.clone()),
        _ => None,
    })
}
