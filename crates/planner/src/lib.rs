//! Turns a plain-language request into a validated DeploymentRequest: OpenAI planner and offline rule-based planner.
