//! Mutations: one per domain command, each taking the domain's input object plus
//! optional `expectedVersion` (pin the stream's version: else `CONFLICT`), `commandId`
//! (makes a retry idempotent: `replayed: true`) and `effectiveAt` (business time).
//! The actor recorded is always the token's subject.

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};
use seguimiento_app::CommandRequest;
use seguimiento_domain::command::*;
use seguimiento_domain::Command;
use uuid::Uuid;

use super::Services;
use crate::auth::principal;
use crate::error::{gql, ApiResult};
use crate::types::outcome::CommandResult;

pub struct MutationRoot;

/// Runs one command through the application's single write path.
async fn run(
    ctx: &Context<'_>,
    command: Command,
    expected_version: Option<u64>,
    command_id: Option<Uuid>,
    effective_at: Option<DateTime<Utc>>,
) -> ApiResult<CommandResult> {
    let principal = principal(ctx)?.clone();
    let s = ctx.data::<Services>()?;
    let outcome = s
        .app
        .execute(CommandRequest {
            command,
            principal,
            effective_at,
            expected_version,
            command_id,
        })
        .await
        .map_err(gql)?;
    if !outcome.replayed {
        s.metrics.events_appended(outcome.positions.len());
    }
    if let Some(last) = outcome.positions.iter().max() {
        if !s.config.read_your_writes.is_zero() {
            // Read-your-writes: let the live tables catch up before answering.
            s.runner.wait_for(*last, s.config.read_your_writes).await;
        }
    }
    Ok(outcome.into())
}

macro_rules! mutations {
    ($( $(#[$doc:meta])* $name:ident => $variant:ident($input:ty); )*) => {
        #[Object]
        impl MutationRoot {
            $(
                $(#[$doc])*
                async fn $name(
                    &self,
                    ctx: &Context<'_>,
                    input: $input,
                    expected_version: Option<u64>,
                    command_id: Option<Uuid>,
                    effective_at: Option<DateTime<Utc>>,
                ) -> ApiResult<CommandResult> {
                    run(ctx, Command::$variant(input), expected_version, command_id, effective_at).await
                }
            )*
        }
    };
}

mutations! {
    /// Registrar dependencia (admin).
    register_agency => RegisterAgency(RegisterAgencyInput);
    rename_agency => RenameAgency(RenameAgencyInput);
    deactivate_agency => DeactivateAgency(DeactivateAgencyInput);
    /// Designar enlace.
    designate_liaison => DesignateLiaison(DesignateLiaisonInput);
    /// Registrar reunión de gabinete.
    hold_cabinet_meeting => HoldCabinetMeeting(HoldCabinetMeetingInput);
    /// Registrar acuerdo o instrucción.
    create_agreement => CreateAgreement(CreateAgreementInput);
    change_instruction_stage => ChangeInstructionStage(ChangeInstructionStageInput);
    report_agreement_progress => ReportAgreementProgress(ReportAgreementProgressInput);
    /// Registrar "última acción realizada".
    record_follow_up_action => RecordFollowUpAction(RecordFollowUpActionInput);
    change_agreement_status => ChangeAgreementStatus(ChangeAgreementStatusInput);
    reassign_agreement => ReassignAgreement(ReassignAgreementInput);
    cancel_agreement => CancelAgreement(CancelAgreementInput);
    /// Corregir un evento: the values given win over the corrected event's.
    correct_agreement_event => CorrectAgreementEvent(CorrectAgreementEventInput);
    /// Registrar compromiso de campaña.
    register_commitment => RegisterCommitment(RegisterCommitmentInput);
    assign_commitment => AssignCommitment(AssignCommitmentInput);
    /// Registrar acción de una dependencia sobre un compromiso.
    register_action => RegisterAction(RegisterActionInput);
    change_action_status => ChangeActionStatus(ChangeActionStatusInput);
    report_action_progress => ReportActionProgress(ReportActionProgressInput);
    /// Registrar actividad.
    create_activity => CreateActivity(CreateActivityInput);
    report_activity => ReportActivity(ReportActivityInput);
    close_activity_responsibility => CloseActivityResponsibility(CloseActivityResponsibilityInput);
    /// Recibir oficio (registrar folio).
    receive_letter => ReceiveLetter(ReceiveLetterInput);
    /// Turnar oficio.
    turn_letter => TurnLetter(TurnLetterInput);
    /// Abrir expediente.
    open_case_file => OpenCaseFile(OpenCaseFileInput);
    /// Emitir oficio de salida.
    issue_outgoing_letter => IssueOutgoingLetter(IssueOutgoingLetterInput);
    record_letter_follow_up => RecordLetterFollowUp(RecordLetterFollowUpInput);
    answer_letter => AnswerLetter(AnswerLetterInput);
    /// Recibir petición ciudadana.
    receive_petition => ReceivePetition(ReceivePetitionInput);
    turn_petition => TurnPetition(TurnPetitionInput);
    record_petition_follow_up => RecordPetitionFollowUp(RecordPetitionFollowUpInput);
    attend_petition => AttendPetition(AttendPetitionInput);
    close_petition => ClosePetition(ClosePetitionInput);
    /// Rectificar datos de contacto (ARCO). Admin only.
    rectify_citizen_contact => RectifyCitizenContact(RectifyCitizenContactInput);
}

/// Every mutation name, for tests that check each command has one.
pub const MUTATION_NAMES: &[&str] = &[
    "registerAgency",
    "renameAgency",
    "deactivateAgency",
    "designateLiaison",
    "holdCabinetMeeting",
    "createAgreement",
    "changeInstructionStage",
    "reportAgreementProgress",
    "recordFollowUpAction",
    "changeAgreementStatus",
    "reassignAgreement",
    "cancelAgreement",
    "correctAgreementEvent",
    "registerCommitment",
    "assignCommitment",
    "registerAction",
    "changeActionStatus",
    "reportActionProgress",
    "createActivity",
    "reportActivity",
    "closeActivityResponsibility",
    "receiveLetter",
    "turnLetter",
    "openCaseFile",
    "issueOutgoingLetter",
    "recordLetterFollowUp",
    "answerLetter",
    "receivePetition",
    "turnPetition",
    "recordPetitionFollowUp",
    "attendPetition",
    "closePetition",
    "rectifyCitizenContact",
];
