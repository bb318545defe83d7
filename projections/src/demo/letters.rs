//! A year of correspondence reproducing every monthly column of
//! `correspondencia_2023.csv`.
//!
//! Per month m: `relevantes + ccp` letters are received (days 1–24, office hours); of
//! them `folios_dggd` DGGD letters and `folios_oee` OEE letters are turned (once each,
//! within hours, mostly inside the 48-hour goal), the rest are DGGD letters not turned.
//! Case files open on the first `expedientes_*` turned letters of each unit; the month's
//! `oficios_*` and `seguimientos_dggd` are spread over the turned letters of the unit.
//! All of a letter's events fall in its month; most turned letters are answered 5 days
//! after their turn (the answer is not a column).

use chrono::{DateTime, TimeDelta, Utc};
use seguimiento_domain::command::{
    AnswerLetterInput, IssueOutgoingLetterInput, OpenCaseFileInput, ReceiveLetterInput,
    RecordLetterFollowUpInput, TurnLetterInput,
};
use seguimiento_domain::values::{Classification, Unit};
use seguimiento_domain::Command;

use super::rng::Rng;
use super::{cmd, local, DemoCommand};

/// `correspondencia_2023.csv`: relevantes, ccp, folios_dggd, oficios_dggd,
/// expedientes_dggd, seguimientos_dggd, folios_oee, oficios_oee, expedientes_oee.
pub(crate) const MONTHS_2023: [[u32; 9]; 12] = [
    [307, 265, 125, 139, 125, 228, 226, 199, 208],
    [229, 243, 108, 155, 108, 112, 277, 277, 271],
    [363, 291, 163, 304, 163, 322, 195, 195, 185],
    [230, 254, 133, 220, 132, 148, 77, 77, 74],
    [231, 228, 80, 98, 80, 141, 260, 260, 164],
    [285, 279, 79, 109, 79, 237, 58, 234, 58],
    [135, 162, 58, 80, 58, 115, 37, 83, 34],
    [158, 203, 79, 129, 79, 61, 49, 313, 47],
    [230, 186, 89, 153, 89, 101, 37, 85, 37],
    [226, 184, 99, 154, 99, 107, 53, 133, 52],
    [257, 192, 109, 189, 109, 140, 81, 490, 80],
    [132, 175, 61, 106, 61, 109, 23, 28, 23],
];

const TURN_AGENCIES: [&str; 10] = [
    "SEGOB", "HACIENDA", "SEC", "SALUD", "SIDUR", "CEA", "SEDESSON", "SSP", "SAGARHPA", "CJ",
];

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    DggdTurned,
    OeeTurned,
    DggdKept,
}

struct Letter {
    folio: String,
    unit: Unit,
    turned_at: DateTime<Utc>,
}

pub(crate) fn commands() -> Vec<DemoCommand> {
    let mut out = Vec::new();
    let mut rng = Rng::new(2023);
    let reception = "recepcion@dggd";
    for (mi, row) in MONTHS_2023.iter().enumerate() {
        let month = mi as u32 + 1;
        let [rel, ccp, f_dggd, of_dggd, ex_dggd, seg_dggd, f_oee, of_oee, ex_oee] = *row;
        let total = rel + ccp;
        let mut kinds: Vec<Kind> = std::iter::repeat_n(Kind::DggdTurned, f_dggd as usize)
            .chain(std::iter::repeat_n(Kind::OeeTurned, f_oee as usize))
            .chain(std::iter::repeat_n(
                Kind::DggdKept,
                (total - f_dggd - f_oee) as usize,
            ))
            .collect();
        rng.shuffle(&mut kinds);
        let mut classes: Vec<Classification> =
            std::iter::repeat_n(Classification::Relevant, rel as usize)
                .chain(std::iter::repeat_n(Classification::Cc, ccp as usize))
                .collect();
        rng.shuffle(&mut classes);
        let mut dggd: Vec<Letter> = Vec::new();
        let mut oee: Vec<Letter> = Vec::new();
        for (i, (kind, class)) in kinds.iter().zip(classes).enumerate() {
            let unit = if *kind == Kind::OeeTurned {
                Unit::Oee
            } else {
                Unit::Dggd
            };
            let prefix = if unit == Unit::Oee { "OEE" } else { "DGGD" };
            let folio = format!("{prefix}-2023-{month:02}-{:04}", i + 1);
            let d = 1 + (i as u32 * 24) / total;
            let received = local(2023, month, d, 8 + (i as u32 % 6), (i as u32 * 7) % 60);
            out.push(cmd(
                Command::ReceiveLetter(ReceiveLetterInput {
                    folio: folio.clone(),
                    unit,
                    classification: class,
                    sender: format!("Remitente {}", i % 97 + 1),
                    subject: format!("Asunto del oficio {folio}"),
                    received_at: received,
                }),
                reception,
                received,
            ));
            if *kind == Kind::DggdKept {
                continue;
            }
            // 85 % within the 48-hour goal.
            let hours = if rng.chance(85) {
                1 + rng.below(47)
            } else {
                49 + rng.below(23)
            };
            let turned_at = received + TimeDelta::hours(hours as i64);
            out.push(cmd(
                Command::TurnLetter(TurnLetterInput {
                    folio: folio.clone(),
                    agency: TURN_AGENCIES[rng.below(TURN_AGENCIES.len() as u64) as usize]
                        .to_owned(),
                    turned_at,
                }),
                reception,
                turned_at,
            ));
            let l = Letter {
                folio,
                unit,
                turned_at,
            };
            match unit {
                Unit::Dggd => dggd.push(l),
                Unit::Oee => oee.push(l),
            }
        }
        for (letters, expedientes, oficios, seguimientos) in [
            (&dggd, ex_dggd, of_dggd, seg_dggd),
            (&oee, ex_oee, of_oee, 0),
        ] {
            let n = letters.len().max(1);
            // Per letter: how many oficios / follow-ups.
            let mut count_of = vec![0u32; letters.len()];
            let mut count_seg = vec![0u32; letters.len()];
            for k in 0..oficios as usize {
                count_of[k % n] += 1;
            }
            for k in 0..seguimientos as usize {
                count_seg[(k * 7 + 3) % n] += 1;
            }
            for (j, l) in letters.iter().enumerate() {
                let actor = match l.unit {
                    Unit::Dggd => "gestion@dggd",
                    Unit::Oee => "gestion@oee",
                };
                let mut at = l.turned_at + TimeDelta::hours(1);
                if (j as u32) < expedientes {
                    out.push(cmd(
                        Command::OpenCaseFile(OpenCaseFileInput {
                            folio: l.folio.clone(),
                            case_file: format!("EXP-{}", l.folio),
                            opened_at: at,
                        }),
                        actor,
                        at,
                    ));
                }
                for k in 0..count_of[j] {
                    at += TimeDelta::minutes(40);
                    out.push(cmd(
                        Command::IssueOutgoingLetter(IssueOutgoingLetterInput {
                            folio: l.folio.clone(),
                            number: format!("OF-{}-{}", l.folio, k + 1),
                            recipient: "Titular de la dependencia".to_owned(),
                            issued_at: at,
                        }),
                        actor,
                        at,
                    ));
                }
                for _ in 0..count_seg[j] {
                    at += TimeDelta::minutes(30);
                    out.push(cmd(
                        Command::RecordLetterFollowUp(RecordLetterFollowUpInput {
                            folio: l.folio.clone(),
                            note: "Llamada de seguimiento".to_owned(),
                            recorded_at: at,
                        }),
                        actor,
                        at,
                    ));
                }
                if j % 5 != 4 {
                    let answered_at = l.turned_at + TimeDelta::days(5);
                    out.push(cmd(
                        Command::AnswerLetter(AnswerLetterInput {
                            folio: l.folio.clone(),
                            answered_at,
                        }),
                        actor,
                        answered_at,
                    ));
                }
            }
        }
    }
    out
}
