//! Reading the repository's Terraform files with hcl-rs, and evaluating the expressions of
//! `validation` blocks with the handful of Terraform functions they use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl::{Block, Body, Expression, Value};

/// The repository root (this crate lives in `crates/infra-contract`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn terraform_dir() -> PathBuf {
    repo_root().join("terraform")
}

/// All `*.tf` files of one directory (not recursive), parsed and concatenated as Terraform
/// does for a module.
pub fn parse_module(dir: &Path) -> Body {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "tf"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .tf files in {}", dir.display());
    let mut structures = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let body: Body = hcl::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not valid HCL: {e}", file.display()));
        structures.extend(body.into_inner());
    }
    Body::from(structures)
}

/// Blocks `ident "label0" "label1" ...` whose leading labels equal `labels`.
pub fn blocks<'a>(body: &'a Body, ident: &str, labels: &[&str]) -> Vec<&'a Block> {
    body.blocks()
        .filter(|b| b.identifier() == ident)
        .filter(|b| {
            b.labels().len() >= labels.len()
                && b.labels()
                    .iter()
                    .zip(labels)
                    .all(|(l, want)| l.as_str() == *want)
        })
        .collect()
}

/// Exactly one such block.
pub fn block<'a>(body: &'a Body, ident: &str, labels: &[&str]) -> &'a Block {
    let found = blocks(body, ident, labels);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one `{ident} {labels:?}` block, found {}",
        found.len()
    );
    found[0]
}

/// The expression of attribute `name` in `body`.
pub fn attr<'a>(body: &'a Body, name: &str) -> Option<&'a Expression> {
    body.attributes()
        .find(|a| a.key() == name)
        .map(|a| a.expr())
}

/// Same, failing the test with the block's description when missing.
pub fn required_attr<'a>(body: &'a Body, name: &str, what: &str) -> &'a Expression {
    attr(body, name).unwrap_or_else(|| panic!("{what} has no `{name}` attribute"))
}

/// An expression written back as HCL text on one line (for error messages and shape
/// checks): `[after_create, after_update]`, not hcl-rs's one element per line.
pub fn text(expr: &Expression) -> String {
    let formatted =
        hcl::format::to_string(expr).unwrap_or_else(|e| format!("<unformattable: {e}>"));
    let collapsed = formatted.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .replace("[ ", "[")
        .replace(" ]", "]")
        .replace(", ]", "]")
        .replace(",]", "]")
}

/// All attributes of all `locals` blocks.
pub fn locals(body: &Body) -> BTreeMap<String, Expression> {
    blocks(body, "locals", &[])
        .into_iter()
        .flat_map(|b| b.body().attributes())
        .map(|a| (a.key().to_string(), a.expr().clone()))
        .collect()
}

/// A literal expression (no variables or calls) as a value.
pub fn literal(expr: &Expression) -> Value {
    expr.evaluate(&Context::new())
        .unwrap_or_else(|e| panic!("expected a literal, got `{}`: {e}", text(expr)))
}

/// A context where `var.<name>` holds `vars` and the functions used by the validation blocks
/// (`can`, `regex`, `contains`, `floor`, `length`) behave as in Terraform for the values
/// the tests use. `regex` returns null instead of failing on no match, and `can` maps null
/// to false: the same outcome as Terraform's `can(regex(...))` without lazy evaluation.
pub fn validation_context(vars: &BTreeMap<String, Value>) -> Context<'static> {
    let mut ctx = Context::new();
    let object: hcl::Map<String, Value> =
        vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    ctx.declare_var("var", Value::Object(object));
    ctx.declare_func(
        "regex",
        FuncDef::new(regex_fn, [ParamType::String, ParamType::String]),
    );
    ctx.declare_func("can", FuncDef::new(can_fn, [ParamType::Any]));
    ctx.declare_func(
        "contains",
        FuncDef::new(
            contains_fn,
            [ParamType::array_of(ParamType::Any), ParamType::Any],
        ),
    );
    ctx.declare_func("floor", FuncDef::new(floor_fn, [ParamType::Number]));
    ctx.declare_func("length", FuncDef::new(length_fn, [ParamType::Any]));
    ctx
}

fn regex_fn(args: FuncArgs) -> Result<Value, String> {
    let values = args.into_values();
    let (pattern, subject) = match (&values[0], &values[1]) {
        (Value::String(p), Value::String(s)) => (p, s),
        other => return Err(format!("regex takes two strings, got {other:?}")),
    };
    let re = regex::Regex::new(pattern).map_err(|e| format!("invalid regex {pattern:?}: {e}"))?;
    Ok(re
        .find(subject)
        .map_or(Value::Null, |m| Value::String(m.as_str().to_string())))
}

fn can_fn(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::Bool(!args.into_values()[0].is_null()))
}

fn contains_fn(args: FuncArgs) -> Result<Value, String> {
    let values = args.into_values();
    let Value::Array(items) = &values[0] else {
        return Err("contains takes a list first".into());
    };
    let needle = &values[1];
    Ok(Value::Bool(
        items
            .iter()
            .any(|item| numbers_or_values_equal(item, needle)),
    ))
}

fn numbers_or_values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn floor_fn(args: FuncArgs) -> Result<Value, String> {
    let Value::Number(n) = &args.into_values()[0] else {
        return Err("floor takes a number".into());
    };
    let x = n.as_f64().ok_or("floor: number out of range")?.floor();
    // Keep whole numbers as integers so that `floor(x) == x` compares like with like.
    Ok(if x.fract() == 0.0 && x.abs() < 9e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    })
}

fn length_fn(args: FuncArgs) -> Result<Value, String> {
    match &args.into_values()[0] {
        Value::Array(a) => Ok(Value::from(a.len() as u64)),
        Value::String(s) => Ok(Value::from(s.chars().count() as u64)),
        Value::Object(o) => Ok(Value::from(o.len() as u64)),
        other => Err(format!("length of {other:?}")),
    }
}

/// A literal expression as JSON, for indexing into nested objects.
pub fn literal_json(expr: &Expression) -> serde_json::Value {
    serde_json::to_value(literal(expr)).expect("HCL values serialize to JSON")
}

/// The name of an object key (`name = ...` or `"name" = ...`).
pub fn key_name(key: &hcl::ObjectKey) -> String {
    match key {
        hcl::ObjectKey::Identifier(ident) => ident.to_string(),
        hcl::ObjectKey::Expression(Expression::String(s)) => s.clone(),
        other => format!("{other:?}"),
    }
}
