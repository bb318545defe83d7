//! Every aggregate, event type and command of the domain, declared once. One line of the
//! `aggregates!` list gives an aggregate its kind, its state and its name; the variant
//! of [`DomainEvent`] names a stored type and gives its payload, `EventType::aggregate_kind`
//! the stream that holds it, [`DomainEvent::effective_time`] the business instant it
//! reports; one line of the `commands!` list gives a command its input, its name in JSON
//! and GraphQL, its resolver, who may write it and its aggregate. Everything else (stored
//! names, schema versions, the `Command` enum, the permission table, the GraphQL
//! mutations, which types a projection may leave unread) derives from these.
//!
//! A command's input, its routing ([`crate::command::Route`]) and its rules live in its
//! aggregate's module.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::catalogue::{AnnualGoal, Catalogue};
use crate::press_conference::{ConferenceKind, Minutes};
use crate::values::{
    Channel, Classification, FollowUpKind, InstructionStage, ItemKind, MeetingType, Mxn, Origin,
    PersonalData, Priority, Progress, Status, Topic, TurnTarget, Unit, YearBudget,
};

crate::aggregate::aggregates! {
    /// Catálogo de dependencias and the Office's other catalogues (stream `agencies`).
    AgencyCatalog(agency::AgencyCatalog) => "agency catalog";
    /// Reunión de gabinete.
    CabinetMeeting(cabinet::CabinetState) => "cabinet meeting";
    /// Acuerdo / instrucción.
    Agreement(agreement::AgreementState) => "agreement";
    /// Compromiso de campaña.
    Commitment(commitment::CommitmentState) => "commitment";
    /// Actividad.
    Activity(activity::ActivityState) => "activity";
    /// Oficio recibido.
    Letter(correspondence::LetterState) => "letter";
    /// Petición ciudadana.
    Petition(petition::PetitionState) => "petition";
    /// Rueda de prensa.
    PressConference(press_conference::ConferenceState) => "press conference";
}

/// Every fact of every aggregate. The variant name is the stored type name
/// ([`DomainEvent::event_type`], [`EVENT_TYPE_NAMES`](crate::event::EVENT_TYPE_NAMES)).
///
/// What belongs to a type rather than to one event (its name, its aggregate kind) is
/// declared on `EventType`, the variants without their fields, so that an event and the
/// name of its type cannot disagree about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(EventType),
    vis(pub(crate)),
    derive(strum::IntoStaticStr, strum::VariantNames, strum::EnumString)
)]
#[serde(tag = "type", content = "data", rename_all_fields = "camelCase")]
pub enum DomainEvent {
    // ----- Catálogo de dependencias (stream `agencies`) -----
    /// Dependencia registrada. Fields: `acronym`, `name`, `sectorHead` (acronym or null).
    AgencyRegistered {
        acronym: String,
        name: String,
        sector_head: Option<String>,
    },
    /// Fields: `acronym`, `name`.
    AgencyRenamed { acronym: String, name: String },
    /// Fields: `acronym`.
    AgencyDeactivated { acronym: String },
    /// Enlace designado. Fields: `acronym`, `name`, `position`, `contact`,
    /// `designationLetter` (the oficio of designation).
    LiaisonDesignated {
        acronym: String,
        name: String,
        position: String,
        contact: String,
        designation_letter: String,
    },
    /// Entrada de catálogo registrada (see [`crate::catalogue`]). Fields: `catalogue`
    /// (`MEETING_TYPE`, `PETITION_CHANNEL`, `PETITION_TOPIC`, `FOLLOW_UP_KIND`), `code`
    /// (stable forever), `label`.
    CatalogueEntryRegistered {
        catalogue: Catalogue,
        code: String,
        label: String,
    },
    /// Fields: `catalogue`, `code`, `label` (the new one).
    CatalogueEntryRenamed {
        catalogue: Catalogue,
        code: String,
        label: String,
    },
    /// No new fact may name the code. Fields: `catalogue`, `code`.
    CatalogueEntryRetired { catalogue: Catalogue, code: String },
    /// Meta anual. Fields: `goal` (`PETITIONS_ATTENDED`), `year`, `target`; a later one for
    /// the same goal and year replaces it.
    AnnualGoalSet {
        goal: AnnualGoal,
        year: i32,
        target: u64,
    },

    // ----- Reunión de gabinete (stream `cabinet-meeting-<uuid>`) -----
    /// Fields: `meetingId`, `meetingType`, `date`, `agencies` (acronyms).
    CabinetMeetingHeld {
        meeting_id: Uuid,
        meeting_type: MeetingType,
        date: NaiveDate,
        agencies: Vec<String>,
    },

    // ----- Acuerdo / instrucción (stream `agreement-<uuid>`) -----
    /// Schema v2. Fields: `agreementId`, `kind`, `origin`, `meetingId`, `meetingType`
    /// (copied from the meeting so projections need no join), `conferenceId` (the press
    /// conference it was given at, or null), `description`, `agencies`,
    /// `responsiblePerson`, `issuer`, `issuedOn`, `dueOn`, `budget`
    /// (`[{"year": 2023, "amountMxn": "1000.00"}]`). v1 had no `conferenceId`.
    AgreementCreated {
        agreement_id: Uuid,
        kind: ItemKind,
        origin: Origin,
        meeting_id: Option<Uuid>,
        meeting_type: Option<MeetingType>,
        conference_id: Option<Uuid>,
        description: String,
        agencies: Vec<String>,
        responsible_person: String,
        issuer: String,
        issued_on: NaiveDate,
        due_on: Option<NaiveDate>,
        budget: Vec<YearBudget>,
    },
    /// Fields: `stage`.
    InstructionStageChanged { stage: InstructionStage },
    /// Fields: `progress`, `note`.
    ProgressReported {
        progress: Progress,
        note: Option<String>,
    },
    /// "Última acción realizada". Fields: `text`, `date`.
    FollowUpActionRecorded { text: String, date: NaiveDate },
    /// Fields: `status`.
    StatusChanged { status: Status },
    /// Fields: `agencies`, `responsiblePerson`.
    AgreementReassigned {
        agencies: Vec<String>,
        responsible_person: String,
    },
    /// Fields: `reason`.
    AgreementCancelled { reason: String },
    /// A correction: the corrected event stays in the stream, the values given here win.
    /// Fields: `correctedEventId`, `reason`, `status`, `progress`, `dueOn`, `description`
    /// (each corrected value or null).
    EventCorrected {
        corrected_event_id: Uuid,
        reason: String,
        status: Option<Status>,
        progress: Option<Progress>,
        due_on: Option<NaiveDate>,
        description: Option<String>,
    },

    // ----- Compromiso de campaña (stream `commitment-<number>`) -----
    /// Fields: `number`, `text`.
    CommitmentRegistered { number: u32, text: String },
    /// Agencies added to the commitment. Fields: `agencies`.
    CommitmentAssigned { agencies: Vec<String> },
    /// Schema v2. Fields: `actionId`, `agency`, `description`, `status`, `progress`
    /// (or null), `investmentMxn` (decimal string), `date`.
    /// v1 (spreadsheet import) had `investment` as a JSON number and no `progress`.
    ActionRegistered {
        action_id: Uuid,
        agency: String,
        description: String,
        status: Status,
        progress: Option<Progress>,
        investment_mxn: Mxn,
        date: NaiveDate,
    },
    /// Fields: `actionId`, `status`.
    ActionStatusChanged { action_id: Uuid, status: Status },
    /// Fields: `actionId`, `progress`.
    ActionProgressReported { action_id: Uuid, progress: Progress },

    // ----- Actividad (stream `activity-<uuid>`) -----
    /// Fields: `activityId`, `title`, `priority`, `dueOn`, `responsibles`.
    ActivityCreated {
        activity_id: Uuid,
        title: String,
        priority: Priority,
        due_on: NaiveDate,
        responsibles: Vec<String>,
    },
    /// Fields: `responsible`, `status`, `progress`.
    ResponsibleReported {
        responsible: String,
        status: Status,
        progress: Progress,
    },
    /// Fields: `responsible`.
    ResponsibleClosed { responsible: String },
    /// Emitted with the last `ResponsibleClosed`. Payload: `{}`.
    ActivityConcluded {},

    // ----- Correspondencia (stream `letter-<folio>`) -----
    /// Fields: `folio`, `unit`, `classification`, `sender`, `subject`, `receivedAt`.
    LetterReceived {
        folio: String,
        unit: Unit,
        classification: Classification,
        sender: String,
        subject: String,
        received_at: DateTime<Utc>,
    },
    /// Turnado. Fields: `agency`, `turnedAt`.
    LetterTurned {
        agency: String,
        turned_at: DateTime<Utc>,
    },
    /// Expediente abierto. Fields: `caseFile`, `openedAt`.
    CaseFileOpened {
        case_file: String,
        opened_at: DateTime<Utc>,
    },
    /// Oficio de salida. Fields: `number`, `recipient`, `issuedAt`.
    OutgoingLetterIssued {
        number: String,
        recipient: String,
        issued_at: DateTime<Utc>,
    },
    /// Fields: `note`, `recordedAt`.
    LetterFollowUpRecorded {
        note: String,
        recorded_at: DateTime<Utc>,
    },
    /// Closes the letter. Fields: `answeredAt`.
    LetterAnswered { answered_at: DateTime<Utc> },

    // ----- Petición ciudadana (stream `petition-<uuid>`) -----
    /// Fields: `petitionId`, `channel`, `topic`, `municipality`, `citizenId`, `contact`
    /// (`{name, phone, email, address}`: personal data, encrypted as one field by the
    /// application layer), `tourId` (or null), `receivedAt`.
    PetitionReceived {
        petition_id: Uuid,
        channel: Channel,
        topic: Topic,
        municipality: String,
        citizen_id: Uuid,
        contact: PersonalData,
        tour_id: Option<String>,
        received_at: DateTime<Utc>,
    },
    /// Fields: `target` (`{"agency": "SIDUR"}` or `{"governmentLevel": "FEDERAL"}`),
    /// `turnedAt`.
    PetitionTurned {
        target: TurnTarget,
        turned_at: DateTime<Utc>,
    },
    /// Fields: `kind`, `at`.
    PetitionFollowUpRecorded {
        kind: FollowUpKind,
        at: DateTime<Utc>,
    },
    /// Fields: `at`.
    PetitionAttended { at: DateTime<Utc> },
    /// Fields: `at`.
    PetitionClosed { at: DateTime<Utc> },
    /// The citizen's contact as rectified at their request (ARCO); it replaces the one
    /// received. Fields: `citizenId`, `contact` (personal data, sealed like
    /// `PetitionReceived`'s).
    PetitionContactRectified {
        citizen_id: Uuid,
        contact: PersonalData,
    },

    // ----- Rueda de prensa (stream `press-conference-<uuid>`) -----
    /// Fields: `conferenceId`, `kind` (`PRESIDENT_MORNING`, `GOVERNOR`), `date`,
    /// `presidedBy`, `topic`, `state`, `venue`, `durationMinutes`.
    PressConferenceHeld {
        conference_id: Uuid,
        kind: ConferenceKind,
        date: NaiveDate,
        presided_by: String,
        topic: String,
        state: String,
        venue: String,
        duration_minutes: Minutes,
    },
    /// Participante registrado. Fields: `name`, `role`, `outlet`.
    ConferenceParticipantRegistered {
        name: String,
        role: String,
        outlet: String,
    },
    /// A speaker's ideas on a topic (the President's conference). Fields: `speaker`,
    /// `topic`, `ideas`.
    ConferenceExpositionRecorded {
        speaker: String,
        topic: String,
        ideas: String,
    },
    /// A question and its answer (the Governor's conference). Fields: `askedBy`,
    /// `question`, `answeredBy`, `answerSummary`.
    ConferenceQuestionRecorded {
        asked_by: String,
        question: String,
        answered_by: String,
        answer_summary: String,
    },
}

impl EventType {
    /// The one declaration of which aggregate's stream holds the events of each type: both
    /// [`DomainEvent::aggregate_kind`] and [`DomainEvent::kind_of_type`] read it.
    pub(crate) fn aggregate_kind(self) -> AggregateKind {
        use EventType::*;
        match self {
            AgencyRegistered
            | AgencyRenamed
            | AgencyDeactivated
            | LiaisonDesignated
            | CatalogueEntryRegistered
            | CatalogueEntryRenamed
            | CatalogueEntryRetired
            | AnnualGoalSet => AggregateKind::AgencyCatalog,
            CabinetMeetingHeld => AggregateKind::CabinetMeeting,
            AgreementCreated
            | InstructionStageChanged
            | ProgressReported
            | FollowUpActionRecorded
            | StatusChanged
            | AgreementReassigned
            | AgreementCancelled
            | EventCorrected => AggregateKind::Agreement,
            CommitmentRegistered
            | CommitmentAssigned
            | ActionRegistered
            | ActionStatusChanged
            | ActionProgressReported => AggregateKind::Commitment,
            ActivityCreated | ResponsibleReported | ResponsibleClosed | ActivityConcluded => {
                AggregateKind::Activity
            }
            LetterReceived
            | LetterTurned
            | CaseFileOpened
            | OutgoingLetterIssued
            | LetterFollowUpRecorded
            | LetterAnswered => AggregateKind::Letter,
            PetitionReceived
            | PetitionTurned
            | PetitionFollowUpRecorded
            | PetitionAttended
            | PetitionClosed
            | PetitionContactRectified => AggregateKind::Petition,
            PressConferenceHeld
            | ConferenceParticipantRegistered
            | ConferenceExpositionRecorded
            | ConferenceQuestionRecorded => AggregateKind::PressConference,
        }
    }
}

impl DomainEvent {
    /// The business instant the event reports, when its payload carries one. A bare date
    /// is taken at midnight in Sonora ([`crate::time`]). The application uses it as the
    /// envelope's `effective_at`.
    pub fn effective_at(&self) -> Option<DateTime<Utc>> {
        self.effective_time().map(|(_, at)| at)
    }

    /// [`Self::effective_at`] with the command field it was given in (camelCase, as in
    /// JSON and GraphQL), so a refusal can name it.
    pub fn effective_time(&self) -> Option<(&'static str, DateTime<Utc>)> {
        use DomainEvent::*;
        match self {
            CabinetMeetingHeld { date, .. }
            | PressConferenceHeld { date, .. }
            | FollowUpActionRecorded { date, .. }
            | ActionRegistered { date, .. } => Some(("date", crate::time::midnight(*date))),
            AgreementCreated { issued_on, .. } => {
                Some(("issuedOn", crate::time::midnight(*issued_on)))
            }
            LetterReceived { received_at: t, .. } | PetitionReceived { received_at: t, .. } => {
                Some(("receivedAt", *t))
            }
            LetterTurned { turned_at: t, .. } | PetitionTurned { turned_at: t, .. } => {
                Some(("turnedAt", *t))
            }
            CaseFileOpened { opened_at: t, .. } => Some(("openedAt", *t)),
            OutgoingLetterIssued { issued_at: t, .. } => Some(("issuedAt", *t)),
            LetterFollowUpRecorded { recorded_at: t, .. } => Some(("recordedAt", *t)),
            LetterAnswered { answered_at: t } => Some(("answeredAt", *t)),
            PetitionFollowUpRecorded { at: t, .. }
            | PetitionAttended { at: t }
            | PetitionClosed { at: t } => Some(("at", *t)),
            _ => None,
        }
    }
}

crate::command::commands! { $
    /// Registrar dependencia (admin).
    RegisterAgency(agency::RegisterAgencyInput) => "registerAgency", register_agency, Office, AgencyCatalog;
    RenameAgency(agency::RenameAgencyInput) => "renameAgency", rename_agency, Office, AgencyCatalog;
    DeactivateAgency(agency::DeactivateAgencyInput) => "deactivateAgency", deactivate_agency, Office, AgencyCatalog;
    /// Designar enlace.
    DesignateLiaison(agency::DesignateLiaisonInput) => "designateLiaison", designate_liaison, Office, AgencyCatalog;
    /// Registrar una entrada de catálogo (tipo de gabinete, canal, tema, tipo de seguimiento).
    RegisterCatalogueEntry(catalogue::RegisterCatalogueEntryInput) => "registerCatalogueEntry", register_catalogue_entry, Office, AgencyCatalog;
    /// Cambiar la etiqueta de una entrada de catálogo (its code stays).
    RenameCatalogueEntry(catalogue::RenameCatalogueEntryInput) => "renameCatalogueEntry", rename_catalogue_entry, Office, AgencyCatalog;
    /// Retirar una entrada de catálogo: no new fact may name it.
    RetireCatalogueEntry(catalogue::RetireCatalogueEntryInput) => "retireCatalogueEntry", retire_catalogue_entry, Office, AgencyCatalog;
    /// Fijar una meta anual.
    SetAnnualGoal(catalogue::SetAnnualGoalInput) => "setAnnualGoal", set_annual_goal, Office, AgencyCatalog;
    /// Registrar reunión de gabinete.
    HoldCabinetMeeting(cabinet::HoldCabinetMeetingInput) => "holdCabinetMeeting", hold_cabinet_meeting, Office, CabinetMeeting;
    /// Registrar acuerdo o instrucción.
    CreateAgreement(agreement::CreateAgreementInput) => "createAgreement", create_agreement, Office, Agreement;
    ChangeInstructionStage(agreement::ChangeInstructionStageInput) => "changeInstructionStage", change_instruction_stage, AssignedAgency, Agreement;
    ReportAgreementProgress(agreement::ReportAgreementProgressInput) => "reportAgreementProgress", report_agreement_progress, AssignedAgency, Agreement;
    /// Registrar "última acción realizada".
    RecordFollowUpAction(agreement::RecordFollowUpActionInput) => "recordFollowUpAction", record_follow_up_action, AssignedAgency, Agreement;
    ChangeAgreementStatus(agreement::ChangeAgreementStatusInput) => "changeAgreementStatus", change_agreement_status, AssignedAgency, Agreement;
    ReassignAgreement(agreement::ReassignAgreementInput) => "reassignAgreement", reassign_agreement, Office, Agreement;
    CancelAgreement(agreement::CancelAgreementInput) => "cancelAgreement", cancel_agreement, Office, Agreement;
    /// Corregir un evento: the values given win over the corrected event's.
    CorrectAgreementEvent(agreement::CorrectAgreementEventInput) => "correctAgreementEvent", correct_agreement_event, Office, Agreement;
    /// Registrar compromiso de campaña.
    RegisterCommitment(commitment::RegisterCommitmentInput) => "registerCommitment", register_commitment, Office, Commitment;
    AssignCommitment(commitment::AssignCommitmentInput) => "assignCommitment", assign_commitment, Office, Commitment;
    /// Registrar acción de una dependencia sobre un compromiso.
    RegisterAction(commitment::RegisterActionInput) => "registerAction", register_action, AssignedAgency, Commitment;
    ChangeActionStatus(commitment::ChangeActionStatusInput) => "changeActionStatus", change_action_status, AssignedAgency, Commitment;
    ReportActionProgress(commitment::ReportActionProgressInput) => "reportActionProgress", report_action_progress, AssignedAgency, Commitment;
    /// Registrar actividad.
    CreateActivity(activity::CreateActivityInput) => "createActivity", create_activity, Office, Activity;
    ReportActivity(activity::ReportActivityInput) => "reportActivity", report_activity, Office, Activity;
    CloseActivityResponsibility(activity::CloseActivityResponsibilityInput) => "closeActivityResponsibility", close_activity_responsibility, Office, Activity;
    /// Recibir oficio (registrar folio).
    ReceiveLetter(correspondence::ReceiveLetterInput) => "receiveLetter", receive_letter, Office, Letter;
    /// Turnar oficio.
    TurnLetter(correspondence::TurnLetterInput) => "turnLetter", turn_letter, Office, Letter;
    /// Abrir expediente.
    OpenCaseFile(correspondence::OpenCaseFileInput) => "openCaseFile", open_case_file, AssignedAgency, Letter;
    /// Emitir oficio de salida.
    IssueOutgoingLetter(correspondence::IssueOutgoingLetterInput) => "issueOutgoingLetter", issue_outgoing_letter, AssignedAgency, Letter;
    RecordLetterFollowUp(correspondence::RecordLetterFollowUpInput) => "recordLetterFollowUp", record_letter_follow_up, AssignedAgency, Letter;
    AnswerLetter(correspondence::AnswerLetterInput) => "answerLetter", answer_letter, AssignedAgency, Letter;
    /// Recibir petición ciudadana.
    ReceivePetition(petition::ReceivePetitionInput) => "receivePetition", receive_petition, Office, Petition;
    TurnPetition(petition::TurnPetitionInput) => "turnPetition", turn_petition, Office, Petition;
    RecordPetitionFollowUp(petition::RecordPetitionFollowUpInput) => "recordPetitionFollowUp", record_petition_follow_up, AssignedAgency, Petition;
    AttendPetition(petition::AttendPetitionInput) => "attendPetition", attend_petition, AssignedAgency, Petition;
    ClosePetition(petition::ClosePetitionInput) => "closePetition", close_petition, AssignedAgency, Petition;
    /// Rectificar datos de contacto (ARCO). Admin only.
    RectifyCitizenContact(petition::RectifyCitizenContactInput) => "rectifyCitizenContact", rectify_citizen_contact, Office, Petition;
    /// Registrar rueda de prensa.
    HoldPressConference(press_conference::HoldPressConferenceInput) => "holdPressConference", hold_press_conference, Office, PressConference;
    /// Registrar participante de una rueda de prensa.
    RegisterConferenceParticipant(press_conference::RegisterConferenceParticipantInput) => "registerConferenceParticipant", register_conference_participant, Office, PressConference;
    /// Registrar exposición de una conferencia del Presidente.
    RecordConferenceExposition(press_conference::RecordConferenceExpositionInput) => "recordConferenceExposition", record_conference_exposition, Office, PressConference;
    /// Registrar pregunta y respuesta de una conferencia del Gobernador.
    RecordConferenceQuestion(press_conference::RecordConferenceQuestionInput) => "recordConferenceQuestion", record_conference_question, Office, PressConference;
}
