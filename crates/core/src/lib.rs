//! The pure core: GPU catalog, typed deployment request, validation, policy, cost and tfvars rendering.
