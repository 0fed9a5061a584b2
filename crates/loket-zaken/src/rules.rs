//! Rules in CEL (the Common Expression Language), evaluated one by one so that every
//! decision keeps a trace: each rule with the inputs it read and its outcome.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalogue::Text;

/// A compiled CEL expression and the text it came from.
#[derive(Clone)]
pub struct Expression {
    source: String,
    program: Arc<cel::Program>,
    /// Found once at compile time; every evaluation needs them.
    inputs: Arc<[String]>,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Expression").field(&self.source).finish()
    }
}

impl Expression {
    pub fn compile(source: &str) -> Result<Self, String> {
        let program = cel::Program::compile(source).map_err(|e| e.to_string())?;
        let inputs = free_variables(&program).into();
        Ok(Self {
            source: source.to_owned(),
            program: Arc::new(program),
            inputs,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The top-level inputs this expression reads (`brp`, `aanvraag`, …), sorted; not the
    /// variables a macro binds (`v` in `list.exists(v, …)`).
    pub fn inputs(&self) -> &[String] {
        &self.inputs
    }

    /// Evaluate against `inputs`; any error (missing data, wrong type) is a message.
    pub fn evaluate(&self, inputs: &Inputs) -> Result<Value, String> {
        let mut context = cel::Context::default();
        for name in self.inputs.iter() {
            if let Some(value) = inputs.0.get(name) {
                context.add_variable_from_value(name.clone(), to_cel(value));
            }
        }
        let value = self.program.execute(&context).map_err(|e| e.to_string())?;
        from_cel(&value)
    }

    pub fn evaluate_bool(&self, inputs: &Inputs) -> Result<bool, String> {
        match self.evaluate(inputs)? {
            Value::Bool(b) => Ok(b),
            other => Err(format!("expected true or false, got {other}")),
        }
    }

    pub fn evaluate_int(&self, inputs: &Inputs) -> Result<i64, String> {
        match self.evaluate(inputs)? {
            Value::Number(n) if n.is_i64() => n.as_i64().ok_or_else(|| n.to_string()),
            other => Err(format!("expected a whole number, got {other}")),
        }
    }
}

fn free_variables(program: &cel::Program) -> Vec<String> {
    let mut bound = Vec::new();
    bound_variables(program.expression(), &mut bound);
    let mut names: Vec<String> = program
        .references()
        .variables()
        .into_iter()
        .filter(|name| !bound.iter().any(|b| b == name))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The names comprehensions (the macros `all`, `exists`, `map`, `filter`) bind.
fn bound_variables(expression: &cel::IdedExpr, out: &mut Vec<String>) {
    use cel::common::ast::{EntryExpr, Expr};
    match &expression.expr {
        Expr::Comprehension(c) => {
            out.push(c.iter_var.clone());
            out.extend(c.iter_var2.clone());
            out.push(c.accu_var.clone());
            for child in [
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ] {
                bound_variables(child, out);
            }
        }
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                bound_variables(target, out);
            }
            for arg in &call.args {
                bound_variables(arg, out);
            }
        }
        Expr::List(list) => {
            for element in &list.elements {
                bound_variables(element, out);
            }
        }
        Expr::Select(select) => bound_variables(&select.operand, out),
        Expr::Map(map) => {
            for entry in &map.entries {
                if let EntryExpr::MapEntry(e) = &entry.expr {
                    bound_variables(&e.key, out);
                    bound_variables(&e.value, out);
                }
            }
        }
        Expr::Struct(s) => {
            for entry in &s.entries {
                if let EntryExpr::StructField(f) = &entry.expr {
                    bound_variables(&f.value, out);
                }
            }
        }
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => {}
    }
}

/// Everything the rules may read, by top-level name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inputs(pub BTreeMap<String, Value>);

impl Inputs {
    pub fn insert(&mut self, name: &str, value: Value) {
        self.0.insert(name.to_owned(), value);
    }

    /// The value at a path such as `brp.personen[0].naam.voornamen`.
    pub fn lookup(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let first = parts.next()?;
        let (name, index) = split_index(first);
        let mut value = index_into(self.0.get(name)?, index)?;
        for part in parts {
            let (key, index) = split_index(part);
            value = index_into(value.get(key)?, index)?;
        }
        Some(value)
    }

    /// Fill `{path}` placeholders with values from the inputs. A path that leads
    /// nowhere stays visible as `{path}`, so a wrong template shows in tests, not as a
    /// silently shorter sentence.
    pub fn fill(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                return out;
            };
            let path = &after[..close];
            match self.lookup(path) {
                Some(Value::String(s)) => out.push_str(s),
                Some(Value::Null) | None => {
                    out.push('{');
                    out.push_str(path);
                    out.push('}');
                }
                Some(other) => out.push_str(&other.to_string()),
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        out
    }
}

fn split_index(part: &str) -> (&str, Option<usize>) {
    match part.split_once('[') {
        Some((name, index)) => (name, index.trim_end_matches(']').parse().ok()),
        None => (part, None),
    }
}

fn index_into(value: &Value, index: Option<usize>) -> Option<&Value> {
    match index {
        Some(i) => value.get(i),
        None => Some(value),
    }
}

/// JSON into CEL: whole numbers become `int`, so `a < b` and `a / 2` work on numbers
/// that came from JSON (CEL does not mix `int` and `uint`).
fn to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => {
            let map: HashMap<String, cel::Value> =
                map.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            cel::Value::from(map)
        }
    }
}

fn from_cel(value: &cel::Value) -> Result<Value, String> {
    Ok(match value {
        cel::Value::Null => Value::Null,
        cel::Value::Bool(b) => Value::Bool(*b),
        cel::Value::Int(i) => Value::from(*i),
        cel::Value::UInt(u) => Value::from(*u),
        cel::Value::Float(f) => Value::from(*f),
        cel::Value::String(s) => Value::String(s.as_ref().clone()),
        cel::Value::List(items) => {
            Value::Array(items.iter().map(from_cel).collect::<Result<_, _>>()?)
        }
        other => return Err(format!("an answer of an unsupported type: {other:?}")),
    })
}

/// What follows when a rule does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Otherwise {
    /// Refuse the application.
    Afwijzen,
    /// A person decides.
    Behandelaar,
}

/// One rule of a product.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub naam: Text,
    pub voorwaarde: Expression,
    pub grondslag: String,
    pub anders: Otherwise,
    pub behandelaar_als: Option<Expression>,
    pub uitleg_voldaan: Text,
    pub uitleg_niet_voldaan: Text,
    pub uitleg_behandelaar: Option<Text>,
}

/// One row of the fee table (hit policy FIRST).
#[derive(Debug, Clone)]
pub struct FeeRow {
    pub als: Expression,
    pub bedrag_centen: Expression,
    pub grondslag: String,
    pub uitleg: Text,
}

#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub fee: Vec<FeeRow>,
}

/// How one rule came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleOutcome {
    Voldaan,
    NietVoldaan,
    /// Not met, but a person looks at it (e.g. a lease car with a statement).
    Behandelaar,
    /// Could not be evaluated (data missing): a person decides.
    Onbeslist,
}

/// One line of a decision's trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleTrace {
    pub id: String,
    pub naam: Text,
    pub voorwaarde: String,
    pub grondslag: String,
    /// The inputs the condition read, by name.
    pub invoer: Vec<String>,
    pub uitkomst: RuleOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fout: Option<String>,
    pub uitleg: Text,
}

/// The fee that applies, and which row of the table set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeeTrace {
    pub rij: usize,
    pub als: String,
    pub bedrag_centen: i64,
    pub grondslag: String,
    pub uitleg: Text,
}

impl RuleSet {
    /// Evaluate every rule (not only up to the first failure: the resident hears every
    /// reason at once).
    pub fn evaluate(&self, inputs: &Inputs) -> Vec<RuleTrace> {
        self.rules
            .iter()
            .map(|rule| rule.evaluate(inputs))
            .collect()
    }

    /// The first fee row whose condition holds; an error names the row.
    pub fn fee(&self, inputs: &Inputs) -> Result<Option<FeeTrace>, String> {
        for (index, row) in self.fee.iter().enumerate() {
            let applies = row
                .als
                .evaluate_bool(inputs)
                .map_err(|e| format!("fee row {}: {e}", index + 1))?;
            if applies {
                let amount = row
                    .bedrag_centen
                    .evaluate_int(inputs)
                    .map_err(|e| format!("fee row {}: {e}", index + 1))?;
                return Ok(Some(FeeTrace {
                    rij: index + 1,
                    als: row.als.source().to_owned(),
                    bedrag_centen: amount,
                    grondslag: row.grondslag.clone(),
                    uitleg: row.uitleg.fill(inputs),
                }));
            }
        }
        Ok(None)
    }
}

impl Rule {
    fn evaluate(&self, inputs: &Inputs) -> RuleTrace {
        let (uitkomst, fout) = match self.voorwaarde.evaluate_bool(inputs) {
            Ok(true) => (RuleOutcome::Voldaan, None),
            Ok(false) => match &self.behandelaar_als {
                Some(exception) => match exception.evaluate_bool(inputs) {
                    Ok(true) => (RuleOutcome::Behandelaar, None),
                    Ok(false) => (self.otherwise(), None),
                    Err(error) => (RuleOutcome::Onbeslist, Some(error)),
                },
                None => (self.otherwise(), None),
            },
            Err(error) => (RuleOutcome::Onbeslist, Some(error)),
        };
        let uitleg = match uitkomst {
            RuleOutcome::Voldaan => self.uitleg_voldaan.fill(inputs),
            RuleOutcome::NietVoldaan => self.uitleg_niet_voldaan.fill(inputs),
            RuleOutcome::Behandelaar => self
                .uitleg_behandelaar
                .as_ref()
                .unwrap_or(&self.uitleg_niet_voldaan)
                .fill(inputs),
            RuleOutcome::Onbeslist => Text {
                nl: format!(
                    "We konden niet automatisch nagaan of dit klopt: {}. Een medewerker bekijkt het.",
                    self.naam.nl.to_lowercase()
                ),
                en: format!(
                    "We could not check this automatically: {}. A member of staff will look at it.",
                    self.naam.en.to_lowercase()
                ),
            },
        };
        let mut invoer = self.voorwaarde.inputs().to_vec();
        if let Some(exception) = &self.behandelaar_als {
            invoer.extend_from_slice(exception.inputs());
            invoer.sort();
            invoer.dedup();
        }
        RuleTrace {
            id: self.id.clone(),
            naam: self.naam.clone(),
            voorwaarde: self.voorwaarde.source().to_owned(),
            grondslag: self.grondslag.clone(),
            invoer,
            uitkomst,
            fout,
            uitleg,
        }
    }

    fn otherwise(&self) -> RuleOutcome {
        match self.anders {
            Otherwise::Afwijzen => RuleOutcome::NietVoldaan,
            Otherwise::Behandelaar => RuleOutcome::Behandelaar,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn inputs(value: Value) -> Inputs {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn numbers_from_json_compare_and_divide() {
        let inputs = inputs(json!({"a": {"n": 3}, "p": {"max": 2, "fee": 7500}}));
        assert!(
            !Expression::compile("a.n < p.max")
                .unwrap()
                .evaluate_bool(&inputs)
                .unwrap()
        );
        assert_eq!(
            Expression::compile("p.fee / 2")
                .unwrap()
                .evaluate_int(&inputs)
                .unwrap(),
            3750
        );
    }

    #[test]
    fn lists_of_objects_can_be_searched() {
        let inputs = inputs(json!({
            "rdw": {"voertuigen": [{"kenteken": "34GBV7"}, {"kenteken": "AB12CD"}]},
            "aanvraag": {"kenteken": "AB12CD"},
        }));
        let rule = Expression::compile("rdw.voertuigen.exists(v, v.kenteken == aanvraag.kenteken)")
            .unwrap();
        assert!(rule.evaluate_bool(&inputs).unwrap());
        assert_eq!(rule.inputs(), ["aanvraag", "rdw"]);
    }

    #[test]
    fn missing_data_is_an_error_not_false() {
        let inputs = inputs(json!({"brp": {"personen": []}}));
        let rule = Expression::compile("brp.personen[0].naam == 'x'").unwrap();
        assert!(rule.evaluate_bool(&inputs).is_err());
    }

    #[test]
    fn placeholders_are_filled_from_the_inputs() {
        let inputs = inputs(json!({"brp": {"personen": [{"adres": "Kerkstraat", "nr": 12}]}}));
        assert_eq!(
            inputs.fill("U woont op {brp.personen[0].adres} {brp.personen[0].nr}."),
            "U woont op Kerkstraat 12."
        );
        assert_eq!(inputs.fill("{nergens} {"), "{nergens} {");
    }

    #[test]
    fn a_syntax_error_is_reported() {
        assert!(Expression::compile("a ==").is_err());
    }
}
