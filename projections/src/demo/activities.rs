//! A dozen internal activities of the office with several responsibles each.

use chrono::TimeDelta;
use rust_decimal::Decimal;
use seguimiento_domain::command::{
    CloseActivityResponsibilityInput, CreateActivityInput, ReportActivityInput,
};
use seguimiento_domain::values::{Priority, Progress, Status};
use seguimiento_domain::Command;

use super::{cmd, day, id, DemoCommand};

const PEOPLE: [&str; 6] = [
    "Ana López",
    "Carlos Ruiz",
    "María Fernández",
    "Jorge Valenzuela",
    "Lucía Moreno",
    "Ramón Acosta",
];

pub(crate) fn commands() -> Vec<DemoCommand> {
    let mut out = Vec::new();
    for i in 0..12u32 {
        let activity_id = id(&format!("activity/{i}"));
        let created = day(2023, 1 + i, 3);
        let due_on = crate::models::local_date(created + TimeDelta::days(45));
        let responsibles: Vec<String> = (0..2 + i as usize % 2)
            .map(|k| PEOPLE[(i as usize + k * 2) % PEOPLE.len()].to_owned())
            .collect();
        let actor = "coordinacion@joee";
        out.push(cmd(
            Command::CreateActivity(CreateActivityInput {
                activity_id,
                title: format!("Actividad interna {}", i + 1),
                priority: [Priority::Alta, Priority::Normal, Priority::Baja][i as usize % 3],
                due_on,
                responsibles: responsibles.clone(),
            }),
            actor,
            created,
        ));
        for (k, r) in responsibles.iter().enumerate() {
            let at = created + TimeDelta::days(10 + k as i64);
            match (i + k as u32) % 3 {
                0 => {
                    out.push(cmd(
                        Command::CloseActivityResponsibility(CloseActivityResponsibilityInput {
                            activity_id,
                            responsible: r.clone(),
                        }),
                        r,
                        at,
                    ));
                }
                1 => out.push(cmd(
                    Command::ReportActivity(ReportActivityInput {
                        activity_id,
                        responsible: r.clone(),
                        status: Status::InProgress,
                        progress: Progress::new(Decimal::from(25 + 10 * (i % 5)))
                            .unwrap_or(Progress::ZERO),
                    }),
                    r,
                    at,
                )),
                _ => {}
            }
        }
    }
    out
}
