//! What the report structs need to derive their GraphQL types (feature `graphql`): a
//! [`Pct`] is shown as the published two-decimal string.

use std::borrow::Cow;

use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{ContextSelectionSet, OutputType, Positioned, ServerResult, Value};

use crate::models::Pct;

/// A GraphQL `String` ("93.48"): the schema shows no type of its own.
impl OutputType for Pct {
    fn type_name() -> Cow<'static, str> {
        <String as OutputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <String as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        OutputType::resolve(&self.to_string(), ctx, field).await
    }
}
