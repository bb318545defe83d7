//! Cabinet meetings and agreements reproducing `gabinetes_2023.csv` and the overall
//! summary (282 agreements: 106 concluded, 84 in progress, 92 pending → 52.48 %).
//!
//! Per type the concluded/in-progress/pending split and the decimal progress of the
//! in-progress agreements are chosen so the mean rounds to the published figure:
//!
//! | type | n | C | I (progress) | P | sum | mean |
//! |---|---|---|---|---|---|---|
//! | Legal y Ampliado | 1 | 0 | 20 | 0 | 20 | 20.00 |
//! | Legal | 13 | 2 | 40,40,40,40,26.23 | 6 | 386.23 | 29.71 |
//! | Agua | 44 | 10 | 19×40, 35 | 14 | 1795 | 40.80 |
//! | Infraestructura | 80 | 20 | 28×33, 2×32 | 30 | 2988 | 37.35 |
//! | Bacanora | 9 | 0 | 20, 18.34 | 7 | 38.34 | 4.26 |
//! | Bienestar | 11 | 1 | 40,40,40,34 | 6 | 254 | 23.09 |
//! | other origins | 124 | 73 | 21×92, 86.43 | 29 | 9318.43 | |
//!
//! In-progress progress sums to 4200 = 84 × 50, so the summary is 14800 / 282 = 52.48.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rust_decimal::Decimal;
use seguimiento_domain::command::{
    CancelAgreementInput, ChangeAgreementStatusInput, ChangeInstructionStageInput,
    CreateAgreementInput, HoldCabinetMeetingInput, ReassignAgreementInput,
    RecordFollowUpActionInput, ReportAgreementProgressInput,
};
use seguimiento_domain::values::{
    InstructionStage, ItemKind, MeetingType, Mxn, Origin, Progress, Status, YearBudget,
};
use seguimiento_domain::Command;
use uuid::Uuid;

use super::{cmd, day, id, DemoCommand};

/// Final state of one agreement.
#[derive(Debug, Clone, Copy)]
enum Target {
    Concluded,
    Pending,
    /// In progress with this last reported progress (hundredths).
    InProgress(i64),
}

fn split(concluded: usize, in_progress: &[i64], pending: usize) -> Vec<Target> {
    // Interleave so meetings get a mix.
    let mut v: Vec<Target> = Vec::new();
    v.extend(std::iter::repeat_n(Target::Concluded, concluded));
    v.extend(in_progress.iter().map(|p| Target::InProgress(*p)));
    v.extend(std::iter::repeat_n(Target::Pending, pending));
    let mut rng = super::rng::Rng::new(77 + v.len() as u64);
    rng.shuffle(&mut v);
    v
}

fn rep(n: usize, hundredths: i64) -> Vec<i64> {
    vec![hundredths; n]
}

/// (type, meetings held, agencies of its agreements, targets).
fn per_type() -> Vec<(MeetingType, u32, &'static [&'static str], Vec<Target>)> {
    let cat = |a: Vec<i64>, b: Vec<i64>| [a, b].concat();
    vec![
        (
            MeetingType::LegalAmpliado,
            1,
            &["SEGOB", "HACIENDA", "CJ"],
            split(0, &[2000], 0),
        ),
        (
            MeetingType::Legal,
            2,
            &["SEGOB", "CJ", "HACIENDA", "SECOG"],
            split(2, &[4000, 4000, 4000, 4000, 2623], 6),
        ),
        (
            MeetingType::PriorityWater,
            9,
            &["CEA", "SIDUR", "SAGARHPA"],
            split(10, &cat(rep(19, 4000), vec![3500]), 14),
        ),
        (
            MeetingType::PriorityInfrastructure,
            21,
            &["SIDUR", "CEA", "IMTES"],
            split(20, &cat(rep(28, 3300), rep(2, 3200)), 30),
        ),
        (
            MeetingType::PriorityBacanora,
            3,
            &["SAGARHPA", "SE"],
            split(0, &[2000, 1834], 7),
        ),
        (
            MeetingType::PriorityWellbeing,
            3,
            &["SEDESSON", "SALUD", "SEC"],
            split(1, &[4000, 4000, 4000, 3400], 6),
        ),
    ]
}

fn others() -> Vec<Target> {
    split(73, &[rep(21, 9200), vec![8643]].concat(), 29)
}

const OTHER_AGENCIES: [&str; 12] = [
    "SEC", "SALUD", "SIDUR", "SSP", "SEDESSON", "SAGARHPA", "HACIENDA", "SEGOB", "SE", "COVES",
    "SECTUR", "CEDES",
];

fn progress(hundredths: i64) -> Progress {
    Progress::new(Decimal::new(hundredths, 2)).unwrap_or(Progress::ZERO)
}

fn cap(t: DateTime<Utc>) -> DateTime<Utc> {
    t.min(day(2024, 1, 31))
}

fn local_date(t: DateTime<Utc>) -> NaiveDate {
    crate::models::local_date(t)
}

struct Ctx<'a> {
    out: &'a mut Vec<DemoCommand>,
}

impl Ctx<'_> {
    /// Creates one agreement and drives it to its target state.
    #[allow(clippy::too_many_arguments)]
    fn agreement(
        &mut self,
        key: &str,
        kind: ItemKind,
        origin: Origin,
        meeting_id: Option<Uuid>,
        agencies: Vec<String>,
        issued: DateTime<Utc>,
        target: Target,
        n: usize,
    ) -> Uuid {
        let agreement_id = id(&format!("agreement/{key}"));
        let issued_on = local_date(issued);
        let due_on =
            (!n.is_multiple_of(3)).then(|| issued_on + TimeDelta::days(90 + (n % 5) as i64 * 30));
        let actor = "secretaria.tecnica@joee";
        self.out.push(cmd(
            Command::CreateAgreement(CreateAgreementInput {
                agreement_id,
                kind,
                origin,
                meeting_id,
                description: format!(
                    "{} {key}",
                    match kind {
                        ItemKind::Agreement => "Acuerdo",
                        ItemKind::Instruction => "Instrucción",
                    }
                ),
                agencies,
                responsible_person: format!("Titular responsable {}", n % 17 + 1),
                issuer: "Gobernador del Estado".to_owned(),
                issued_on,
                due_on,
                budget: if n.is_multiple_of(4) {
                    vec![YearBudget {
                        year: 2023,
                        amount_mxn: Mxn::new(Decimal::from(1_000_000 * (n as i64 % 9 + 1)))
                            .unwrap_or(Mxn::ZERO),
                    }]
                } else {
                    Vec::new()
                },
            }),
            actor,
            issued,
        ));
        if kind == ItemKind::Instruction && n.is_multiple_of(2) {
            let stages = [
                InstructionStage::ContestacionOficio,
                InstructionStage::MesaTrabajo,
                InstructionStage::ProyectosAcuerdos,
            ];
            for (i, stage) in stages.iter().take(1 + n % 3).enumerate() {
                self.out.push(cmd(
                    Command::ChangeInstructionStage(ChangeInstructionStageInput {
                        agreement_id,
                        stage: *stage,
                    }),
                    actor,
                    cap(issued + TimeDelta::days(3 + i as i64 * 5)),
                ));
            }
        }
        let report = |p: Progress, at: DateTime<Utc>| {
            cmd(
                Command::ReportAgreementProgress(ReportAgreementProgressInput {
                    agreement_id,
                    progress: p,
                    note: Some("Avance reportado por el enlace".to_owned()),
                }),
                "enlace@dependencia",
                cap(at),
            )
        };
        match target {
            Target::Pending => {}
            Target::InProgress(h) => {
                if h > 3000 && n.is_multiple_of(2) {
                    self.out
                        .push(report(progress(1000), issued + TimeDelta::days(7)));
                    self.out.push(cmd(
                        Command::RecordFollowUpAction(RecordFollowUpActionInput {
                            agreement_id,
                            text: "Mesa de trabajo con la dependencia".to_owned(),
                            date: local_date(cap(issued + TimeDelta::days(14))),
                        }),
                        actor,
                        cap(issued + TimeDelta::days(14)),
                    ));
                }
                self.out
                    .push(report(progress(h), issued + TimeDelta::days(30)));
            }
            Target::Concluded => {
                if n.is_multiple_of(2) {
                    self.out
                        .push(report(progress(5000), issued + TimeDelta::days(10)));
                }
                self.out.push(cmd(
                    Command::ChangeAgreementStatus(ChangeAgreementStatusInput {
                        agreement_id,
                        status: Status::Concluded,
                    }),
                    "enlace@dependencia",
                    cap(issued + TimeDelta::days(45)),
                ));
            }
        }
        agreement_id
    }
}

pub(crate) fn commands() -> Vec<DemoCommand> {
    let mut out = Vec::new();
    let mut ctx = Ctx { out: &mut out };
    let mut n = 0usize;
    for (ti, (mtype, held, agencies, targets)) in per_type().into_iter().enumerate() {
        let meetings: Vec<(Uuid, DateTime<Utc>)> = (0..held)
            .map(|m| {
                let month = 1 + (m * 11 / held.max(1)) % 12;
                let dayn = 5 + (ti as u32 * 3 + m) % 20;
                (
                    id(&format!("meeting/{mtype:?}/{m}")),
                    day(2023, month, dayn),
                )
            })
            .collect();
        for (mid, at) in &meetings {
            ctx.out.push(cmd(
                Command::HoldCabinetMeeting(HoldCabinetMeetingInput {
                    meeting_id: *mid,
                    meeting_type: mtype,
                    date: local_date(*at),
                    agencies: agencies.iter().map(|a| (*a).to_owned()).collect(),
                }),
                "secretaria.tecnica@joee",
                *at,
            ));
        }
        for (i, target) in targets.into_iter().enumerate() {
            let (mid, at) = meetings[i % meetings.len()];
            let mut ag = vec![agencies[i % agencies.len()].to_owned()];
            if i % 4 == 1 && agencies.len() > 1 {
                ag.push(agencies[(i + 1) % agencies.len()].to_owned());
            }
            n += 1;
            let agreement_id = ctx.agreement(
                &format!("{mtype:?}-{i}"),
                ItemKind::Agreement,
                Origin::CabinetMeeting,
                Some(mid),
                ag,
                at,
                target,
                n,
            );
            if mtype == MeetingType::PriorityWater && i == 3 {
                ctx.out.push(cmd(
                    Command::ReassignAgreement(ReassignAgreementInput {
                        agreement_id,
                        agencies: vec!["CEA".to_owned(), "SIDUR".to_owned()],
                        responsible_person: "Vocal ejecutivo de la CEA".to_owned(),
                    }),
                    "secretaria.tecnica@joee",
                    at + TimeDelta::days(2),
                ));
            }
        }
        if mtype == MeetingType::PriorityInfrastructure {
            // Three agreements later cancelled: never counted.
            for c in 0..3 {
                let (mid, at) = meetings[c % meetings.len()];
                n += 1;
                let agreement_id = ctx.agreement(
                    &format!("cancelled-{c}"),
                    ItemKind::Agreement,
                    Origin::CabinetMeeting,
                    Some(mid),
                    vec!["SIDUR".to_owned()],
                    at,
                    Target::Pending,
                    n,
                );
                ctx.out.push(cmd(
                    Command::CancelAgreement(CancelAgreementInput {
                        agreement_id,
                        reason: "Duplicado de otro acuerdo".to_owned(),
                    }),
                    "secretaria.tecnica@joee",
                    at + TimeDelta::days(1),
                ));
            }
        }
    }
    for (i, target) in others().into_iter().enumerate() {
        let (kind, origin) = match i % 4 {
            0 | 1 => (ItemKind::Instruction, Origin::PressConference),
            2 => (ItemKind::Instruction, Origin::SpecialProject),
            _ => (ItemKind::Agreement, Origin::SpecialProject),
        };
        let month = 1 + (i as u32 % 12);
        let at = day(2023, month, 1 + (i as u32 * 7) % 27);
        n += 1;
        ctx.agreement(
            &format!("other-{i}"),
            kind,
            origin,
            None,
            vec![OTHER_AGENCIES[i % OTHER_AGENCIES.len()].to_owned()],
            at,
            target,
            n,
        );
    }
    out
}
