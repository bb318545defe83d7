//! `report`: the read models as aligned text, CSV, JSON or an XLSX workbook.
//!
//! Without `--as-of`/`--effective-at` the live read model is read; with either, the
//! projections crate folds the log in memory for that view. JSON is the report structure
//! itself; the other formats render its tables (CSV: the main table only; XLSX: one sheet
//! per table, a header row and typed number cells).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{Datelike, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use seguimiento_projections::models::{
    cabinet, correspondence, petitions, press_conferences, semaforo,
};
use seguimiento_projections::{Scope as SemaforoScope, View};
use serde::Serialize;

use crate::cli::{Format, ReportArgs, Scope};
use crate::util;

/// A cell of a rendered table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(u64),
    Num(Decimal),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Num(d) => format!("{:.2}", d.round_dp(2)),
        }
    }

    fn is_number(&self) -> bool {
        !matches!(self, Cell::Text(_))
    }
}

fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

/// One table of a report.
#[derive(Debug, Clone)]
pub struct Table {
    /// Sheet name (≤ 31 chars) and section title.
    pub title: String,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

pub async fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    if args.format == Format::Xlsx && args.out.is_none() {
        anyhow::bail!("--format xlsx needs --out FILE.xlsx");
    }
    let app = util::open(&args.db).await?;
    let store = app.store();
    let view = View {
        as_of: args.as_of.map(|t| t.0),
        effective_at: args.effective_at.map(|t| t.0),
    };
    let instant = view.instant().unwrap_or_else(Utc::now);
    let year = args
        .year
        .unwrap_or_else(|| instant.with_timezone(&util::sonora()).year());
    let fail = |e: seguimiento_projections::ProjectionError| anyhow::anyhow!("report failed: {e}");
    if view.is_live() {
        warn_if_behind(store, projection_of(args.scope)).await;
    }
    let (json, tables) = match args.scope {
        Scope::SemaforoCompromisos | Scope::SemaforoGabinete | Scope::SemaforoActividades => {
            let scope = match args.scope {
                Scope::SemaforoCompromisos => SemaforoScope::CommitmentActions,
                Scope::SemaforoGabinete => SemaforoScope::CabinetAgreements,
                _ => SemaforoScope::Activities,
            };
            let r = semaforo::query(store, scope, view, None)
                .await
                .map_err(fail)?;
            (to_json(&r)?, semaforo_tables(&r))
        }
        Scope::Cabinet => {
            let r = cabinet::query(store, view, args.year).await.map_err(fail)?;
            (to_json(&r)?, cabinet_tables(&r))
        }
        Scope::Correspondence => {
            let r = correspondence::query(store, view, year)
                .await
                .map_err(fail)?;
            (to_json(&r)?, correspondence_tables(&r))
        }
        Scope::Petitions => {
            let r = petitions::query(store, view, year).await.map_err(fail)?;
            (to_json(&r)?, petitions_tables(&r))
        }
        Scope::PressConferences => {
            let period = press_conferences::query_period(store, view, year)
                .await
                .map_err(fail)?;
            let register = press_conferences::query_list(store, view, Some(year))
                .await
                .map_err(fail)?;
            let tables = press_conference_tables(&period, &register);
            let json = serde_json::json!({"period": period, "conferences": register});
            (to_json(&json)?, tables)
        }
    };
    match args.format {
        Format::Json => {
            let mut out = util::output(args.out.as_deref())?;
            writeln!(out, "{json}")?;
            out.flush()?;
        }
        Format::Csv => {
            let out = util::output(args.out.as_deref())?;
            write_csv(out, tables.first().context("the report has no table")?)?;
        }
        Format::Table => {
            let mut out = util::output(args.out.as_deref())?;
            write_text(&mut out, &tables)?;
            out.flush()?;
        }
        Format::Xlsx => {
            let path = args.out.as_deref().context("--format xlsx needs --out")?;
            write_xlsx(path, &tables)?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The projection a scope reads.
fn projection_of(scope: Scope) -> &'static str {
    match scope {
        Scope::Correspondence => "correspondence",
        Scope::Petitions => "petitions",
        Scope::PressConferences => "press_conferences",
        _ => "compliance",
    }
}

/// The live tables answer only as far as the runner got: say so when they lag.
async fn warn_if_behind(store: &seguimiento_eventstore::EventStore, projection: &str) {
    if let Ok(status) = seguimiento_projections::status_of(store, &[projection]).await {
        for s in status.iter().filter(|s| s.lag > 0) {
            eprintln!(
                "note: projection {} is {} events behind the log (run `seguimiento serve` or \
                 `seguimiento rebuild`, or pass --as-of/--effective-at to fold the log)",
                s.name, s.lag
            );
        }
    }
}

fn to_json<T: Serialize>(report: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(report)?)
}

fn semaforo_tables(r: &semaforo::SemaforoReport) -> Vec<Table> {
    let investment = r.scope == SemaforoScope::CommitmentActions;
    let mut headers = vec![
        "clave",
        "nombre",
        "asignados",
        "elementos",
        "concluidos",
        "en_proceso",
        "pendientes",
        "vencidos",
        "cumplimiento_pct",
        "cumplimiento",
    ];
    if investment {
        headers.push("inversion_mxn");
    }
    let row = |s: &semaforo::SemaforoRow| {
        let mut cells = vec![
            t(&s.key),
            t(&s.name),
            Cell::Int(s.assigned),
            Cell::Int(s.items),
            Cell::Int(s.concluded),
            Cell::Int(s.in_progress),
            Cell::Int(s.pending),
            Cell::Int(s.overdue),
            Cell::Num(s.compliance_pct.0),
            Cell::Int(s.compliance_whole),
        ];
        if investment {
            // A sum that could not be computed names its cause instead of a figure.
            cells.push(match (&s.investment_mxn, &s.error) {
                (Some(text), _) => match text.parse::<Decimal>() {
                    Ok(d) => Cell::Num(d),
                    Err(_) => t(text),
                },
                (None, Some(e)) => t(match e.position {
                    Some(p) => format!("{} (posición {p})", e.code),
                    None => e.code.clone(),
                }),
                (None, None) => t(""),
            });
        }
        cells
    };
    let mut rows: Vec<Vec<Cell>> = r.rows.iter().map(row).collect();
    rows.push(row(&r.total));
    let title = match r.scope {
        SemaforoScope::CommitmentActions => "Semaforo compromisos",
        SemaforoScope::CabinetAgreements => "Semaforo gabinete",
        SemaforoScope::Activities => "Semaforo actividades",
    };
    vec![Table {
        title: format!("{title} {}", r.report_date),
        headers,
        rows,
    }]
}

fn cabinet_tables(r: &cabinet::CabinetReport) -> Vec<Table> {
    let mut rows: Vec<Vec<Cell>> = r
        .rows
        .iter()
        .map(|m| {
            vec![
                t(&m.label),
                Cell::Int(m.meetings_held),
                Cell::Int(m.agreements),
                Cell::Int(m.concluded),
                Cell::Int(m.in_progress),
                Cell::Int(m.pending),
                Cell::Num(m.general_compliance_pct.0),
            ]
        })
        .collect();
    let s = &r.summary;
    rows.push(vec![
        t("TOTAL"),
        Cell::Int(r.rows.iter().map(|m| m.meetings_held).sum()),
        Cell::Int(s.agreements),
        Cell::Int(s.concluded),
        Cell::Int(s.in_progress),
        Cell::Int(s.pending),
        Cell::Num(s.compliance_pct.0),
    ]);
    let title = match r.year {
        Some(y) => format!("Gabinetes {y}"),
        None => "Gabinetes".to_owned(),
    };
    vec![Table {
        title,
        headers: vec![
            "gabinete",
            "reuniones",
            "acuerdos",
            "concluidos",
            "en_proceso",
            "pendientes",
            "cumplimiento_pct",
        ],
        rows,
    }]
}

fn month_counts(label: Cell, c: &correspondence::MonthCounts) -> Vec<Cell> {
    vec![
        label,
        Cell::Int(c.relevantes),
        Cell::Int(c.ccp),
        Cell::Int(c.folios_dggd),
        Cell::Int(c.oficios_dggd),
        Cell::Int(c.expedientes_dggd),
        Cell::Int(c.seguimientos_dggd),
        Cell::Int(c.folios_oee),
        Cell::Int(c.oficios_oee),
        Cell::Int(c.expedientes_oee),
    ]
}

const MONTHS: [&str; 12] = [
    "ENERO",
    "FEBRERO",
    "MARZO",
    "ABRIL",
    "MAYO",
    "JUNIO",
    "JULIO",
    "AGOSTO",
    "SEPTIEMBRE",
    "OCTUBRE",
    "NOVIEMBRE",
    "DICIEMBRE",
];

fn month_label(m: u32) -> Cell {
    let i = (m as usize).wrapping_sub(1);
    t(MONTHS.get(i).copied().unwrap_or("?"))
}

fn correspondence_tables(r: &correspondence::CorrespondenceReport) -> Vec<Table> {
    let mut rows: Vec<Vec<Cell>> = r
        .months
        .iter()
        .map(|m| month_counts(month_label(m.month), &m.counts))
        .collect();
    rows.push(month_counts(t("TOTAL"), &r.total));
    let agencies = r
        .agencies
        .iter()
        .map(|a| {
            vec![
                t(&a.agency),
                Cell::Int(a.letters_turned),
                Cell::Num(a.within_48h_pct.0),
                Cell::Int(a.unanswered),
                Cell::Num(a.median_turn_hours.0),
            ]
        })
        .collect();
    vec![
        Table {
            title: format!("Correspondencia {}", r.year),
            headers: vec![
                "mes",
                "relevantes",
                "ccp",
                "folios_dggd",
                "oficios_dggd",
                "expedientes_dggd",
                "seguimientos_dggd",
                "folios_oee",
                "oficios_oee",
                "expedientes_oee",
            ],
            rows,
        },
        Table {
            title: format!("Turnos {}", r.year),
            headers: vec![
                "dependencia",
                "turnados",
                "en_48h_pct",
                "sin_respuesta",
                "mediana_horas",
            ],
            rows: agencies,
        },
    ]
}

fn petitions_tables(r: &petitions::PetitionsReport) -> Vec<Table> {
    let row = |label: Cell, m: &petitions::PetitionMonthRow| {
        vec![
            label,
            Cell::Int(m.received),
            Cell::Int(m.turned),
            Cell::Int(m.follow_ups),
            Cell::Int(m.tours),
            Cell::Int(m.tour_follow_ups),
            Cell::Int(m.attended),
            Cell::Int(m.closed),
        ]
    };
    let mut rows: Vec<Vec<Cell>> = r
        .months
        .iter()
        .map(|m| row(month_label(m.month), m))
        .collect();
    rows.push(row(t("TOTAL"), &r.total));
    let mut breakdown: Vec<Vec<Cell>> = Vec::new();
    for c in &r.total.by_topic {
        breakdown.push(vec![t("tema"), t(c.topic.as_str()), Cell::Int(c.count)]);
    }
    for c in &r.total.by_channel {
        breakdown.push(vec![t("canal"), t(c.channel.as_str()), Cell::Int(c.count)]);
    }
    // Without a goal for the year the two rows say so rather than show a zero.
    let goal = r.annual_goal.map_or_else(|| t("N/D"), Cell::Int);
    let pct = r.goal_pct.map_or_else(|| t("N/D"), |p| Cell::Num(p.0));
    breakdown.push(vec![t("meta"), t("ATENDIDAS"), goal]);
    breakdown.push(vec![t("meta"), t("AVANCE_PCT"), pct]);
    vec![
        Table {
            title: format!("Peticiones {}", r.year),
            headers: vec![
                "mes",
                "recibidas",
                "turnadas",
                "seguimientos",
                "giras",
                "seguimientos_gira",
                "atendidas",
                "cerradas",
            ],
            rows,
        },
        Table {
            title: format!("Peticiones por tema {}", r.year),
            headers: vec!["tipo", "valor", "total"],
            rows: breakdown,
        },
    ]
}

fn press_conference_tables(
    period: &press_conferences::PeriodReport,
    register: &[press_conferences::ConferenceDoc],
) -> Vec<Table> {
    let month = |label: Cell, m: &press_conferences::ConferenceMonth| {
        vec![
            label,
            Cell::Int(m.president_morning),
            Cell::Int(m.governor),
            Cell::Int(m.total),
        ]
    };
    let mut months: Vec<Vec<Cell>> = period
        .months
        .iter()
        .map(|m| month(month_label(m.month), m))
        .collect();
    let (president, governor) = period.months.iter().fold((0, 0), |(p, g), m| {
        (p + m.president_morning, g + m.governor)
    });
    months.push(vec![
        t("TOTAL"),
        Cell::Int(president),
        Cell::Int(governor),
        Cell::Int(period.total),
    ]);
    let topics = period
        .topics
        .iter()
        .map(|c| vec![t(&c.topic), Cell::Int(c.conferences)])
        .collect();
    let conferences = register
        .iter()
        .map(|c| {
            vec![
                t(c.date.to_string()),
                t(c.kind.code()),
                t(&c.presided_by),
                t(&c.topic),
                t(&c.venue),
                Cell::Int(u64::from(c.duration_minutes)),
                Cell::Int(c.participants.len() as u64),
                Cell::Int(c.interventions.len() as u64),
                Cell::Int(c.instructions.len() as u64),
            ]
        })
        .collect();
    vec![
        Table {
            title: format!("Ruedas de prensa {}", period.year),
            headers: vec!["mes", "presidente", "gobernador", "total"],
            rows: months,
        },
        Table {
            title: format!("Temas {}", period.year),
            headers: vec!["tema", "conferencias"],
            rows: topics,
        },
        Table {
            title: format!("Conferencias {}", period.year),
            headers: vec![
                "fecha",
                "tipo",
                "preside",
                "tema",
                "sede",
                "minutos",
                "participantes",
                "intervenciones",
                "instrucciones",
            ],
            rows: conferences,
        },
        Table {
            title: format!("Instrucciones {}", period.year),
            headers: vec!["instrucciones", "cumplimiento_pct"],
            rows: vec![vec![
                Cell::Int(period.instructions),
                Cell::Num(period.instruction_compliance_pct.0),
            ]],
        },
    ]
}

fn write_csv(out: Box<dyn Write>, table: &Table) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(&table.headers)?;
    for row in &table.rows {
        w.write_record(row.iter().map(Cell::text))?;
    }
    w.flush()?;
    Ok(())
}

/// Aligned plain text: text columns left, numbers right.
fn write_text(out: &mut dyn Write, tables: &[Table]) -> std::io::Result<()> {
    for (i, table) in tables.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}", table.title)?;
        let texts: Vec<Vec<String>> = table
            .rows
            .iter()
            .map(|r| r.iter().map(Cell::text).collect())
            .collect();
        let mut widths: Vec<usize> = table.headers.iter().map(|h| h.chars().count()).collect();
        for row in &texts {
            for (i, c) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(c.chars().count());
                }
            }
        }
        let numeric: Vec<bool> = (0..widths.len())
            .map(|i| {
                table
                    .rows
                    .iter()
                    .all(|r| r.get(i).is_none_or(Cell::is_number))
                    && !table.rows.is_empty()
            })
            .collect();
        let line = |cells: &[String]| -> String {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                let w = widths.get(i).copied().unwrap_or(0);
                let pad = w.saturating_sub(c.chars().count());
                if i > 0 {
                    s.push_str("  ");
                }
                if numeric.get(i).copied().unwrap_or(false) {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.push_str(&" ".repeat(pad));
                }
            }
            s.trim_end().to_owned()
        };
        let headers: Vec<String> = table.headers.iter().map(|h| (*h).to_owned()).collect();
        writeln!(out, "{}", line(&headers))?;
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        writeln!(out, "{}", line(&rule))?;
        for row in &texts {
            writeln!(out, "{}", line(row))?;
        }
    }
    Ok(())
}

/// Sheet names: at most 31 characters, none of `[]:*?/\`, unique.
fn sheet_name(title: &str, used: &mut Vec<String>) -> String {
    let clean: String = title
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(28)
        .collect();
    let mut name = clean.clone();
    let mut n = 2;
    while used.contains(&name) {
        name = format!("{clean} {n}");
        n += 1;
    }
    used.push(name.clone());
    name
}

fn write_xlsx(path: &Path, tables: &[Table]) -> anyhow::Result<()> {
    use rust_xlsxwriter::{Format as XFormat, Workbook};
    let mut wb = Workbook::new();
    let bold = XFormat::new().set_bold();
    let decimal = XFormat::new().set_num_format("0.00");
    let mut used = Vec::new();
    for table in tables {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(&table.title, &mut used))?;
        for (c, h) in table.headers.iter().enumerate() {
            ws.write_string_with_format(0, col(c)?, *h, &bold)?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).context("too many rows for a sheet")?;
            for (c, cell) in row.iter().enumerate() {
                let c = col(c)?;
                match cell {
                    Cell::Text(s) => {
                        ws.write_string(r, c, s)?;
                    }
                    Cell::Int(n) => {
                        // Counts are far below 2^53: exact as f64.
                        ws.write_number(r, c, *n as f64)?;
                    }
                    Cell::Num(d) => {
                        let v = d.to_f64().context("a number does not fit a cell")?;
                        ws.write_number_with_format(r, c, v, &decimal)?;
                    }
                }
            }
        }
        ws.set_freeze_panes(1, 0)?;
        ws.autofit();
    }
    wb.save(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn col(c: usize) -> anyhow::Result<u16> {
    u16::try_from(c).context("too many columns")
}
