//! Campaign commitments, their assignments and the agencies' actions, reproducing the
//! published commitments semáforo exactly.

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use seguimiento_domain::command::{
    AssignCommitmentInput, ChangeActionStatusInput, RegisterActionInput, RegisterCommitmentInput,
    ReportActionProgressInput,
};
use seguimiento_domain::values::{Mxn, Progress, Status};
use seguimiento_domain::Command;

use super::agencies::SEMAFORO;
use super::rng::Rng;
use super::{cmd, day, id, DemoCommand};

/// Commitments 1..=COMMITMENTS.
pub(crate) const COMMITMENTS: u32 = 220;

const TOPICS: [&str; 10] = [
    "Construir y equipar",
    "Rehabilitar",
    "Ampliar la cobertura de",
    "Modernizar",
    "Impulsar el programa de",
    "Garantizar el abasto de",
    "Crear el fondo para",
    "Fortalecer",
    "Digitalizar",
    "Regularizar",
];
const OBJECTS: [&str; 11] = [
    "hospitales regionales",
    "escuelas de tiempo completo",
    "caminos rurales",
    "agua potable en comunidades",
    "apoyos a productores",
    "seguridad en carreteras",
    "centros culturales",
    "trámites de gobierno",
    "vivienda social",
    "destinos turísticos",
    "medicamentos",
];

fn actor(acronym: &str) -> String {
    format!(
        "enlace.{}@sonora.gob.mx",
        acronym.to_lowercase().replace(' ', ".")
    )
}

fn clamp_2023(t: DateTime<Utc>) -> DateTime<Utc> {
    t.min(day(2023, 12, 29))
}

/// Which agencies each commitment gets: agency k takes the next `commitments_assigned`
/// numbers cyclically over 1..=220, so the 299 assignments wrap once.
pub(crate) fn assignments() -> Vec<(usize, Vec<u32>)> {
    let mut next = 0u32;
    SEMAFORO
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let nums = (0..s.commitments_assigned)
                .map(|_| {
                    let n = next % COMMITMENTS + 1;
                    next += 1;
                    n
                })
                .collect();
            (k, nums)
        })
        .collect()
}

fn to_date(t: DateTime<Utc>) -> chrono::NaiveDate {
    crate::models::local_date(t)
}

pub(crate) fn commands() -> Vec<DemoCommand> {
    let mut out = Vec::new();
    for n in 1..=COMMITMENTS {
        let text = format!(
            "{} {} (compromiso {n})",
            TOPICS[(n as usize) % TOPICS.len()],
            OBJECTS[(n as usize * 7) % OBJECTS.len()]
        );
        out.push(cmd(
            Command::RegisterCommitment(RegisterCommitmentInput { number: n, text }),
            "planeacion@joee",
            day(2023, 1, 10),
        ));
    }
    let assignments = assignments();
    for (k, nums) in &assignments {
        let s = &SEMAFORO[*k];
        for (j, n) in nums.iter().enumerate() {
            out.push(cmd(
                Command::AssignCommitment(AssignCommitmentInput {
                    number: *n,
                    agencies: vec![s.acronym.to_owned()],
                }),
                "planeacion@joee",
                day(2023, 1, 16 + (j % 10) as u32),
            ));
        }
    }
    for (k, nums) in &assignments {
        out.extend(actions_of(*k, nums));
    }
    out
}

fn actions_of(k: usize, nums: &[u32]) -> Vec<DemoCommand> {
    let s = &SEMAFORO[k];
    let mut statuses: Vec<Status> = std::iter::repeat_n(Status::Concluded, s.concluded as usize)
        .chain(std::iter::repeat_n(
            Status::InProgress,
            s.in_progress as usize,
        ))
        .chain(std::iter::repeat_n(Status::Pending, s.pending as usize))
        .collect();
    let mut rng = Rng::new(1000 + k as u64);
    rng.shuffle(&mut statuses);
    let n_actions = u64::from(s.actions);
    let base = s.investment_mxn / n_actions.max(1);
    let extra = s.investment_mxn - base * n_actions;
    let who = actor(s.acronym);
    let mut out = Vec::new();
    for (j, status) in statuses.into_iter().enumerate() {
        let number = nums[j % nums.len()];
        let action_id = id(&format!("action/{}/{j}", s.acronym));
        let amount = base + u64::from((j as u64) < extra);
        let investment = Mxn::new(Decimal::from(amount)).unwrap_or(Mxn::ZERO);
        let registered = day(2023, 2 + (j % 8) as u32, 1 + (j * 3 % 27) as u32);
        let register = |status: Status| {
            cmd(
                Command::RegisterAction(RegisterActionInput {
                    number,
                    action_id,
                    agency: s.acronym.to_owned(),
                    description: format!(
                        "Acción {} de {} sobre el compromiso {number}",
                        j + 1,
                        s.acronym
                    ),
                    status,
                    progress: None,
                    investment_mxn: investment,
                    date: to_date(registered),
                }),
                &who,
                registered,
            )
        };
        let change = |status: Status, at: DateTime<Utc>| {
            cmd(
                Command::ChangeActionStatus(ChangeActionStatusInput {
                    number,
                    action_id,
                    status,
                }),
                &who,
                clamp_2023(at),
            )
        };
        match (status, j % 3) {
            (Status::Concluded, 0) => {
                out.push(register(Status::Pending));
                out.push(change(Status::Concluded, registered + TimeDelta::days(30)));
            }
            (Status::Concluded, 1) => {
                out.push(register(Status::InProgress));
                out.push(cmd(
                    Command::ReportActionProgress(ReportActionProgressInput {
                        number,
                        action_id,
                        progress: Progress::new(Decimal::from(60)).unwrap_or(Progress::ZERO),
                    }),
                    &who,
                    clamp_2023(registered + TimeDelta::days(10)),
                ));
                out.push(change(Status::Concluded, registered + TimeDelta::days(40)));
            }
            (Status::Concluded, _) => out.push(register(Status::Concluded)),
            (Status::InProgress, r) if r % 2 == 0 => {
                out.push(register(Status::Pending));
                out.push(change(Status::InProgress, registered + TimeDelta::days(20)));
            }
            (st, _) => out.push(register(st)),
        }
    }
    out
}
