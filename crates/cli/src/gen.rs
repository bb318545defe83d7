//! `gen`: synthetic command lines in the import format, at Sonora-like volumes.
//!
//! Per year at `--scale 1` (≈ 290k events): ~40,000 citizen petitions (received, turned,
//! ~2.4 follow-ups each, most attended and closed: ~240k events), ~5,200 letters (turned,
//! case files, outgoing letters, follow-ups, answers: ~29k), ~60 cabinet meetings with ~300
//! agreements and instructions and their follow-ups, ~4,000 actions on the 218 campaign
//! commitments, ~1,000 activities. Deterministic for a seed.
//!
//! Lines come out in business-time order: each item's later steps wait in a heap until the
//! day they happen, so memory holds only the work in flight, never the whole file.
//!
//! Ids are UUID v7s of business time, as a client minting ids when things happen would
//! send: each aggregate's id carries its creation time, and each line a `commandId` of its
//! own time (hashed from the line, so the file imports idempotently). Its events then get
//! time-ordered ids (`seguimiento_domain::ids`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use seguimiento_domain::command::*;
use seguimiento_domain::values::{
    Channel, CitizenContact, Classification, FollowUpKind, GovernmentLevel, InstructionStage,
    ItemKind, MeetingType, Mxn, Origin, Priority, Progress as Pct, Status, Topic, TurnTarget, Unit,
    YearBudget,
};
use seguimiento_domain::Command;
use serde_json::Value;
use uuid::Uuid;

use crate::cli::GenArgs;
use crate::progress::Progress;
use crate::util::{self, sonora};

/// Agencies of the Sonora executive by acronym (the first ones head their sector).
const AGENCIES: &[(&str, &str)] = &[
    ("SECOGOB", "Secretaría de Gobierno"),
    ("SH", "Secretaría de Hacienda"),
    ("SIDUR", "Secretaría de Infraestructura y Desarrollo Urbano"),
    ("SEC", "Secretaría de Educación y Cultura"),
    ("SSA", "Secretaría de Salud"),
    ("SSP", "Secretaría de Seguridad Pública"),
    ("SE", "Secretaría de Economía"),
    (
        "SAGARHPA",
        "Secretaría de Agricultura, Ganadería, Recursos Hidráulicos, Pesca y Acuacultura",
    ),
    ("SEDESSON", "Secretaría de Desarrollo Social"),
    ("STPS", "Secretaría del Trabajo"),
    ("SECOG", "Secretaría de la Contraloría General"),
    ("OFICIALIA MAYOR", "Oficialía Mayor"),
    ("CEA", "Comisión Estatal del Agua"),
    ("IMTES", "Instituto de Movilidad y Transporte"),
    ("COVES", "Comisión de Vivienda del Estado de Sonora"),
    (
        "ISSSTESON",
        "Instituto de Seguridad y Servicios Sociales de los Trabajadores del Estado",
    ),
    ("DIF", "Sistema para el Desarrollo Integral de la Familia"),
    ("ISJ", "Instituto Sonorense de la Juventud"),
    ("ISM", "Instituto Sonorense de las Mujeres"),
    (
        "CECOP",
        "Consejo Estatal de Concertación para la Obra Pública",
    ),
    ("SAPS", "Servicios de Salud de Sonora"),
    ("ICATSON", "Instituto de Capacitación para el Trabajo"),
    ("ISC", "Instituto Sonorense de Cultura"),
    ("CODESON", "Comisión del Deporte del Estado de Sonora"),
    ("IIFE", "Instituto de Infraestructura Educativa"),
];
/// How many of the list head a sector (their own sector head).
const SECTOR_HEADS: usize = 12;

const MUNICIPALITIES: &[&str] = &[
    "Hermosillo",
    "Cajeme",
    "Nogales",
    "San Luis Río Colorado",
    "Navojoa",
    "Guaymas",
    "Agua Prieta",
    "Caborca",
    "Empalme",
    "Huatabampo",
    "Etchojoa",
    "Puerto Peñasco",
    "Cananea",
    "Álamos",
    "Ures",
    "Magdalena",
    "Bácum",
    "San Ignacio Río Muerto",
    "Benjamín Hill",
    "Moctezuma",
    "Sahuaripa",
    "Bacerac",
];

const STAFF: &[&str] = &[
    "Ana Robles",
    "Bruno Castro",
    "Carla Mendoza",
    "Diego Valenzuela",
    "Elena Duarte",
    "Fernando Ibarra",
    "Gabriela Soto",
    "Héctor Leyva",
    "Irma Quintero",
    "Jorge Ochoa",
    "Karla Félix",
    "Luis Encinas",
    "María Acosta",
    "Nora Romero",
    "Óscar Villa",
    "Paola Gastélum",
    "Ramón Lugo",
    "Sofía Murrieta",
    "Tomás Yocupicio",
    "Verónica Salazar",
];

/// Events a year at scale 1 (for the progress estimate).
const PETITIONS_PER_YEAR: f64 = 40_000.0;
const LETTERS_PER_YEAR: f64 = 5_200.0;
const MEETINGS_PER_YEAR: f64 = 60.0;
const INSTRUCTIONS_PER_YEAR: f64 = 60.0;
const ACTIONS_PER_YEAR: f64 = 4_000.0;
const ACTIVITIES_PER_YEAR: f64 = 1_000.0;
const COMMITMENTS: u32 = 218;

/// A line waiting for its time.
type Scheduled = Reverse<(DateTime<Utc>, u64, String)>;

struct Gen {
    rng: StdRng,
    heap: BinaryHeap<Scheduled>,
    seq: u64,
    end: DateTime<Utc>,
    agencies: Vec<String>,
    /// Agencies assigned to each commitment (index = number - 1).
    commitments: Vec<Vec<String>>,
    letter_seq: [u32; 2],
    tour_seq: u32,
    citizen_seq: u64,
}

fn at_local(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let naive = date
        .and_hms_opt(hour.min(23), minute.min(59), 0)
        .unwrap_or_default();
    sonora()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| naive.and_utc())
}

fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&sonora()).date_naive()
}

fn pct(n: u32) -> Pct {
    Pct::new(Decimal::from(n.min(100))).unwrap_or(Pct::ZERO)
}

fn mxn(cents: u64) -> Mxn {
    Mxn::new(Decimal::new(i64::try_from(cents).unwrap_or(0), 2)).unwrap_or(Mxn::ZERO)
}

impl Gen {
    fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    /// The id of an aggregate created at `at`: a UUID v7 of that time, as a client minting
    /// ids when it creates things would send (its streams then sit together in the log's
    /// stream index). Draws as many random bytes as [`Gen::uuid`], so a seed's data is the
    /// same whatever the id layout.
    fn uuid_at(&mut self, at: DateTime<Utc>) -> Uuid {
        seguimiento_domain::ids::v7_at(at, self.rng.random())
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    /// A count with mean `mean` (rounded randomly so fractions add up over many days).
    fn count(&mut self, mean: f64) -> u32 {
        let base = mean.floor();
        let extra = u32::from(self.chance(mean - base));
        base as u32 + extra
    }

    fn agency(&mut self) -> String {
        let i = self.rng.random_range(0..self.agencies.len());
        self.agencies[i].clone()
    }

    fn agencies_sample(&mut self, max: usize) -> Vec<String> {
        let n = self
            .rng
            .random_range(1..=max.min(self.agencies.len()).max(1));
        let mut out: Vec<String> = Vec::new();
        while out.len() < n {
            let a = self.agency();
            if !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }

    /// Schedules a command at business time `at` (dropped when past the range's end).
    ///
    /// Each line carries a `commandId`: a v7 id of `at` hashed from the line, so importing
    /// the file twice appends nothing twice and its events get time-ordered ids
    /// ([`seguimiento_domain::ids`]).
    fn push(&mut self, at: DateTime<Utc>, actor: &str, command: Command) {
        if at > self.end {
            return;
        }
        self.seq += 1;
        let mut v = serde_json::to_value(&command).unwrap_or(Value::Null);
        if let Value::Object(obj) = &mut v {
            obj.insert("actor".into(), Value::String(actor.to_owned()));
            obj.insert(
                "effectiveAt".into(),
                Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            );
            let name = format!(
                "{}\n{}",
                self.seq,
                serde_json::to_string(&*obj).unwrap_or_default()
            );
            let id = seguimiento_domain::ids::ordered_id(at, name.as_bytes());
            obj.insert("commandId".into(), Value::String(id.to_string()));
        }
        self.heap.push(Reverse((at, self.seq, v.to_string())));
    }

    /// Writes every line due before `until`.
    fn flush(&mut self, until: DateTime<Utc>, out: &mut dyn Write) -> std::io::Result<u64> {
        let mut n = 0;
        while let Some(Reverse((at, _, _))) = self.heap.peek() {
            if *at >= until {
                break;
            }
            if let Some(Reverse((_, _, line))) = self.heap.pop() {
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
                n += 1;
            }
        }
        Ok(n)
    }

    fn catalog(&mut self, count: u32, at: DateTime<Utc>) {
        let count = count.max(1) as usize;
        let mut names: Vec<(String, String)> = AGENCIES
            .iter()
            .take(count)
            .map(|(a, n)| ((*a).to_owned(), (*n).to_owned()))
            .collect();
        for i in names.len()..count {
            names.push((
                format!("DEP{:03}", i + 1),
                format!("Dependencia {:03}", i + 1),
            ));
        }
        let heads = SECTOR_HEADS.min(names.len());
        for (i, (acronym, name)) in names.iter().enumerate() {
            let sector_head = if i < heads {
                Some(acronym.clone())
            } else {
                Some(names[self.rng.random_range(0..heads)].0.clone())
            };
            let t = at + Duration::seconds(i as i64);
            self.push(
                t,
                "admin",
                Command::RegisterAgency(RegisterAgencyInput {
                    acronym: acronym.clone(),
                    name: name.clone(),
                    sector_head,
                }),
            );
            let person = self.pick(STAFF).to_string();
            self.push(
                t + Duration::minutes(30),
                "admin",
                Command::DesignateLiaison(DesignateLiaisonInput {
                    acronym: acronym.clone(),
                    name: person,
                    position: "Enlace de seguimiento".into(),
                    contact: format!(
                        "enlace.{}@sonora.gob.mx",
                        acronym.to_lowercase().replace(' ', "")
                    ),
                    designation_letter: format!("OF-{}-{:03}", acronym.replace(' ', ""), i + 1),
                }),
            );
        }
        self.agencies = names.into_iter().map(|(a, _)| a).collect();
    }

    fn commitments(&mut self, at: DateTime<Utc>) {
        for n in 1..=COMMITMENTS {
            let t = at + Duration::seconds(i64::from(n));
            self.push(
                t,
                "admin",
                Command::RegisterCommitment(RegisterCommitmentInput {
                    number: n,
                    text: format!("Compromiso de campaña {n}"),
                }),
            );
            let agencies = self.agencies_sample(3);
            self.push(
                t + Duration::minutes(10),
                "admin",
                Command::AssignCommitment(AssignCommitmentInput {
                    number: n,
                    agencies: agencies.clone(),
                }),
            );
            self.commitments.push(agencies);
        }
    }

    fn meeting(&mut self, day: NaiveDate) {
        let held = at_local(day, 10, 0);
        let meeting_id = self.uuid_at(held);
        let meeting_type = *self.pick(&MeetingType::ALL);
        let agencies = self.agencies_sample(6);
        self.push(
            held,
            "gabinete",
            Command::HoldCabinetMeeting(HoldCabinetMeetingInput {
                meeting_id,
                meeting_type,
                date: day,
                agencies: agencies.clone(),
            }),
        );
        let n = self.rng.random_range(2..=7);
        for k in 0..n {
            let created = at_local(day, 14, k);
            self.agreement(
                created,
                ItemKind::Agreement,
                Origin::CabinetMeeting,
                Some(meeting_id),
            );
        }
    }

    fn agreement(
        &mut self,
        created: DateTime<Utc>,
        kind: ItemKind,
        origin: Origin,
        meeting_id: Option<Uuid>,
    ) {
        let agreement_id = self.uuid_at(created);
        let issued_on = local_date(created);
        let due_on = issued_on + Duration::days(self.rng.random_range(30..240));
        let agencies = self.agencies_sample(2);
        let year = issued_on.year();
        let budget = if self.chance(0.4) {
            vec![YearBudget {
                year,
                amount_mxn: mxn(self.rng.random_range(100_000..500_000_000) * 100),
            }]
        } else {
            Vec::new()
        };
        let responsible = self.pick(STAFF).to_string();
        self.push(
            created,
            "gabinete",
            Command::CreateAgreement(CreateAgreementInput {
                agreement_id,
                kind,
                origin,
                meeting_id,
                description: format!("Acuerdo {}", &agreement_id.simple().to_string()[..8]),
                agencies,
                responsible_person: responsible,
                issuer: "Gobernador del Estado".into(),
                issued_on,
                due_on: Some(due_on),
                budget,
            }),
        );
        let mut t = created;
        if kind == ItemKind::Instruction {
            // An instruction starts at the Oficio stage.
            let stages = [
                InstructionStage::ContestacionOficio,
                InstructionStage::MesaTrabajo,
                InstructionStage::ProyectosAcuerdos,
                InstructionStage::EjecucionAvanzando,
                InstructionStage::Ejecucion100,
            ];
            let reached = self.rng.random_range(0..=stages.len());
            for stage in stages.iter().take(reached) {
                t += Duration::days(self.rng.random_range(3..30));
                self.push(
                    t,
                    "gabinete",
                    Command::ChangeInstructionStage(ChangeInstructionStageInput {
                        agreement_id,
                        stage: *stage,
                    }),
                );
            }
        }
        // Pendiente 1/3, en proceso 1/3, concluido 1/3 (roughly the published mix).
        let fate = self.rng.random_range(0..3);
        if fate == 0 {
            return;
        }
        let reports = self.rng.random_range(1..=4);
        let mut progress = 0;
        for _ in 0..reports {
            t += Duration::days(self.rng.random_range(5..45));
            progress = (progress + self.rng.random_range(10..40)).min(95);
            self.push(
                t,
                "enlace",
                Command::RecordFollowUpAction(RecordFollowUpActionInput {
                    agreement_id,
                    text: "Se realizó mesa de trabajo con la dependencia".into(),
                    date: local_date(t),
                }),
            );
            self.push(
                t + Duration::minutes(5),
                "enlace",
                Command::ReportAgreementProgress(ReportAgreementProgressInput {
                    agreement_id,
                    progress: pct(progress),
                    note: None,
                }),
            );
        }
        if fate == 2 {
            t += Duration::days(self.rng.random_range(5..60));
            self.push(
                t,
                "enlace",
                Command::ChangeAgreementStatus(ChangeAgreementStatusInput {
                    agreement_id,
                    status: Status::Concluded,
                }),
            );
        }
    }

    fn action(&mut self, at: DateTime<Utc>) {
        let number = self.rng.random_range(1..=COMMITMENTS);
        let assigned = self.commitments[(number - 1) as usize].clone();
        let agency = self.pick(&assigned).clone();
        let action_id = self.uuid_at(at);
        let actor = format!("enlace.{}", agency.to_lowercase().replace(' ', ""));
        let (status, progress) = match self.rng.random_range(0..10) {
            0..=2 => (Status::Pending, None),
            3..=6 => (Status::InProgress, Some(pct(self.rng.random_range(5..90)))),
            _ => (Status::Concluded, Some(Pct::HUNDRED)),
        };
        let investment = mxn(self.rng.random_range(0..50_000_000) * 100);
        self.push(
            at,
            &actor,
            Command::RegisterAction(RegisterActionInput {
                number,
                action_id,
                agency,
                description: "Acción registrada por la dependencia".into(),
                status,
                progress,
                investment_mxn: investment,
                date: local_date(at),
            }),
        );
        if status == Status::Concluded {
            return;
        }
        let mut t = at;
        let mut p = progress.map_or(0, |p| p.value().to_u32_lossy());
        for _ in 0..self.rng.random_range(0..3) {
            t += Duration::days(self.rng.random_range(7..60));
            p = (p + self.rng.random_range(5..30)).min(99);
            self.push(
                t,
                &actor,
                Command::ReportActionProgress(ReportActionProgressInput {
                    number,
                    action_id,
                    progress: pct(p),
                }),
            );
        }
        if self.chance(0.4) {
            t += Duration::days(self.rng.random_range(7..90));
            self.push(
                t,
                &actor,
                Command::ChangeActionStatus(ChangeActionStatusInput {
                    number,
                    action_id,
                    status: Status::Concluded,
                }),
            );
        }
    }

    fn activity(&mut self, at: DateTime<Utc>) {
        let activity_id = self.uuid_at(at);
        let n = self.rng.random_range(1..=3);
        let mut responsibles: Vec<String> = Vec::new();
        while responsibles.len() < n {
            let r = self.pick(STAFF).to_string();
            if !responsibles.contains(&r) {
                responsibles.push(r);
            }
        }
        let priority = *self.pick(&[
            Priority::Alta,
            Priority::Normal,
            Priority::Normal,
            Priority::Baja,
        ]);
        let due_on = local_date(at) + Duration::days(self.rng.random_range(7..90));
        self.push(
            at,
            "oficina",
            Command::CreateActivity(CreateActivityInput {
                activity_id,
                title: format!("Actividad {}", &activity_id.simple().to_string()[..8]),
                priority,
                due_on,
                responsibles: responsibles.clone(),
            }),
        );
        for r in responsibles {
            let mut t = at + Duration::days(self.rng.random_range(1..20));
            if self.chance(0.25) {
                continue; // never reported: pending
            }
            let progress = self.rng.random_range(10..90);
            self.push(
                t,
                "oficina",
                Command::ReportActivity(ReportActivityInput {
                    activity_id,
                    responsible: r.clone(),
                    status: Status::InProgress,
                    progress: pct(progress),
                }),
            );
            if self.chance(0.6) {
                t += Duration::days(self.rng.random_range(1..30));
                self.push(
                    t,
                    "oficina",
                    Command::ReportActivity(ReportActivityInput {
                        activity_id,
                        responsible: r.clone(),
                        status: Status::Concluded,
                        progress: Pct::HUNDRED,
                    }),
                );
                self.push(
                    t + Duration::minutes(1),
                    "oficina",
                    Command::CloseActivityResponsibility(CloseActivityResponsibilityInput {
                        activity_id,
                        responsible: r,
                    }),
                );
            }
        }
    }

    fn letter(&mut self, received: DateTime<Utc>) {
        let (unit, u, actor) = if self.chance(0.75) {
            (Unit::Dggd, 0, "oficialia.dggd")
        } else {
            (Unit::Oee, 1, "oficialia.oee")
        };
        self.letter_seq[u] += 1;
        let year = local_date(received).year();
        let prefix = if u == 0 { "DGGD" } else { "OEE" };
        let folio = format!("{prefix}-{year}-{:05}", self.letter_seq[u]);
        let classification = if self.chance(0.7) {
            Classification::Relevant
        } else {
            Classification::Cc
        };
        let sender = format!("Remitente {}", self.rng.random_range(1..3000));
        self.push(
            received,
            actor,
            Command::ReceiveLetter(ReceiveLetterInput {
                folio: folio.clone(),
                unit,
                classification,
                sender,
                subject: "Solicitud de atención".into(),
                received_at: received,
            }),
        );
        let mut t = received;
        if classification == Classification::Relevant || self.chance(0.3) {
            // 48-hour goal: most are turned well within it.
            let max = if self.chance(0.85) { 2_800 } else { 9_000 };
            t += Duration::minutes(self.rng.random_range(20..max));
            let agency = self.agency();
            self.push(
                t,
                actor,
                Command::TurnLetter(TurnLetterInput {
                    folio: folio.clone(),
                    agency,
                    turned_at: t,
                }),
            );
        }
        if self.chance(0.3) {
            t += Duration::hours(self.rng.random_range(1..72));
            self.push(
                t,
                actor,
                Command::OpenCaseFile(OpenCaseFileInput {
                    folio: folio.clone(),
                    case_file: format!("EXP-{folio}"),
                    opened_at: t,
                }),
            );
        }
        for _ in 0..self.rng.random_range(0..3) {
            t += Duration::days(self.rng.random_range(1..15));
            self.push(
                t,
                actor,
                Command::RecordLetterFollowUp(RecordLetterFollowUpInput {
                    folio: folio.clone(),
                    note: "Seguimiento con la dependencia".into(),
                    recorded_at: t,
                }),
            );
        }
        if self.chance(0.4) {
            t += Duration::days(self.rng.random_range(1..20));
            self.push(
                t,
                actor,
                Command::IssueOutgoingLetter(IssueOutgoingLetterInput {
                    folio: folio.clone(),
                    number: format!("SAL-{folio}"),
                    recipient: "Titular de la dependencia".into(),
                    issued_at: t,
                }),
            );
        }
        if self.chance(0.7) {
            t += Duration::days(self.rng.random_range(1..30));
            self.push(
                t,
                actor,
                Command::AnswerLetter(AnswerLetterInput {
                    folio,
                    answered_at: t,
                }),
            );
        }
    }

    fn petition(&mut self, received: DateTime<Utc>, tour: Option<&str>) {
        let petition_id = self.uuid_at(received);
        let channel = match tour {
            Some(_) => Channel::Tour,
            None => *self.pick(&[
                Channel::CallCenter,
                Channel::CallCenter,
                Channel::CallCenter,
                Channel::Chat,
                Channel::Chat,
                Channel::Email,
                Channel::Correspondence,
                Channel::Hearing,
                Channel::SocialMedia,
            ]),
        };
        let topic = *self.pick(&[
            Topic::LegalAdvice,
            Topic::ImmediateAttention,
            Topic::ImmediateAttention,
            Topic::InformationRequest,
            Topic::InformationRequest,
            Topic::Health,
            Topic::Housing,
            Topic::Employment,
            Topic::SocialSupport,
            Topic::Complaint,
            Topic::Other,
        ]);
        self.citizen_seq += 1;
        let citizen = self.citizen_seq;
        let municipality = self.pick(MUNICIPALITIES).to_string();
        let phone = format!("662{:07}", self.rng.random_range(0..10_000_000u32));
        let citizen_id = self.uuid();
        self.push(
            received,
            "atencion.ciudadana",
            Command::ReceivePetition(ReceivePetitionInput {
                petition_id,
                channel,
                topic,
                municipality,
                citizen_id,
                contact: CitizenContact {
                    name: format!("Ciudadano Sintético {citizen}"),
                    phone: Some(phone),
                    email: None,
                    address: None,
                },
                tour_id: tour.map(str::to_owned),
                received_at: received,
            }),
        );
        let mut t = received + Duration::hours(self.rng.random_range(1..48));
        let target = if self.chance(0.85) {
            TurnTarget::Agency(self.agency())
        } else {
            TurnTarget::GovernmentLevel(*self.pick(&[
                GovernmentLevel::Federal,
                GovernmentLevel::Municipal,
                GovernmentLevel::Judicial,
            ]))
        };
        self.push(
            t,
            "atencion.ciudadana",
            Command::TurnPetition(TurnPetitionInput {
                petition_id,
                target,
                turned_at: t,
            }),
        );
        let follow_ups = self.count(2.4);
        for _ in 0..follow_ups {
            t += Duration::hours(self.rng.random_range(6..240));
            let kind = *self.pick(&[
                FollowUpKind::Call,
                FollowUpKind::Call,
                FollowUpKind::Chat,
                FollowUpKind::Email,
                FollowUpKind::Visit,
                FollowUpKind::Reply,
            ]);
            self.push(
                t,
                "atencion.ciudadana",
                Command::RecordPetitionFollowUp(RecordPetitionFollowUpInput {
                    petition_id,
                    kind,
                    at: t,
                }),
            );
        }
        if self.chance(0.85) {
            t += Duration::hours(self.rng.random_range(1..120));
            self.push(
                t,
                "atencion.ciudadana",
                Command::AttendPetition(AttendPetitionInput { petition_id, at: t }),
            );
            if self.chance(0.85) {
                t += Duration::hours(self.rng.random_range(1..72));
                self.push(
                    t,
                    "atencion.ciudadana",
                    Command::ClosePetition(ClosePetitionInput { petition_id, at: t }),
                );
            }
        }
    }

    /// Everything created on `day` (its later steps go to the heap).
    fn day(&mut self, day: NaiveDate, scale: f64) {
        let weekday = day.weekday().number_from_monday() <= 5;
        let work = if weekday { 1.0 / 250.0 } else { 0.0 };
        let every = 1.0 / 365.0;
        let n = self.count(PETITIONS_PER_YEAR * scale * every * 0.9);
        for _ in 0..n {
            let t = at_local(
                day,
                self.rng.random_range(8..20),
                self.rng.random_range(0..60),
            );
            self.petition(t, None);
        }
        // A tour (gira) about once a week collects a batch of petitions.
        if self.chance(52.0 * every) {
            self.tour_seq += 1;
            let tour = format!("GIRA-{}-{:03}", day.year(), self.tour_seq);
            let n = self.count(PETITIONS_PER_YEAR * scale * 0.1 / 52.0);
            for _ in 0..n {
                let t = at_local(
                    day,
                    self.rng.random_range(10..16),
                    self.rng.random_range(0..60),
                );
                self.petition(t, Some(&tour));
            }
        }
        for _ in 0..self.count(LETTERS_PER_YEAR * scale * work) {
            let t = at_local(
                day,
                self.rng.random_range(8..16),
                self.rng.random_range(0..60),
            );
            self.letter(t);
        }
        for _ in 0..self.count(MEETINGS_PER_YEAR * scale.max(0.05) * work) {
            self.meeting(day);
        }
        for _ in 0..self.count(INSTRUCTIONS_PER_YEAR * scale.max(0.05) * work) {
            let t = at_local(day, 12, self.rng.random_range(0..60));
            let origin = if self.chance(0.5) {
                Origin::PressConference
            } else {
                Origin::SpecialProject
            };
            self.agreement(t, ItemKind::Instruction, origin, None);
        }
        for _ in 0..self.count(ACTIONS_PER_YEAR * scale * work) {
            let t = at_local(
                day,
                self.rng.random_range(9..18),
                self.rng.random_range(0..60),
            );
            self.action(t);
        }
        for _ in 0..self.count(ACTIVITIES_PER_YEAR * scale * work) {
            let t = at_local(
                day,
                self.rng.random_range(9..18),
                self.rng.random_range(0..60),
            );
            self.activity(t);
        }
    }
}

trait LossyU32 {
    fn to_u32_lossy(&self) -> u32;
}

impl LossyU32 for Decimal {
    fn to_u32_lossy(&self) -> u32 {
        use rust_decimal::prelude::ToPrimitive;
        self.trunc().to_u32().unwrap_or(0)
    }
}

pub fn run(args: GenArgs) -> anyhow::Result<ExitCode> {
    if args.years == 0 {
        anyhow::bail!("--years must be at least 1");
    }
    if !(args.scale > 0.0 && args.scale <= 100.0) {
        anyhow::bail!("--scale must be between 0 (exclusive) and 100");
    }
    let now = Utc::now();
    let this_year = now.with_timezone(&sonora()).year();
    let years = i32::try_from(args.years).context("--years is too large")?;
    let start_year = args
        .start_year
        .unwrap_or_else(|| 2023.min(this_year - years));
    let first = NaiveDate::from_ymd_opt(start_year, 1, 1).context("invalid --start-year")?;
    let last = NaiveDate::from_ymd_opt(start_year + years, 1, 1).context("invalid --years")?;
    let range_end = at_local(last, 0, 0).min(now);
    if at_local(first, 0, 0) >= now {
        anyhow::bail!("the generated years would lie in the future; pass an earlier --start-year");
    }
    let mut gen = Gen {
        rng: StdRng::seed_from_u64(args.seed),
        heap: BinaryHeap::new(),
        seq: 0,
        end: range_end,
        agencies: Vec::new(),
        commitments: Vec::new(),
        letter_seq: [0, 0],
        tour_seq: 0,
        citizen_seq: 0,
    };
    let mut out = util::output(args.out.as_deref())?;
    let setup = at_local(first, 0, 0) - Duration::days(1);
    gen.catalog(args.agencies, setup);
    gen.commitments(setup + Duration::hours(6));
    let total_days = (last - first).num_days().max(1) as u64;
    let progress = Progress::new("gen", Some(total_days));
    let mut lines: u64 = 0;
    let mut day = first;
    let mut done: u64 = 0;
    while day < last {
        let next = day + Duration::days(1);
        let day_start = at_local(day, 0, 0);
        if day_start >= range_end {
            break;
        }
        // Catalog and commitments first (they are scheduled before the first day).
        lines += gen.flush(day_start, &mut *out)?;
        gen.day(day, args.scale);
        lines += gen.flush(at_local(next, 0, 0), &mut *out)?;
        done += 1;
        progress.update("days", done, total_days);
        day = next;
    }
    lines += gen.flush(range_end + Duration::seconds(1), &mut *out)?;
    out.flush()?;
    progress.clear();
    eprintln!(
        "generated {lines} command lines for {years} year(s) from {start_year} ({} agencies, seed {})",
        gen.agencies.len(),
        args.seed
    );
    Ok(ExitCode::SUCCESS)
}
