//! Benchmark sizes and what each one runs.

use std::time::Duration;

/// How big a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Size {
    /// Tiny (2k events): keeps the benchmark working in CI.
    Smoke,
    /// 100k events.
    Small,
    /// 1M events.
    Full,
}

/// Where the events come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// The deterministic 2023 demo dataset (~10k events at most), in process.
    Demo,
    /// `seguimiento gen` (Sonora volumes), decided in process.
    Gen,
}

/// The parameters of one run.
#[derive(Debug, Clone)]
pub struct Params {
    pub size: Size,
    /// Events of the largest level (figures 2–4, 6).
    pub events: usize,
    /// Events per writer variant of figure 1 (upper bound).
    pub append_events: usize,
    /// Time bound of each figure-1 variant.
    pub append_time: Duration,
    /// Requests per GraphQL load (upper bound).
    pub requests: usize,
    /// Time bound of each GraphQL load.
    pub request_time: Duration,
    /// The level closest to this many events runs figure 5.
    pub as_of_events: usize,
    pub source: Source,
    /// Only these figures (all when empty).
    pub only: Vec<u32>,
}

impl Params {
    pub fn for_size(size: Size) -> Self {
        match size {
            Size::Smoke => Params {
                size,
                events: 2_000,
                append_events: 100,
                append_time: Duration::from_secs(3),
                requests: 100,
                request_time: Duration::from_secs(3),
                as_of_events: 2_000,
                source: Source::Demo,
                only: Vec::new(),
            },
            Size::Small => Params {
                size,
                events: 100_000,
                append_events: 1_000,
                append_time: Duration::from_secs(10),
                requests: 3_000,
                request_time: Duration::from_secs(10),
                as_of_events: 100_000,
                source: Source::Gen,
                only: Vec::new(),
            },
            Size::Full => Params {
                size,
                events: 1_000_000,
                append_events: 3_000,
                append_time: Duration::from_secs(15),
                requests: 5_000,
                request_time: Duration::from_secs(15),
                as_of_events: 300_000,
                source: Source::Gen,
                only: Vec::new(),
            },
        }
    }

    /// Is figure `n` measured in this run?
    pub fn wants(&self, n: u32) -> bool {
        self.only.is_empty() || self.only.contains(&n)
    }

    /// The growth levels (1×, 4×, 16×): the largest is `events`. Without figure 8 (or
    /// figure 5 at a smaller level) only the largest is built.
    pub fn levels(&self) -> Vec<usize> {
        let all = [self.events / 16, self.events / 4, self.events];
        if self.wants(8) {
            return all.to_vec();
        }
        let as_of = self.closest_level(all);
        all.into_iter()
            .filter(|&l| l == self.events || (self.wants(5) && l == as_of))
            .collect()
    }

    fn closest_level(&self, levels: [usize; 3]) -> usize {
        levels
            .into_iter()
            .min_by_key(|l| l.abs_diff(self.as_of_events))
            .unwrap_or(self.events)
    }

    /// The level that runs figure 5.
    pub fn as_of_level(&self) -> usize {
        self.closest_level([self.events / 16, self.events / 4, self.events])
    }
}

impl Size {
    pub fn name(self) -> &'static str {
        match self {
            Size::Smoke => "smoke",
            Size::Small => "small",
            Size::Full => "full",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_with(only: &[u32]) -> Params {
        Params {
            only: only.to_vec(),
            ..Params::for_size(Size::Full)
        }
    }

    #[test]
    fn every_figure_and_level_by_default() {
        let p = full_with(&[]);
        assert!((1..=8).all(|f| p.wants(f)));
        assert_eq!(p.levels(), vec![62_500, 250_000, 1_000_000]);
    }

    #[test]
    fn a_selection_builds_only_the_levels_it_reports() {
        let p = full_with(&[7]);
        assert!(p.wants(7) && !p.wants(1) && !p.wants(8));
        assert_eq!(p.levels(), vec![1_000_000]);
        // Figure 5 runs at the level closest to its size (250k of the full run).
        assert_eq!(full_with(&[5]).levels(), vec![250_000, 1_000_000]);
        assert_eq!(
            full_with(&[2, 8]).levels(),
            vec![62_500, 250_000, 1_000_000]
        );
    }
}
