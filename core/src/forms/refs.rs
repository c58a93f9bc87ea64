//! `${name}` references inside a form's texts — labels, section titles,
//! choice labels and constraint messages — as in ODK: `年龄（${name}）`
//! shows the current answer of field `name` where the reference stands.
//!
//! Templates keep the references as written; the apps substitute them when
//! showing a text ([`fill`]). Every reference must name a field of the
//! template: [`Template::check_references`](super::Template::check_references)
//! (staff JSON) and the XLSForm import (with the row) refuse any other, so a
//! reference is never shown literally by mistake. Expressions (`relevant`,
//! `constraint`) have their own parser, [`super::expr`].

use super::template::is_name;

/// A `${` that does not start a well-formed reference (`${a b}`, `${1x}`,
/// no closing `}`), at this byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed(pub usize);

/// Every `${name}` of `text`, in order, as (byte range of the whole
/// reference, name); the first malformed `${` is an error.
fn scan(text: &str) -> Result<Vec<(std::ops::Range<usize>, &str)>, Malformed> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("${") {
        let start = from + i;
        let body = &text[start + 2..];
        let name = body.find('}').map(|end| &body[..end]);
        match name {
            Some(name) if is_name(name) => {
                let end = start + 2 + name.len() + 1;
                out.push((start..end, name));
                from = end;
            }
            _ => return Err(Malformed(start)),
        }
    }
    Ok(out)
}

/// The field names `text` refers to, in order of appearance (repeats kept).
pub fn names(text: &str) -> Result<Vec<&str>, Malformed> {
    Ok(scan(text)?.into_iter().map(|(_, name)| name).collect())
}

/// `text` with every `${name}` replaced by `answer(name)` (the answer as the
/// app shows it; `None`, e.g. not answered yet, shows nothing). A malformed
/// `${` is kept as written (templates that passed the checks have none).
pub fn fill(text: &str, answer: impl Fn(&str) -> Option<String>) -> String {
    let Ok(refs) = scan(text) else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (range, name) in refs {
        out.push_str(&text[last..range.start]);
        out.push_str(&answer(name).unwrap_or_default());
        last = range.end;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_and_malformed_references_refused() {
        assert_eq!(names("年龄 ${age}，${name_1}").unwrap(), ["age", "name_1"]);
        assert_eq!(names("no reference, $5 {x}").unwrap(), Vec::<&str>::new());
        assert_eq!(names("bad ${a b}"), Err(Malformed(4)));
        assert_eq!(names("bad ${1x}"), Err(Malformed(4)));
        assert_eq!(names("open ${age"), Err(Malformed(5)));
    }

    #[test]
    fn fill_substitutes_answers_and_blanks_unanswered() {
        let answer = |n: &str| (n == "name").then(|| "王五".to_string());
        assert_eq!(fill("${name} 的年龄", answer), "王五 的年龄");
        assert_eq!(fill("[${age}] ${name}", answer), "[] 王五");
        assert_eq!(fill("bad ${a b}", answer), "bad ${a b}");
    }
}
