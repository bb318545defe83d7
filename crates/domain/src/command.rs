//! What users ask for (comandos). One variant per command, each wrapping an input struct
//! whose camelCase fields are the JSON (and, with feature `graphql`, the GraphQL input).
//! The commands are listed in [`crate::registry`]; each input is declared with `input!`
//! in its aggregate's module, with its [`Route`].
//!
//! JSON form: `{"command": "registerAgency", "input": {"acronym": "SIDUR", "name": "…"}}`.
//! Ids of new things (agreementId, activityId, meetingId, petitionId, actionId) are chosen
//! by the caller so a retried command is idempotent.

use crate::event::DomainEvent;
use crate::values::normalize_acronym;

pub use crate::registry::inputs::*;
pub use crate::registry::{Command, COMMAND_NAMES};

/// Declares a command input struct with the derives every one of them shares.
macro_rules! input {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        #[cfg_attr(feature = "graphql", derive(async_graphql::InputObject))]
        pub struct $name { $($(#[$fmeta])* pub $field: $ty),* }

        impl $crate::validate::Check for $name {
            fn check(&self, _field: &'static str) -> Result<(), $crate::DomainError> {
                $($crate::validate::Check::check(&self.$field, stringify!($field))?;)*
                Ok(())
            }
        }
    };
}
pub(crate) use input;

/// Where a command goes and whom it concerns, declared by its input beside its aggregate's
/// rules. The compiler asks every input listed in the registry for it.
pub trait Route {
    /// The stream the command reads and appends to.
    fn stream_id(&self) -> String;

    /// Adds the agencies whose records the command writes to, for authorizing a liaison:
    /// the agencies named in the input plus, for commands on existing items, the agencies
    /// the item is assigned or turned to according to `history` (the stream's events).
    /// None by default, which leaves the command to the Office alone.
    fn agencies_touched(&self, _history: &[DomainEvent], _out: &mut Agencies) {}

    /// The stream of another aggregate whose rules the command reads (the cabinet meeting
    /// or press conference an agreement comes from): the application loads it into
    /// [`crate::Context::referenced`] before deciding.
    fn reference(&self) -> Option<String> {
        None
    }

    /// The agency named in the input as the one a liaison writes for (an action is
    /// registered *by* an agency).
    fn agency(&self) -> Option<&str> {
        None
    }
}

/// Declares the [`Route`] of inputs that share it, in closure syntax: the stream of input
/// `i`, then (optionally) the agencies it touches given the input, the stream's history
/// and the list to add to:
///
/// ```ignore
/// route!(ReportAgreementProgressInput, CancelAgreementInput
///     => |i| agreement_stream(i.agreement_id),
///        |_, history, out| out.extend(agreement_agencies(history)));
/// ```
macro_rules! route {
    ($($input:ident),+ => |$i:ident| $stream:expr) => {
        $(impl $crate::command::Route for $input {
            fn stream_id(&self) -> String {
                let $i = self;
                $stream
            }
        })+
    };
    ($($input:ident),+ => |$i:ident| $stream:expr, |$ti:pat, $h:pat, $out:ident| $touched:expr) => {
        $(impl $crate::command::Route for $input {
            fn stream_id(&self) -> String {
                let $i = self;
                $stream
            }
            fn agencies_touched(
                &self,
                $h: &[$crate::DomainEvent],
                $out: &mut $crate::command::Agencies,
            ) {
                let $ti = self;
                $touched
            }
        })+
    };
}
pub(crate) use route;

/// Agencies a command touches: acronyms normalized, each once, in order of mention.
#[derive(Debug, Default)]
pub struct Agencies(Vec<String>);

impl Agencies {
    pub fn push(&mut self, acronym: &str) {
        let a = normalize_acronym(acronym);
        if !self.0.contains(&a) {
            self.0.push(a);
        }
    }

    pub fn into_vec(self) -> Vec<String> {
        self.0
    }

    pub fn extend<S: AsRef<str>>(&mut self, acronyms: impl IntoIterator<Item = S>) {
        acronyms.into_iter().for_each(|a| self.push(a.as_ref()));
    }
}

/// Declares every command once: its variant and input (its path from the crate root),
/// its name in JSON and GraphQL with the name of its mutation's resolver, who may write it
/// ([`Writer`]) and the aggregate it is decided against. The enum, [`Command::name`],
/// [`Command::check`], [`Command::writer`], [`Command::aggregate_kind`], the routing
/// methods (from each input's [`Route`]), [`COMMAND_NAMES`] and, through
/// [`for_each_command!`](crate::for_each_command), the API's mutations all come from this
/// one list, in [`crate::registry`]. (`$d` is a literal `$`, for the macro this one
/// defines.)
macro_rules! commands {
    ($d:tt $(
        $(#[$doc:meta])*
        $variant:ident($($input:ident)::+) => $name:literal, $resolver:ident, $writer:ident, $kind:ident;
    )*) => {
        /// Every command.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "command", content = "input", rename_all = "camelCase")]
        pub enum Command {
            $( $(#[$doc])* $variant($crate::$($input)::+), )*
        }

        /// Every command's input, re-exported from the aggregate module that declares it,
        /// so `command::*` names them all.
        pub mod inputs {
            $( pub use $crate::$($input)::+; )*
        }

        /// Every command's name, in declaration order.
        pub const COMMAND_NAMES: &[&str] = &[$($name),*];

        impl Command {
            /// Checks the input against the policy of [`crate::validate`] (text classes and
            /// lengths, amounts, years, numbers) before anything is decided or stored.
            pub fn check(&self) -> Result<(), $crate::DomainError> {
                match self {
                    $( Command::$variant(i) => $crate::validate::Check::check(i, "input"), )*
                }
            }

            /// The command name as in JSON and GraphQL (`registerAgency`).
            pub fn name(&self) -> &'static str {
                match self {
                    $( Command::$variant(_) => $name, )*
                }
            }

            /// Who may run the command: the Office registers, assigns, routes and cancels;
            /// an agency's liaison reports on what is assigned or turned to its own agency
            /// (see [`Writer`](crate::command::Writer)). The one table of write permissions; the README lists it.
            pub fn writer(&self) -> $crate::command::Writer {
                match self {
                    $( Command::$variant(_) => $crate::command::Writer::$writer, )*
                }
            }

            /// The aggregate the command is decided against.
            pub fn aggregate_kind(&self) -> $crate::AggregateKind {
                match self {
                    $( Command::$variant(_) => $crate::AggregateKind::$kind, )*
                }
            }

            /// The stream the command reads and appends to.
            pub fn stream_id(&self) -> String {
                match self {
                    $( Command::$variant(i) => $crate::command::Route::stream_id(i), )*
                }
            }

            /// The agencies whose records the command writes to, for authorizing a
            /// liaison (see [`Route::agencies_touched`](crate::command::Route)): acronyms
            /// normalized, without duplicates.
            pub fn agencies_touched(&self, history: &[$crate::DomainEvent]) -> Vec<String> {
                let mut out = $crate::command::Agencies::default();
                match self {
                    $( Command::$variant(i) => $crate::command::Route::agencies_touched(i, history, &mut out), )*
                }
                out.into_vec()
            }

            /// The stream of another aggregate the command's rules read, which the
            /// application loads into [`Context::referenced`](crate::Context) before
            /// deciding.
            pub fn reference(&self) -> Option<String> {
                match self {
                    $( Command::$variant(i) => $crate::command::Route::reference(i), )*
                }
            }

            /// The agency named in the input as the one a liaison writes for.
            pub fn agency(&self) -> Option<&str> {
                match self {
                    $( Command::$variant(i) => $crate::command::Route::agency(i), )*
                }
            }
        }

        /// Calls `$callback!` with every command as `resolver => Variant(Input);`, its doc
        /// comments first: how a layer above (the GraphQL mutations) declares one item per
        /// command without a list of its own.
        #[macro_export]
        macro_rules! for_each_command {
            ($d callback:ident) => {
                $d callback! {
                    $( $(#[$doc])* $resolver => $variant($d crate::$($input)::+); )*
                }
            };
        }
    };
}
pub(crate) use commands;

/// Who may run a command (besides an admin, who runs every command).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// Only the Office (admin tokens).
    Office,
    /// Also the liaison (capturista) of an agency the item is assigned or turned to, as
    /// the item's history says, never as the command's input says.
    AssignedAgency,
}
