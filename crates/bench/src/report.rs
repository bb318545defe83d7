//! Figures, their targets, and the Markdown table.

use std::fmt::Write as _;

/// What a figure must reach to count as met.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    /// value / baseline ≥ this.
    pub min_ratio: Option<f64>,
    /// value / baseline ≤ this.
    pub max_ratio: Option<f64>,
    /// value ≥ this.
    pub min_value: Option<f64>,
    /// value < this.
    pub below: Option<f64>,
}

impl Target {
    pub fn none() -> Self {
        Target::default()
    }
    pub fn ratio_at_least(r: f64) -> Self {
        Target {
            min_ratio: Some(r),
            ..Target::default()
        }
    }
    pub fn ratio_at_most(r: f64) -> Self {
        Target {
            max_ratio: Some(r),
            ..Target::default()
        }
    }
    pub fn below(v: f64) -> Self {
        Target {
            below: Some(v),
            ..Target::default()
        }
    }
    pub fn and_min_value(mut self, v: f64) -> Self {
        self.min_value = Some(v);
        self
    }

    pub fn is_empty(&self) -> bool {
        *self == Target::default()
    }

    fn describe(&self, unit: &str) -> String {
        let mut parts = Vec::new();
        if let Some(v) = self.min_value {
            parts.push(format!("≥ {} {unit}", num(v)));
        }
        if let Some(v) = self.below {
            parts.push(format!("< {} {unit}", num(v)));
        }
        if let Some(r) = self.min_ratio {
            parts.push(format!("≥ {r} × baseline"));
        }
        if let Some(r) = self.max_ratio {
            parts.push(format!("≤ {r} × baseline"));
        }
        if parts.is_empty() {
            "—".to_owned()
        } else {
            parts.join(" and ")
        }
    }
}

/// One measured figure beside its baseline.
#[derive(Debug, Clone)]
pub struct Figure {
    /// "1", "2", ... as in the issue.
    pub number: u32,
    pub what: String,
    pub backend: String,
    pub value: f64,
    pub baseline: f64,
    pub unit: String,
    /// What the baseline is.
    pub baseline_is: String,
    pub target: Target,
}

impl Figure {
    pub fn new(number: u32, backend: &str, what: impl Into<String>, unit: &str) -> Self {
        Figure {
            number,
            what: what.into(),
            backend: backend.to_owned(),
            value: 0.0,
            baseline: 0.0,
            unit: unit.to_owned(),
            baseline_is: String::new(),
            target: Target::none(),
        }
    }
    pub fn value(mut self, v: f64) -> Self {
        self.value = v;
        self
    }
    pub fn baseline(mut self, v: f64, what: impl Into<String>) -> Self {
        self.baseline = v;
        self.baseline_is = what.into();
        self
    }
    pub fn target(mut self, t: Target) -> Self {
        self.target = t;
        self
    }

    pub fn ratio(&self) -> Option<f64> {
        (self.baseline > 0.0).then(|| self.value / self.baseline)
    }

    /// `None` when the figure has no target.
    pub fn met(&self) -> Option<bool> {
        if self.target.is_empty() {
            return None;
        }
        let t = &self.target;
        let ratio = self.ratio();
        let mut ok = true;
        if let Some(v) = t.min_value {
            ok &= self.value >= v;
        }
        if let Some(v) = t.below {
            ok &= self.value < v;
        }
        if let Some(r) = t.min_ratio {
            ok &= ratio.is_some_and(|x| x >= r);
        }
        if let Some(r) = t.max_ratio {
            ok &= ratio.is_some_and(|x| x <= r);
        }
        Some(ok)
    }

    /// Produced at all: a value and a baseline were measured.
    pub fn produced(&self) -> bool {
        self.value > 0.0 && self.baseline > 0.0 && self.value.is_finite()
    }
}

/// A number with a sensible precision (thousands separated).
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v.abs() >= 1000.0 {
        let s = format!("{:.0}", v.abs());
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push('\u{202f}');
            }
            out.push(c);
        }
        if v < 0.0 {
            out.insert(0, '-');
        }
        out
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The Markdown table of `figures`.
pub fn table(figures: &[Figure]) -> String {
    let mut out = String::new();
    out.push_str("| # | figure | backend | value | baseline | ratio | target | met? |\n");
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for f in figures {
        let ratio = f
            .ratio()
            .map_or_else(|| "—".to_owned(), |r| format!("{r:.2}"));
        let met = match f.met() {
            None => "—",
            Some(true) => "yes",
            Some(false) => "**NO**",
        };
        let baseline = if f.baseline > 0.0 {
            format!("{} {} ({})", num(f.baseline), f.unit, f.baseline_is)
        } else {
            "—".to_owned()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} {} | {} | {} | {} | {} |",
            f.number,
            f.what,
            f.backend,
            num(f.value),
            f.unit,
            baseline,
            ratio,
            f.target.describe(&f.unit),
            met
        );
    }
    out
}
