//! What `apply -invoke` runs: one action, and the single-use inputs of it that are minted
//! afresh first.
//!
//! Terraform 1.15 plans `-invoke` in refresh-only mode and refuses `-replace` outside the
//! normal mode, so the two cannot share one command: a renewed input is replaced by a
//! targeted apply of its own, checked to change nothing else, before the action is invoked.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use crate::error::RunnerError;

/// An action address: `action.<type>.<name>` (root module).
static ACTION_ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^action\.[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_-]*$")
        .expect("action address pattern")
});

/// A managed resource instance address: `[module.<name>[key].]...<type>.<name>[key]`.
static RESOURCE_ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    let name = r"[A-Za-z_][A-Za-z0-9_-]*";
    let key = r#"(\[(\d+|"[^"\\\]]*")\])?"#;
    Regex::new(&format!(
        r"^(?:module\.{name}{key}\.)*(?P<type>{name})\.{name}{key}$"
    ))
    .expect("resource address pattern")
});

/// The address of a Terraform action, e.g. `action.aap_job_launch.configure_vm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionAddress(String);

impl ActionAddress {
    pub fn parse(address: &str) -> Result<ActionAddress, RunnerError> {
        if ACTION_ADDRESS.is_match(address) {
            Ok(ActionAddress(address.to_owned()))
        } else {
            Err(RunnerError::InvalidSpec {
                field: "action",
                value: address.to_owned(),
                message: "must be an action address like action.aap_job_launch.configure_vm".into(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ActionAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The address of one managed resource instance, e.g.
/// `vault_approle_auth_backend_role_secret_id.configure`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceAddress(String);

impl ResourceAddress {
    pub fn parse(address: &str) -> Result<ResourceAddress, RunnerError> {
        // `module.x` names a module and `data.x.y` a data source, not a managed resource.
        let managed = RESOURCE_ADDRESS
            .captures(address)
            .is_some_and(|found| !matches!(&found["type"], "module" | "data"));
        if managed {
            Ok(ResourceAddress(address.to_owned()))
        } else {
            Err(RunnerError::InvalidSpec {
                field: "resource",
                value: address.to_owned(),
                message: "must be a managed resource instance address like vault_approle_auth_backend_role_secret_id.configure".into(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One `apply -invoke` of a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub action: ActionAddress,
    /// Resource instances the action's configuration reads that are good for one use
    /// only (a response-wrapped secret a previous run of the action used up, which the
    /// provider then drops from the state): each is replaced before the action runs, so
    /// that it gets a fresh one. Empty: the action is invoked on the state as it is.
    pub renew: Vec<ResourceAddress>,
}

impl Invocation {
    /// The action alone, on the state as it is.
    pub fn of(action: ActionAddress) -> Invocation {
        Invocation {
            action,
            renew: Vec::new(),
        }
    }

    /// With `resource` replaced first.
    pub fn renewing(mut self, resource: ResourceAddress) -> Invocation {
        self.renew.push(resource);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        assert!(ActionAddress::parse("action.aap_job_launch.configure_vm").is_ok());
        assert!(ActionAddress::parse("action.aap_job_launch.configure_vm -destroy").is_err());
        assert!(ActionAddress::parse("aap_job_launch.configure_vm").is_err());
        for good in [
            "vault_approle_auth_backend_role_secret_id.configure",
            "module.compute.google_compute_instance.vm[1]",
            "module.a[\"x\"].terraform_data.b[\"key\"]",
        ] {
            assert!(ResourceAddress::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "data.vault_policy_document.x",
            "module.network.data.google_compute_network.x",
            "-replace=foo.bar",
            "foo",
            "module.compute",
            "foo.bar baz",
        ] {
            let err = ResourceAddress::parse(bad).unwrap_err().to_string();
            assert!(err.contains("managed resource instance address"), "{err}");
        }
    }
}
