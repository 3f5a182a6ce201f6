//! Validation problems, each naming the field, the bad value and what is allowed.

use std::fmt;

/// Longest excerpt of a bad value quoted back in an error (model output can be huge).
const MAX_QUOTED_VALUE_CHARS: usize = 80;

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ValidationError {
    /// The field at fault, e.g. `zone` or `assumptions[2]`.
    pub field: String,
    /// The offending value, quoted and escaped so that it stays on one line
    /// (empty when the value is missing).
    pub value: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl ValidationError {
    /// A problem with a textual value; the value is escaped and shortened for display.
    pub fn new(field: impl Into<String>, value: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            value: quote_value(value),
            message: message.into(),
        }
    }

    /// A problem whose value is already display-safe (numbers, `null`, JSON type names).
    pub fn with_raw_value(
        field: impl Into<String>,
        value: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            value: value.into(),
            message: message.into(),
        }
    }

    /// A required value that is absent.
    pub fn missing(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            value: String::new(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}: {}", self.field, self.message)
        } else {
            write!(f, "{} = {}: {}", self.field, self.value, self.message)
        }
    }
}

impl std::error::Error for ValidationError {}

/// Every problem found in one validation pass.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationErrors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ValidationError> {
        self.0.iter()
    }

    pub fn push(&mut self, error: ValidationError) {
        self.0.push(error);
    }

    /// The problems reported for one field.
    pub fn for_field<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a ValidationError> {
        self.0.iter().filter(move |e| e.field == field)
    }

    /// `Ok(value)` when no problem was collected, else all of them.
    pub fn into_result<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

impl IntoIterator for ValidationErrors {
    type Item = ValidationError;
    type IntoIter = std::vec::IntoIter<ValidationError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a ValidationError;
    type IntoIter = std::slice::Iter<'a, ValidationError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl From<Vec<ValidationError>> for ValidationErrors {
    fn from(errors: Vec<ValidationError>) -> Self {
        Self(errors)
    }
}

/// Quotes a value for an error message: escaped (no raw newlines or control characters,
/// so one problem stays one line) and shortened.
pub fn quote_value(value: &str) -> String {
    let mut shortened: String = value.chars().take(MAX_QUOTED_VALUE_CHARS).collect();
    if value.chars().count() > MAX_QUOTED_VALUE_CHARS {
        shortened.push('…');
    }
    format!("{shortened:?}")
}
