//! The form expression language: the XLSForm subset used by `relevant`
//! (show-if) and `constraint` columns.
//!
//! Grammar, loosest binding first:
//! `or` · `and` · `= != < <= > >=` · `+ -` · `* div` · unary `-` · primary.
//! Primaries: numbers, `'text'` or `"text"`, `${field}`, `.` (the field being
//! checked), parentheses, and the functions `not(x)`, `selected(${f}, 'v')`,
//! `count-selected(${f})`, `string-length(x)` and `today()`.
//!
//! Values are null, numbers, text, booleans or lists (select_multiple answers).
//! Comparisons between a number and numeric text compare numbers; dates are
//! `YYYY-MM-DD` text and compare as text. A missing answer is null: it equals
//! only `''` and makes arithmetic null, as in ODK.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A parse error at a byte position of the expression.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseError {
    /// Byte offset in the source where the problem was found.
    pub position: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", self.position, self.message)
    }
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `div`
    Div,
}

/// Built-in functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Func {
    /// `not(x)`
    Not,
    /// `selected(list, value)`
    Selected,
    /// `count-selected(list)`
    CountSelected,
    /// `string-length(x)`
    StringLength,
    /// `today()`
    Today,
}

impl Func {
    fn parse(name: &str) -> Option<(Func, usize)> {
        Some(match name {
            "not" => (Func::Not, 1),
            "selected" => (Func::Selected, 2),
            "count-selected" => (Func::CountSelected, 1),
            "string-length" => (Func::StringLength, 1),
            "today" => (Func::Today, 0),
            _ => return None,
        })
    }
}

/// A parsed expression.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    /// A number literal.
    Num(f64),
    /// A text literal.
    Text(String),
    /// `${name}`
    Field(String),
    /// `.`
    Dot,
    /// Unary minus.
    Neg(Box<Expr>),
    /// A binary operation.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// A function call.
    Call(Func, Vec<Expr>),
}

impl Expr {
    /// Every `${field}` the expression refers to, in order of appearance.
    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Field(name) => out.push(name),
            Expr::Neg(inner) => inner.collect_fields(out),
            Expr::Binary(_, a, b) => {
                a.collect_fields(out);
                b.collect_fields(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.collect_fields(out)),
            Expr::Num(_) | Expr::Text(_) | Expr::Dot => {}
        }
    }
}

/// A runtime value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// No answer.
    Null,
    /// A number.
    Num(f64),
    /// Text (also dates `YYYY-MM-DD`).
    Text(String),
    /// A boolean.
    Bool(bool),
    /// The choices of a select_multiple answer.
    List(Vec<String>),
}

impl Value {
    /// XPath-style truth: false, 0, '', null and empty lists are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Num(n) => *n != 0.0 && !n.is_nan(),
            Value::Text(t) => !t.is_empty(),
            Value::Bool(b) => *b,
            Value::List(l) => !l.is_empty(),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Text(t) => t.trim().parse().ok(),
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }

    fn text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Value::Num(n) => n.to_string(),
            Value::Text(t) => t.clone(),
            Value::Bool(b) => b.to_string(),
            Value::List(l) => l.join(" "),
        }
    }
}

/// What an expression can look at.
pub trait Context {
    /// The answer of field `name` (null if unanswered or unknown).
    fn field(&self, name: &str) -> Value;
    /// The answer of the field being checked (`.`).
    fn dot(&self) -> Value;
    /// Today's local date, `YYYY-MM-DD`.
    fn today(&self) -> String;
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn error<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            position: self.pos,
            message: message.into(),
        })
    }

    fn skip_ws(&mut self) {
        while self.src[self.pos..].starts_with(|c: char| c.is_whitespace()) {
            self.pos += self.src[self.pos..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
        }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    /// Consume `token` if it comes next; words must not run on into a name.
    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        let rest = self.rest();
        if !rest.starts_with(token) {
            return false;
        }
        let word = token.chars().all(|c| c.is_ascii_alphabetic());
        let after = rest[token.len()..].chars().next();
        if word && after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return false;
        }
        self.pos += token.len();
        true
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.binary(0)
    }

    fn binary(&mut self, level: usize) -> Result<Expr, ParseError> {
        const LEVELS: &[&[(&str, BinOp)]] = &[
            &[("or", BinOp::Or)],
            &[("and", BinOp::And)],
            &[
                ("!=", BinOp::Ne),
                ("<=", BinOp::Le),
                (">=", BinOp::Ge),
                ("=", BinOp::Eq),
                ("<", BinOp::Lt),
                (">", BinOp::Gt),
            ],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[("*", BinOp::Mul), ("div", BinOp::Div)],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        'outer: loop {
            for (token, op) in LEVELS[level] {
                if self.eat(token) {
                    let right = self.binary(level + 1)?;
                    left = Expr::Binary(*op, Box::new(left), Box::new(right));
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            return self.error("表达式不完整 / unexpected end of expression");
        };
        if c == '(' {
            self.pos += 1;
            let inner = self.expr()?;
            if !self.eat(")") {
                return self.error("缺少右括号 / expected ')'");
            }
            return Ok(inner);
        }
        if c == '\'' || c == '"' {
            let Some(end) = rest[1..].find(c) else {
                return self.error("字符串未结束 / unterminated text");
            };
            let text = rest[1..1 + end].to_string();
            self.pos += end + 2;
            return Ok(Expr::Text(text));
        }
        if let Some(name) = rest.strip_prefix("${") {
            let Some(end) = name.find('}') else {
                return self.error("字段引用未结束 / expected '}'");
            };
            let field = &name[..end];
            if field.is_empty()
                || !field
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            {
                return self.error("字段名无效 / invalid field name");
            }
            self.pos += end + 3;
            return Ok(Expr::Field(field.to_string()));
        }
        if c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|d: char| d.is_ascii_digit())) {
            let len = rest
                .find(|d: char| !(d.is_ascii_digit() || d == '.'))
                .unwrap_or(rest.len());
            let number = rest[..len].parse::<f64>();
            return match number {
                Ok(n) => {
                    self.pos += len;
                    Ok(Expr::Num(n))
                }
                Err(_) => self.error("数字无效 / invalid number"),
            };
        }
        if c == '.' {
            self.pos += 1;
            return Ok(Expr::Dot);
        }
        if c.is_ascii_alphabetic() {
            let len = rest
                .find(|d: char| !(d.is_ascii_alphanumeric() || d == '-' || d == '_'))
                .unwrap_or(rest.len());
            let name = &rest[..len];
            let start = self.pos;
            let Some((func, arity)) = Func::parse(name) else {
                return self.error(format!("未知函数 / unknown function '{name}'"));
            };
            self.pos += len;
            if !self.eat("(") {
                return self.error("缺少左括号 / expected '('");
            }
            let mut args = Vec::new();
            if !self.eat(")") {
                loop {
                    args.push(self.expr()?);
                    if self.eat(")") {
                        break;
                    }
                    if !self.eat(",") {
                        return self.error("缺少逗号或右括号 / expected ',' or ')'");
                    }
                }
            }
            if args.len() != arity {
                return Err(ParseError {
                    position: start,
                    message: format!(
                        "{name}() 需要 {arity} 个参数 / {name}() takes {arity} argument(s)"
                    ),
                });
            }
            return Ok(Expr::Call(func, args));
        }
        self.error(format!("意外的字符 / unexpected '{c}'"))
    }
}

/// Parse an expression.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let mut parser = Parser { src, pos: 0 };
    let expr = parser.expr()?;
    parser.skip_ws();
    if parser.pos < src.len() {
        return parser.error("表达式后有多余内容 / unexpected text after the expression");
    }
    Ok(expr)
}

fn compare(op: BinOp, left: &Value, right: &Value) -> bool {
    use std::cmp::Ordering;
    let ordering = match (left, right) {
        (Value::Null, other) | (other, Value::Null) => {
            // A missing answer equals only the empty text.
            let empty = other.text().is_empty();
            return match op {
                BinOp::Eq => empty,
                BinOp::Ne => !empty,
                _ => false,
            };
        }
        (Value::Text(a), Value::Text(b)) => a.cmp(b),
        _ => match (left.number(), right.number()) {
            (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
            _ => left.text().cmp(&right.text()),
        },
    };
    match op {
        BinOp::Eq => ordering == Ordering::Equal,
        BinOp::Ne => ordering != Ordering::Equal,
        BinOp::Lt => ordering == Ordering::Less,
        BinOp::Le => ordering != Ordering::Greater,
        BinOp::Gt => ordering == Ordering::Greater,
        BinOp::Ge => ordering != Ordering::Less,
        _ => false,
    }
}

/// Evaluate an expression.
pub fn eval(expr: &Expr, ctx: &dyn Context) -> Value {
    match expr {
        Expr::Num(n) => Value::Num(*n),
        Expr::Text(t) => Value::Text(t.clone()),
        Expr::Field(name) => ctx.field(name),
        Expr::Dot => ctx.dot(),
        Expr::Neg(inner) => eval(inner, ctx)
            .number()
            .map_or(Value::Null, |n| Value::Num(-n)),
        Expr::Binary(op, a, b) => {
            let left = eval(a, ctx);
            match op {
                BinOp::Or => Value::Bool(left.truthy() || eval(b, ctx).truthy()),
                BinOp::And => Value::Bool(left.truthy() && eval(b, ctx).truthy()),
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => {
                    match (left.number(), eval(b, ctx).number()) {
                        (Some(x), Some(y)) => Value::Num(match op {
                            BinOp::Add => x + y,
                            BinOp::Sub => x - y,
                            BinOp::Mul => x * y,
                            _ => x / y,
                        }),
                        _ => Value::Null,
                    }
                }
                _ => Value::Bool(compare(*op, &left, &eval(b, ctx))),
            }
        }
        Expr::Call(func, args) => {
            let arg = |i: usize| eval(&args[i], ctx);
            match func {
                Func::Not => Value::Bool(!arg(0).truthy()),
                Func::Selected => {
                    let wanted = arg(1).text();
                    Value::Bool(match arg(0) {
                        Value::List(items) => items.contains(&wanted),
                        Value::Text(t) => t.split_whitespace().any(|s| s == wanted),
                        _ => false,
                    })
                }
                Func::CountSelected => Value::Num(match arg(0) {
                    Value::List(items) => items.len() as f64,
                    Value::Text(t) => t.split_whitespace().count() as f64,
                    _ => 0.0,
                }),
                Func::StringLength => Value::Num(arg(0).text().chars().count() as f64),
                Func::Today => Value::Text(ctx.today()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Answers(BTreeMap<&'static str, Value>, Value);

    impl Context for Answers {
        fn field(&self, name: &str) -> Value {
            self.0.get(name).cloned().unwrap_or(Value::Null)
        }
        fn dot(&self) -> Value {
            self.1.clone()
        }
        fn today(&self) -> String {
            "2026-11-29".into()
        }
    }

    fn ctx() -> Answers {
        let mut m = BTreeMap::new();
        m.insert("age", Value::Num(72.0));
        m.insert("name", Value::Text("王五".into()));
        m.insert("needs", Value::List(vec!["meal".into(), "clean".into()]));
        m.insert("alone", Value::Bool(true));
        m.insert("visit_date", Value::Text("2026-11-01".into()));
        Answers(m, Value::Num(5.0))
    }

    fn run(src: &str) -> Value {
        eval(&parse(src).unwrap_or_else(|e| panic!("{src}: {e}")), &ctx())
    }

    #[test]
    fn every_operator() {
        assert_eq!(run("1 + 2 * 3"), Value::Num(7.0));
        assert_eq!(run("(1 + 2) * 3"), Value::Num(9.0));
        assert_eq!(run("10 div 4 - 1"), Value::Num(1.5));
        assert_eq!(run("-${age} + 2"), Value::Num(-70.0));
        for (src, want) in [
            ("${age} = 72", true),
            ("${age} != 72", false),
            ("${age} < 80", true),
            ("${age} <= 72", true),
            ("${age} > 72", false),
            ("${age} >= 60 and ${alone}", true),
            ("${age} < 60 or ${alone}", true),
            ("not(${alone})", false),
            (". >= 1 and . <= 10", true),
            ("${name} = '王五'", true),
            ("${name} = \"李四\"", false),
            ("${missing} = ''", true),
            ("${missing} != ''", false),
            ("${missing} > 3", false),
            ("'10' = 10", true),
        ] {
            assert_eq!(run(src), Value::Bool(want), "{src}");
        }
    }

    #[test]
    fn functions() {
        assert_eq!(run("selected(${needs}, 'meal')"), Value::Bool(true));
        assert_eq!(run("selected(${needs}, 'repair')"), Value::Bool(false));
        assert_eq!(run("count-selected(${needs})"), Value::Num(2.0));
        assert_eq!(run("string-length(${name})"), Value::Num(2.0));
        assert_eq!(run("${visit_date} <= today()"), Value::Bool(true));
        assert_eq!(run("${missing} + 1"), Value::Null);
    }

    #[test]
    fn parse_errors_name_the_position() {
        let cases = [
            ("${age} >", 8),
            ("(1 + 2", 6),
            ("'open", 0),
            ("${a b}", 0),
            ("foo(1)", 0),
            ("selected(${x})", 0),
            ("1 2", 2),
            ("${age} # 3", 7),
        ];
        for (src, position) in cases {
            let err = parse(src).unwrap_err();
            assert_eq!(err.position, position, "{src}: {err}");
        }
        assert!(parse("today()").is_ok());
        assert!(parse("count-selected(${f}) >= 1 and string-length(.) < 20").is_ok());
    }
}
