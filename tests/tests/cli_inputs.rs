//! The `gridwork` CLI against hostile input (issue 12 §4, `docs/limits.md`):
//! over-long, control-character, bidi and invisible-only text, impossible
//! dates and months, wrong-typed answers files exit 1 with one escaped line
//! naming the field and store nothing; error text from a server or a file
//! key reaches the terminal escaped; a reader closing stdout early ends the
//! command quietly; `demo` refuses a real store.

use gridwork_tests::cli::{stderr_lines, Phone};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Output, Stdio};
use tempfile::TempDir;

fn phone(dir: &TempDir) -> Phone {
    let p = Phone::new(dir.path().join("phone.db"));
    p.init("gw-001", "G-001");
    p
}

/// Exit 1, one stderr line `error: <field>: …` without raw control
/// characters or `hidden` (the refused value); the line.
fn refused(out: &Output, field: &str, hidden: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines = stderr_lines(out);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with(&format!("error: {field}: ")),
        "expected field {field}: {stderr}"
    );
    assert!(
        !stderr.trim_end().chars().any(char::is_control),
        "raw control character on stderr: {stderr:?}"
    );
    if !hidden.is_empty() {
        assert!(!stderr.contains(hidden), "value echoed: {stderr}");
    }
    lines[0].clone()
}

fn write(dir: &TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn the_testers_inputs_exit_1_and_store_nothing() {
    let dir = TempDir::new().unwrap();
    let p = phone(&dir);
    let long = "a".repeat(43_000);
    for address in [
        long.as_str(),
        "\u{200b}",
        "幸福里\u{1b}[2J",
        "幸福里\r501",
        "幸福里\n501",
        "幸福里\u{7}",
        "幸福里\u{202e}105",
    ] {
        let out = p.run(&["household", "add", "--address", address]);
        refused(
            &out,
            "address",
            if address.len() > 3 { address } else { "" },
        );
    }
    assert_eq!(p.json(&["household", "list"]), serde_json::json!([]));

    let id = p.add_household("幸福里3号楼501室", &[]);
    for birth in ["2099-01-01", "0000-01-01"] {
        let out = p.run(&["resident", "add", &id, "--name", "王五", "--birth", birth]);
        refused(&out, "birth_date", birth);
    }
    let shown = p.json(&["household", "show", &id]);
    assert_eq!(shown["residents"], serde_json::json!([]));

    let out = p.run(&["worklog", "show", "--month", "2026-13"]);
    refused(&out, "month", "");
    let note = "记".repeat(4001);
    let out = p.run(&["visit", "record", &id, "--note", &note]);
    refused(&out, "note", &note);
    // A 50 MB note arrives in an answers file: refused by size before parsing.
    let huge = format!(
        "{{\"sanitation\": {{\"outcome\": \"problem\", \"note\": \"{}\"}}}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let file = write(&dir, "huge.json", &huge);
    let out = p.run(&["visit", "record", &id, "--answers", &file]);
    let line = refused(&out, "answers", "");
    assert!(line.contains("1 MiB"), "{line}");
    assert_eq!(p.json(&["visit", "list"]), serde_json::json!([]));
}

#[test]
fn a_wrongly_typed_answer_is_an_error_not_dropped() {
    let dir = TempDir::new().unwrap();
    let p = phone(&dir);
    let id = p.add_household("幸福里3号楼501室", &[]);
    for (text, field) in [
        (
            r#"{"sanitation": {"outcome": "problem", "note": 42}}"#,
            "answers.sanitation.note",
        ),
        (
            r#"[{"item": "sanitation", "outcome": "problem", "note": ["漏水"]}]"#,
            "answers.sanitation.note",
        ),
        (
            r#"{"sanitation": {"outcome": "problem", "notes": "漏水"}}"#,
            "answers.sanitation.notes",
        ),
        (r#"{"sanitation": {"outcome": 1}}"#, "answers.sanitation"),
    ] {
        let file = write(&dir, "answers.json", text);
        let out = p.run(&["visit", "record", &id, "--answers", &file]);
        refused(&out, field, "漏水");
    }
    assert_eq!(p.json(&["visit", "list"]), serde_json::json!([]));
    // Well typed, the note is kept.
    let file = write(
        &dir,
        "answers.json",
        r#"{"sanitation": {"outcome": "problem", "note": "楼道堆物"}}"#,
    );
    let visit = p.json(&["visit", "record", &id, "--answers", &file]);
    let shown = p.json(&["visit", "show", visit["id"].as_str().unwrap()]);
    assert_eq!(shown["answers"][0]["note"], "楼道堆物");
}

#[test]
fn control_characters_in_error_text_are_escaped() {
    let dir = TempDir::new().unwrap();
    let p = phone(&dir);
    let id = p.add_household("幸福里3号楼501室", &[]);
    // A key of an answers file.
    let file = write(&dir, "answers.json", "{\"x\\u001b[2J\\u0007\": \"ok\"}");
    let out = p.run(&["visit", "record", &id, "--answers", &file]);
    let line = refused(&out, "answers.x\\u{1b}[2J\\u{7}", "");
    assert!(!line.contains('\u{1b}'));
    let file = write(&dir, "form.json", "{\"y\\u001b]0;pwned\\u0007\": 1}");
    let out = p.run(&[
        "form",
        "fill",
        "duty-river-care",
        "--subject",
        "河道",
        "--answers",
        &file,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("answers.y\\u{1b}]0;pwned\\u{7}"),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}') && !stderr.contains('\u{7}'));

    // A server's error text.
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    let answer = std::thread::spawn(move || {
        let (stream, _) = server.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let reply = "{\"message\": \"boom\\u001b[2J\\u001b]0;x\\u0007\\r\\u202e\"}";
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
            reply.len()
        )
        .unwrap();
    });
    let mut cmd = p.command(&["sync", "--server", &url, "--token-env", "GRIDWORK_TOKEN"]);
    let out = cmd.env("GRIDWORK_TOKEN", "t").output().unwrap();
    answer.join().unwrap();
    let line = refused(&out, "server error / 服务器错误", "");
    assert!(
        line.ends_with("HTTP 500: boom\\u{1b}[2J\\u{1b}]0;x\\u{7}\\u{d}\\u{202e}"),
        "{line}"
    );
}

#[test]
fn a_reader_closing_stdout_early_ends_the_command_quietly() {
    let dir = TempDir::new().unwrap();
    let p = Phone::new(dir.path().join("demo.db"));
    // Far more than a pipe buffer of visits, so the writer hits the closed pipe.
    p.json(&["demo", "--households", "30", "--years", "1"]);
    for args in [&["visit", "list"][..], &["household", "list"][..]] {
        let mut child = p
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -c 10`: read ten bytes, close the pipe.
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 10];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(101), "{stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.is_empty(), "{stderr}");
    }
    // A closed stderr (progress lines) does not panic either.
    let mut child = Phone::new(dir.path().join("fresh.db"))
        .command(&["demo", "--households", "3", "--years", "0", "--progress"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn demo_refuses_a_real_store() {
    let dir = TempDir::new().unwrap();
    let p = phone(&dir);
    p.add_household("幸福里3号楼501室", &[]);
    let out = p.run(&["demo", "--households", "2", "--years", "0"]);
    let line = refused(&out, "store", "");
    assert!(line.contains("--force"), "{line}");
    assert_eq!(p.json(&["household", "list"]).as_array().unwrap().len(), 1);
    // `--force` on a store that has never synced.
    let summary = p.json(&["demo", "--force", "--households", "2", "--years", "0"]);
    assert_eq!(summary["households"], 2);
    // Once the store has synced (as a sync records the server's id), even
    // `--force` is refused.
    let db = rusqlite::Connection::open(&p.store).unwrap();
    db.execute(
        "INSERT INTO sync_meta (key, value) VALUES ('server_id', 'srv-1')",
        [],
    )
    .unwrap();
    drop(db);
    let out = p.run(&["demo", "--force", "--households", "2", "--years", "0"]);
    refused(&out, "store", "");
    assert_eq!(p.json(&["household", "list"]).as_array().unwrap().len(), 3);
}
