//! The agency catalog: the 13 agencies of the published commitments semáforo (in
//! published order, with their figures) plus cabinet agencies.

use seguimiento_domain::command::RegisterAgencyInput;
use seguimiento_domain::Command;

use super::{cmd, day, DemoCommand};

/// Published figures of one agency in the 2023 commitments semáforo.
pub(crate) struct SemaforoAgency {
    pub acronym: &'static str,
    pub name: &'static str,
    pub commitments_assigned: u32,
    pub actions: u32,
    pub concluded: u32,
    pub in_progress: u32,
    pub pending: u32,
    pub investment_mxn: u64,
}

#[allow(clippy::too_many_arguments)]
const fn a(
    acronym: &'static str,
    name: &'static str,
    commitments_assigned: u32,
    actions: u32,
    concluded: u32,
    in_progress: u32,
    pending: u32,
    investment_mxn: u64,
) -> SemaforoAgency {
    SemaforoAgency {
        acronym,
        name,
        commitments_assigned,
        actions,
        concluded,
        in_progress,
        pending,
        investment_mxn,
    }
}

/// `semaforo_compromisos_2023.csv`, row by row.
pub(crate) const SEMAFORO: [SemaforoAgency; 13] = [
    a(
        "JOEE",
        "Jefatura de la Oficina del Ejecutivo Estatal",
        2,
        2,
        2,
        0,
        0,
        400_000_000,
    ),
    a(
        "HACIENDA",
        "Secretaría de Hacienda",
        13,
        23,
        20,
        3,
        0,
        31_211_647,
    ),
    a(
        "SAGARHPA",
        "Secretaría de Agricultura, Ganadería, Recursos Hidráulicos, Pesca y Acuicultura",
        37,
        102,
        60,
        39,
        3,
        5_331_559_767,
    ),
    a(
        "CEDES",
        "Consejo para el Desarrollo Sostenible del Estado de Sonora",
        39,
        47,
        22,
        25,
        0,
        67_312_389,
    ),
    a(
        "SEDESSON",
        "Secretaría de Desarrollo Social",
        27,
        45,
        22,
        22,
        1,
        2_729_282_566,
    ),
    a(
        "SALUD",
        "Secretaría de Salud Pública",
        25,
        52,
        27,
        22,
        3,
        4_766_293_531,
    ),
    a(
        "SEC",
        "Secretaría de Educación y Cultura",
        54,
        183,
        108,
        47,
        28,
        6_367_854_417,
    ),
    a(
        "SEGOB",
        "Secretaría de Gobierno",
        40,
        53,
        20,
        33,
        0,
        138_128_302,
    ),
    a("OFICIALÍA MAYOR", "Oficialía Mayor", 13, 7, 2, 5, 0, 0),
    a(
        "SECOG",
        "Secretaría de la Contraloría General del Estado",
        15,
        32,
        10,
        21,
        1,
        14_044_462,
    ),
    a(
        "SSP",
        "Secretaría de Seguridad Pública",
        14,
        44,
        12,
        31,
        1,
        1_120_165_854,
    ),
    a(
        "CJ",
        "Secretaría de la Consejería Jurídica",
        6,
        9,
        2,
        7,
        0,
        0,
    ),
    a(
        "SECTUR",
        "Secretaría del Turismo",
        14,
        21,
        5,
        15,
        1,
        537_086_023,
    ),
];

/// Agencies that appear in cabinets but have no campaign commitments.
pub(crate) const CABINET_ONLY: [(&str, &str, Option<&str>); 5] = [
    (
        "SIDUR",
        "Secretaría de Infraestructura y Desarrollo Urbano",
        None,
    ),
    ("CEA", "Comisión Estatal del Agua", Some("SIDUR")),
    ("SE", "Secretaría de Economía", None),
    (
        "IMTES",
        "Instituto de Movilidad y Transporte para el Desarrollo Sustentable de Sonora",
        Some("SIDUR"),
    ),
    (
        "COVES",
        "Comisión de Vivienda del Estado de Sonora",
        Some("SIDUR"),
    ),
];

pub(crate) fn commands() -> Vec<DemoCommand> {
    let at = day(2023, 1, 2);
    let mut out: Vec<DemoCommand> = SEMAFORO
        .iter()
        .map(|s| {
            cmd(
                Command::RegisterAgency(RegisterAgencyInput {
                    acronym: s.acronym.to_owned(),
                    name: s.name.to_owned(),
                    sector_head: None,
                }),
                "admin@joee",
                at,
            )
        })
        .collect();
    out.extend(CABINET_ONLY.iter().map(|(acr, name, head)| {
        cmd(
            Command::RegisterAgency(RegisterAgencyInput {
                acronym: (*acr).to_owned(),
                name: (*name).to_owned(),
                sector_head: head.map(str::to_owned),
            }),
            "admin@joee",
            at,
        )
    }));
    out
}
