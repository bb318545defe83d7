//! A modest year of citizen petitions (~2,400): channels and topics, some collected on
//! the Governor's tours, turned, followed up, attended and closed. Contacts are fake.

use chrono::TimeDelta;
use seguimiento_domain::command::{
    AttendPetitionInput, ClosePetitionInput, ReceivePetitionInput, RecordPetitionFollowUpInput,
    TurnPetitionInput,
};
use seguimiento_domain::values::{
    Channel, CitizenContact, FollowUpKind, GovernmentLevel, Topic, TurnTarget,
};
use seguimiento_domain::Command;

use super::rng::Rng;
use super::{cmd, id, local, DemoCommand};

/// Petitions received per month.
pub(crate) const PER_MONTH: u32 = 200;

const CHANNELS: [Channel; 6] = [
    Channel::CallCenter,
    Channel::Chat,
    Channel::Email,
    Channel::Correspondence,
    Channel::Hearing,
    Channel::SocialMedia,
];
const TOPICS: [Topic; 9] = [
    Topic::LegalAdvice,
    Topic::ImmediateAttention,
    Topic::InformationRequest,
    Topic::Health,
    Topic::Housing,
    Topic::Employment,
    Topic::SocialSupport,
    Topic::Complaint,
    Topic::Other,
];
const MUNICIPALITIES: [&str; 8] = [
    "Hermosillo",
    "Cajeme",
    "Nogales",
    "San Luis Río Colorado",
    "Navojoa",
    "Guaymas",
    "Agua Prieta",
    "Caborca",
];
const AGENCIES: [&str; 6] = ["SALUD", "SEDESSON", "SEC", "SEGOB", "COVES", "SSP"];
const KINDS: [FollowUpKind; 5] = [
    FollowUpKind::Call,
    FollowUpKind::Chat,
    FollowUpKind::Email,
    FollowUpKind::Visit,
    FollowUpKind::Reply,
];

pub(crate) fn commands() -> Vec<DemoCommand> {
    let mut out = Vec::new();
    let mut rng = Rng::new(40_000);
    let actor = "atencion.ciudadana@joee";
    for month in 1..=12u32 {
        for i in 0..PER_MONTH {
            let petition_id = id(&format!("petition/{month}/{i}"));
            let d = 1 + (i * 27) / PER_MONTH;
            let received = local(2023, month, d, 9 + i % 7, (i * 13) % 60);
            let on_tour = rng.chance(12);
            let (channel, tour_id) = if on_tour {
                (
                    Channel::Tour,
                    Some(format!("GIRA-2023-{month:02}-{}", rng.below(3) + 1)),
                )
            } else {
                (CHANNELS[rng.below(CHANNELS.len() as u64) as usize], None)
            };
            out.push(cmd(
                Command::ReceivePetition(ReceivePetitionInput {
                    petition_id,
                    channel,
                    topic: TOPICS[rng.below(TOPICS.len() as u64) as usize],
                    municipality: MUNICIPALITIES[rng.below(MUNICIPALITIES.len() as u64) as usize]
                        .to_owned(),
                    citizen_id: id(&format!("citizen/{}", rng.below(1800))),
                    contact: CitizenContact {
                        name: format!("Ciudadano de prueba {month}-{i}"),
                        phone: Some(format!("662000{:04}", i)),
                        email: None,
                        address: None,
                    },
                    tour_id,
                    received_at: received,
                }),
                actor,
                received,
            ));
            if rng.chance(90) {
                let at = received + TimeDelta::days(1);
                let target = if rng.chance(85) {
                    TurnTarget::Agency(AGENCIES[rng.below(AGENCIES.len() as u64) as usize].into())
                } else {
                    TurnTarget::GovernmentLevel(GovernmentLevel::Municipal)
                };
                out.push(cmd(
                    Command::TurnPetition(TurnPetitionInput {
                        petition_id,
                        target,
                        turned_at: at,
                    }),
                    actor,
                    at,
                ));
            }
            for k in 0..rng.below(5) {
                let at = received + TimeDelta::days(2 + 2 * k as i64);
                out.push(cmd(
                    Command::RecordPetitionFollowUp(RecordPetitionFollowUpInput {
                        petition_id,
                        kind: KINDS[rng.below(KINDS.len() as u64) as usize],
                        at,
                    }),
                    actor,
                    at,
                ));
            }
            if rng.chance(70) {
                let at = received + TimeDelta::days(12);
                out.push(cmd(
                    Command::AttendPetition(AttendPetitionInput { petition_id, at }),
                    actor,
                    at,
                ));
                if rng.chance(80) {
                    let at = received + TimeDelta::days(15);
                    out.push(cmd(
                        Command::ClosePetition(ClosePetitionInput { petition_id, at }),
                        actor,
                        at,
                    ));
                }
            }
        }
    }
    out
}
