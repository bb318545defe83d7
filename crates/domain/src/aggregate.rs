//! What every aggregate is ([`Aggregate`]) and the macro that lists them in
//! [`crate::registry`]: from that one list come [`AggregateKind`](crate::AggregateKind),
//! [`StreamState`](crate::StreamState), [`fold_as`](crate::fold_as) and the dispatch of
//! [`decide`](crate::decide).

use crate::{Command, Context, DomainError, DomainEvent};

/// The state of one kind of stream: a pure fold of its events that decides its commands.
pub trait Aggregate: Default {
    /// Folds one event of its stream.
    fn apply(&mut self, event: &DomainEvent);

    /// The events a command of this aggregate decides on this state, or why not. The
    /// command's input has passed its checks ([`Command::check`]) already.
    fn decide(&self, cmd: &Command, ctx: &Context) -> Result<Vec<DomainEvent>, DomainError>;

    /// Folds a whole history, oldest first.
    fn from_events(history: &[DomainEvent]) -> Self {
        let mut state = Self::default();
        history.iter().for_each(|e| state.apply(e));
        state
    }
}

/// Declares every aggregate once: its kind, its state (an [`Aggregate`], by its path from
/// the crate root) and its name in messages.
macro_rules! aggregates {
    ($( $(#[$doc:meta])* $kind:ident($($state:ident)::+) => $name:literal; )*) => {
        /// Which aggregate (and so which kind of stream) an event or command belongs to.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::VariantArray)]
        pub enum AggregateKind {
            $( $(#[$doc])* $kind, )*
        }

        impl AggregateKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [AggregateKind] = <Self as strum::VariantArray>::VARIANTS;

            pub fn name(self) -> &'static str {
                match self {
                    $( AggregateKind::$kind => $name, )*
                }
            }
        }

        /// A stream folded into the state of its aggregate.
        #[derive(Debug, Clone, PartialEq)]
        pub enum StreamState {
            /// No events yet.
            Empty,
            $( $kind($crate::$($state)::+), )*
        }

        /// Folds a history as the given aggregate (an empty history gives its empty state).
        pub fn fold_as(kind: AggregateKind, history: &[$crate::DomainEvent]) -> StreamState {
            use $crate::Aggregate as _;
            match kind {
                $( AggregateKind::$kind => {
                    StreamState::$kind(<$crate::$($state)::+>::from_events(history))
                } )*
            }
        }

        /// Decides a command on a folded stream (an empty stream decides nothing).
        pub(crate) fn decide_on(
            state: &StreamState,
            cmd: &$crate::Command,
            ctx: &$crate::Context,
        ) -> Result<Vec<$crate::DomainEvent>, $crate::DomainError> {
            use $crate::Aggregate as _;
            match state {
                StreamState::Empty => Ok(Vec::new()),
                $( StreamState::$kind(s) => s.decide(cmd, ctx), )*
            }
        }
    };
}
pub(crate) use aggregates;
