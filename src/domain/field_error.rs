//! What a failed validation says: each faulty field by name, with why. The rules here
//! build these; the edge (`crate::error`) puts them in its problem document and decides
//! the HTTP status.

use serde::Serialize;
use utoipa::ToSchema;

/// One invalid input: which field (a JSON member, query or path parameter) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Records a field's validation failure in `errors`, yielding its value when valid: for
/// validations that go on to report every faulty field.
pub fn field<T>(errors: &mut Vec<FieldError>, name: &str, result: Result<T, String>) -> Option<T> {
    result
        .map_err(|message| errors.push(FieldError::new(name, message)))
        .ok()
}
