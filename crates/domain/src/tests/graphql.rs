//! The command inputs are usable as GraphQL mutation inputs as they are.

use async_graphql::{EmptySubscription, Object, Schema};

use crate::command::*;
use crate::values::{MeetingType, Mxn};

struct Query;

#[Object]
impl Query {
    async fn code(&self, meeting_type: MeetingType) -> String {
        meeting_type.to_string()
    }
}

struct Mutation;

#[Object]
impl Mutation {
    async fn create_agreement(&self, input: CreateAgreementInput) -> String {
        input.description
    }
    async fn receive_petition(&self, input: ReceivePetitionInput) -> String {
        input.municipality
    }
    async fn register_action(&self, input: RegisterActionInput) -> Mxn {
        input.investment_mxn
    }
    async fn change_stage(&self, input: ChangeInstructionStageInput) -> bool {
        input.agreement_id.is_nil()
    }
    async fn turn_petition(&self, input: TurnPetitionInput) -> bool {
        input.petition_id.is_nil()
    }
}

#[test]
fn the_schema_exposes_inputs_scalars_and_enums() {
    let sdl = Schema::new(Query, Mutation, EmptySubscription).sdl();
    for needle in [
        "scalar Mxn",
        "scalar Progress",
        "input CreateAgreementInput",
        "input YearBudgetInput",
        "input CitizenContactInput",
        "input TurnTargetInput @oneOf",
        "scalar MeetingType",
        "EJECUCION_100",
        "amountMxn: Mxn!",
    ] {
        assert!(sdl.contains(needle), "missing {needle} in\n{sdl}");
    }
}

#[test]
fn an_invalid_amount_is_refused_by_the_scalar() {
    let schema = Schema::new(Query, Mutation, EmptySubscription);
    let query = |amount: &str| {
        format!(
            r#"mutation {{ registerAction(input: {{number: 1, actionId: "00000000-0000-0000-0000-000000000007",
               agency: "CEA", description: "d", status: PENDING, investmentMxn: {amount},
               date: "2023-01-01"}}) }}"#
        )
    };
    let ok = futures_lite_block_on(schema.execute(query("\"1234.5\"")));
    assert!(ok.errors.is_empty(), "{:?}", ok.errors);
    assert_eq!(ok.data.to_string(), r#"{registerAction: "1234.50"}"#);
    let bad = futures_lite_block_on(schema.execute(query("\"-3\"")));
    assert!(!bad.errors.is_empty());
}

#[test]
fn a_catalogue_code_is_read_from_a_string_or_from_the_enum_literal_of_earlier_versions() {
    let schema = Schema::new(Query, Mutation, EmptySubscription);
    for arg in ["\"PRIORITY_WATER\"", "PRIORITY_WATER"] {
        let r = futures_lite_block_on(schema.execute(format!("{{ code(meetingType: {arg}) }}")));
        assert!(r.errors.is_empty(), "{arg}: {:?}", r.errors);
        assert_eq!(r.data.to_string(), r#"{code: "PRIORITY_WATER"}"#);
    }
    let bad = futures_lite_block_on(schema.execute("{ code(meetingType: 41.5) }"));
    let message = &bad.errors[0].message;
    assert!(message.contains("catalogue code"), "{message}");
    assert!(
        !message.contains("41.5"),
        "the value is not repeated: {message}"
    );
}

/// A minimal executor: the schema's futures here never wait on I/O.
fn futures_lite_block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
