//! PromptOps service.
