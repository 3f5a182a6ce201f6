//! The model planner: asks an OpenAI-compatible chat-completions API for the deployment
//! fields, validates the answer like any other draft, sends the problems back once
//! ("repair" turn), and holds the result to what the user wrote explicitly.

use std::sync::Arc;
use std::time::Instant;

use promptops_core::{
    Catalog, DeploymentDraft, DeploymentRequest, ExpiryRequest, Policy, ValidationError,
    ValidationErrors, resolve,
};
use secrecy::SecretString;
use serde_json::Value;

use crate::chat::{ChatAnswer, ChatClient, ChatMessage};
use crate::edit::fill_from_current;
use crate::mentions::Mentions;
use crate::observe::{Observer, PlanObservation, PlanResult, PlannerKind, PlannerObserver};
use crate::screen;
use crate::{
    PlanError, PlanInput, PlanOutcome, PlannerSettings, RetryPolicy, TokenUsage, extract, prompt,
    schema,
};

/// What the request states that the model's answer must keep.
struct Stated<'a> {
    mentions: &'a Mentions,
    lifetime: Option<&'a ExpiryRequest>,
}

#[derive(Debug)]
pub struct OpenAiPlanner {
    client: ChatClient,
    observer: Observer,
}

/// Why one answer could not be used.
enum Failure {
    /// No JSON object, a refusal, a cut-off answer.
    Unusable(String),
    /// Wrong types, unknown keys, catalog or policy problems.
    Invalid(ValidationErrors),
    /// Valid, but contradicts what the user wrote.
    Mismatch(ValidationErrors),
}

impl Failure {
    fn describe(&self) -> String {
        match self {
            Failure::Unusable(reason) => format!("- {reason}"),
            Failure::Invalid(errors) => prompt::problem_list(errors),
            Failure::Mismatch(errors) => format!(
                "{}\n(The user stated these values explicitly; the plan must keep them.)",
                prompt::problem_list(errors)
            ),
        }
    }

    fn into_plan_error(self) -> PlanError {
        match self {
            Failure::Unusable(reason) => PlanError::ModelOutputUnusable(reason),
            Failure::Invalid(errors) => PlanError::Rejected(errors),
            Failure::Mismatch(errors) => PlanError::MismatchWithRequest(errors),
        }
    }
}

impl OpenAiPlanner {
    pub fn new(settings: &PlannerSettings, api_key: SecretString, retry: RetryPolicy) -> Self {
        OpenAiPlanner {
            client: ChatClient::new(
                &settings.base_url,
                api_key,
                settings.model.clone(),
                settings.timeout,
                settings.max_attempts,
                retry,
            ),
            observer: Observer::default(),
        }
    }

    /// Reports every plan, model request and retry to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn PlannerObserver>) -> Self {
        self.client.set_observer(Observer(Arc::clone(&observer)));
        self.observer = Observer(observer);
        self
    }

    /// "model <name>", as written into the tfvars header and the PR.
    pub fn describe(&self) -> String {
        format!("model {}", self.client.model())
    }

    pub async fn plan(
        &self,
        input: &PlanInput,
        catalog: &Catalog,
        policy: &Policy,
    ) -> Result<PlanOutcome, PlanError> {
        let started = Instant::now();
        let result = self.plan_with_model(input, catalog, policy).await;
        self.observer.0.plan_finished(&PlanObservation {
            planner: PlannerKind::Model,
            result: PlanResult::of(&result),
            latency: started.elapsed(),
        });
        result
    }

    async fn plan_with_model(
        &self,
        input: &PlanInput,
        catalog: &Catalog,
        policy: &Policy,
    ) -> Result<PlanOutcome, PlanError> {
        // What is not a request, and names the catalog does not know, are refused before any
        // tokens are spent.
        if let Some(refusal) = screen::refusal_of_text(input) {
            return Err(PlanError::NotARequest(refusal));
        }
        let mentions = Mentions::for_input(input, catalog).map_err(PlanError::UnknownMention)?;
        // Phrases that cannot be planned as written ("add 2 more VMs" to nothing) are not
        // left to the model to guess.
        if !mentions.unclear.is_empty() {
            return Err(PlanError::AmbiguousMention(ValidationErrors(
                mentions.unclear.clone(),
            )));
        }
        if let Some(refusal) = screen::refusal_of_mentions(&mentions, input) {
            return Err(PlanError::NotARequest(refusal));
        }
        let ignored = screen::ignored_parts(&screen::request_text(input));
        // The lifetime the request states in words the offline reader knows: the model's
        // expiry must give the same end (it may read more phrasings where this reads none).
        let lifetime = crate::lifetime::read(&screen::request_text(input))
            .ok()
            .and_then(|reading| reading.expiry);
        let mut stated = mentions.summary();
        if let Some(expiry) = &lifetime {
            stated.push(format!("lifetime: {expiry}"));
        }
        let stated_values = Stated {
            mentions: &mentions,
            lifetime: lifetime.as_ref(),
        };
        let response_format = schema::response_format(catalog);
        let mut messages = vec![
            ChatMessage::system(prompt::system_prompt(catalog, policy)),
            ChatMessage::user(prompt::with_stated_values(
                prompt::user_message(input),
                &stated,
            )),
        ];
        let mut usage = TokenUsage::default();

        let first = self.client.complete(&messages, &response_format).await?;
        usage += first.usage.unwrap_or_default();
        let failure = match self.evaluate(&first, input, &stated_values, catalog, policy) {
            Ok(planned) => return Ok(self.outcome(planned, usage, Vec::new(), ignored)),
            Err(failure) => failure,
        };
        let problems = failure.describe();
        tracing::info!(model = %self.client.model(), %problems, "model answer rejected; sending a repair turn");
        messages.push(ChatMessage::assistant(first.content.unwrap_or_default()));
        messages.push(ChatMessage::user(prompt::repair_message(&problems)));

        let second = self.client.complete(&messages, &response_format).await?;
        usage += second.usage.unwrap_or_default();
        match self.evaluate(&second, input, &stated_values, catalog, policy) {
            Ok(planned) => {
                let note = format!(
                    "The model's first answer was corrected after these problems:\n{problems}"
                );
                Ok(self.outcome(planned, usage, vec![note], ignored))
            }
            Err(failure) => {
                tracing::info!(model = %self.client.model(), problems = %failure.describe(), "repaired answer rejected too");
                Err(failure.into_plan_error())
            }
        }
    }

    fn evaluate(
        &self,
        answer: &ChatAnswer,
        input: &PlanInput,
        stated: &Stated<'_>,
        catalog: &Catalog,
        policy: &Policy,
    ) -> Result<(DeploymentRequest, Option<ExpiryRequest>), Failure> {
        if let Some(refusal) = &answer.refusal {
            return Err(Failure::Unusable(format!(
                "the model refused: {}",
                excerpt(refusal)
            )));
        }
        if answer.finish_reason.as_deref() == Some("length") {
            return Err(Failure::Unusable(
                "the answer was cut off at the token limit".to_owned(),
            ));
        }
        let content = answer.content.as_deref().unwrap_or_default();
        let object = extract::json_object(content).map_err(Failure::Unusable)?;
        let object = Value::Object(object);
        let mut draft = DeploymentDraft::from_json(&object).map_err(Failure::Invalid)?;
        // `from_json` has reported a bad expiry with the draft's other problems.
        let expiry = object
            .as_object()
            .and_then(|fields| ExpiryRequest::from_model_json(fields).ok().flatten());
        let template_errors = template_syntax_in_free_text(&draft);
        if !template_errors.is_empty() {
            return Err(Failure::Invalid(ValidationErrors(template_errors)));
        }
        if let Some(current) = &input.current {
            fill_from_current(&mut draft, current, catalog);
        }
        let request = resolve(draft, catalog, policy).map_err(Failure::Invalid)?;
        let mut mismatches = stated.mentions.check(&request);
        mismatches.extend(stated.mentions.check_budget(&request, catalog));
        mismatches.extend(stated.mentions.check_machine_size(&request, catalog));
        if let Some(lifetime) = stated.lifetime {
            mismatches.extend(crate::lifetime::mismatch(lifetime, expiry.as_ref()));
        }
        if mismatches.is_empty() {
            Ok((request, expiry))
        } else {
            Err(Failure::Mismatch(ValidationErrors(mismatches)))
        }
    }

    fn outcome(
        &self,
        (mut request, expiry): (DeploymentRequest, Option<ExpiryRequest>),
        usage: TokenUsage,
        notes: Vec<String>,
        ignored: Vec<String>,
    ) -> PlanOutcome {
        // The text's unsupported parts are stated whatever the model wrote about them.
        let mut assumptions = ignored.clone();
        assumptions.append(&mut request.assumptions);
        request.assumptions = crate::offline::within_limits(assumptions);
        tracing::info!(
            model = %self.client.model(),
            prompt_tokens = usage.prompt_tokens,
            completion_tokens = usage.completion_tokens,
            deployment = %request.name,
            "plan accepted"
        );
        PlanOutcome {
            request,
            planned_by: self.describe(),
            usage: Some(usage),
            notes,
            ignored,
            expiry,
        }
    }
}

/// The free-text fields go to the pull request, never to tfvars; Terraform template syntax
/// in them is still refused, so that no reader or later tool can mistake it for code.
fn template_syntax_in_free_text(draft: &DeploymentDraft) -> Vec<ValidationError> {
    let texts = draft
        .rationale
        .iter()
        .map(|text| ("rationale".to_owned(), text))
        .chain(
            draft
                .assumptions
                .iter()
                .enumerate()
                .map(|(i, text)| (format!("assumptions[{i}]"), text)),
        );
    texts
        .filter(|(_, text)| text.contains("${") || text.contains("%{"))
        .map(|(field, text)| {
            ValidationError::new(
                field,
                text,
                "contains Terraform template syntax (`${` or `%{`); plain sentences only",
            )
        })
        .collect()
}

fn excerpt(text: &str) -> String {
    text.chars().take(300).collect()
}
