//! Fuzzes the form expression language (`relevant` / `constraint`): the
//! text comes from staff-written templates and XLSForm workbooks, and
//! phones parse and evaluate it on every answer, so any string must parse
//! or fail with a position inside the text, and any parsed expression must
//! evaluate (against answers of every value type) without panicking.

#![no_main]

use gridwork_core::forms::expr::{self, Context, Value};
use libfuzzer_sys::fuzz_target;

/// Answers of every shape: the field name picks one.
struct Answers;

impl Context for Answers {
    fn field(&self, name: &str) -> Value {
        match name.len() % 6 {
            0 => Value::Null,
            1 => Value::Num(name.len() as f64 - 2.5),
            2 => Value::Text(name.to_string()),
            3 => Value::Bool(name.len() % 4 == 3),
            4 => Value::List(vec![name.to_string(), "b".into()]),
            _ => Value::Text("2026-06-01".into()),
        }
    }
    fn dot(&self) -> Value {
        Value::Text("12".into())
    }
    fn today(&self) -> String {
        "2026-06-01".into()
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match expr::parse(src) {
        Ok(parsed) => {
            let _ = parsed.fields();
            let _ = expr::eval(&parsed, &Answers).truthy();
        }
        Err(e) => assert!(e.position <= src.len(), "error position inside the text"),
    }
});
