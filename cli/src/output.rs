//! Everything `gridwork` prints goes through here, so that printing never
//! panics: stdout closed by its reader (`gridwork … | head -c 10`) ends the
//! command quietly with exit 0, a failing stderr is ignored, and error lines
//! show control, bidi and other invisible characters escaped (`\u{1b}`),
//! whatever their source (a server's error text, a key of an input file).

use gridwork_core::model::text::escape_controls;
use std::io::{self, Write};
use std::process::ExitCode;

/// Print `value` as pretty JSON on stdout, then a newline, and flush.
pub fn json(value: &serde_json::Value) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Print `value` as one compact JSON line on stdout and flush (the
/// summaries of `sync --watch`).
pub fn line(value: &serde_json::Value) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(value.to_string().as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Print a command's result and give its exit code: 0, also when the reader
/// closed stdout early; 1 (with an error line) when stdout failed otherwise.
pub fn result(value: &serde_json::Value) -> ExitCode {
    match json(value) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            error(&format!("stdout: 无法输出 / cannot write the output: {e}"));
            ExitCode::from(1)
        }
    }
}

/// `message` as one line safe for a terminal: line breaks as spaces, every
/// other control or invisible character escaped.
pub fn one_line(message: &str) -> String {
    escape_controls(&message.replace("\r\n", " ").replace('\n', " "))
}

/// One `error: …` line on stderr (see [`one_line`]); a failing stderr is
/// ignored.
pub fn error(message: &str) {
    let _ = writeln!(io::stderr().lock(), "error: {}", one_line(message));
}

/// One line on stderr (progress), ignoring failures.
pub fn note(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{}", one_line(line));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_are_one_line_and_escaped() {
        assert_eq!(
            one_line("server error: HTTP 500: bad\u{1b}[2J\nnext\u{202e}"),
            "server error: HTTP 500: bad\\u{1b}[2J next\\u{202e}"
        );
        assert_eq!(one_line("住址: 不能为空"), "住址: 不能为空");
    }
}
