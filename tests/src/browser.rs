//! Driving Debian's headless Chromium over WebDriver (chromedriver +
//! fantoccini) for the staff dashboard scenarios.
//!
//! [`chromedriver`] finds the driver (`CHROMEDRIVER`, else
//! `/usr/bin/chromedriver`) and decides what happens when it is missing:
//! with `GRIDWORK_BROWSER_TEST=required` (as `.ci/run` sets it) the test
//! panics, otherwise it prints a skip notice so a development machine
//! without Chromium still runs `cargo test`. `tests/install-chromium.sh`
//! installs both from Debian.
//!
//! [`Browser::start`] runs chromedriver on a free 127.0.0.1 port in its own
//! process group, opens a headless Chromium session (`CHROMIUM` overrides
//! `/usr/bin/chromium`) and kills the whole group when dropped. Screenshots
//! go to `target/browser-screenshots/<name>.png` for a person to look at.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable that makes a missing chromedriver an error.
pub const REQUIRED_VAR: &str = "GRIDWORK_BROWSER_TEST";

/// Width and height of the browser window (and of the screenshots' width).
pub const WINDOW: (u32, u32) = (1366, 900);

/// The CSS viewport of [`Browser::start_mobile`]: a 6.1-inch phone.
pub const PHONE_VIEWPORT: (u32, u32) = (390, 844);

/// The user agent of [`Browser::start_mobile`]: WeChat's built-in browser
/// on Android, where residents open the grid's links.
pub const WECHAT_USER_AGENT: &str = "Mozilla/5.0 (Linux; Android 13; V2227A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile Safari/537.36 MicroMessenger/8.0.49.2600(0x28003133) NetType/4G Language/zh_CN";

/// How long to wait for chromedriver to answer, or for a page to load.
const PATIENCE: Duration = Duration::from_secs(30);

/// The chromedriver to use, or `None` (after printing why) when it is not
/// installed and the browser test is not required. Panics when it is
/// missing and `GRIDWORK_BROWSER_TEST=required`.
pub fn chromedriver(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    let browser = chromium();
    if path.is_file() && browser.is_file() {
        return Some(path);
    }
    let missing = if path.is_file() { &browser } else { &path };
    if std::env::var(REQUIRED_VAR).is_ok_and(|v| v == "required") {
        panic!(
            "{test}: {} is missing but {REQUIRED_VAR}=required; install Chromium and \
             chromedriver with `bash tests/install-chromium.sh` (or point CHROMEDRIVER / \
             CHROMIUM at them)",
            missing.display()
        );
    }
    eprintln!(
        "SKIPPED {test}: {} not found (run `bash tests/install-chromium.sh`, or set \
         {REQUIRED_VAR}=required to make this an error)",
        missing.display()
    );
    None
}

/// The Chromium binary: `CHROMIUM`, else `/usr/bin/chromium`.
pub fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// The cargo target directory this test binary was built into
/// (`target/<profile>/deps/<test>` → `target`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    dir.pop();
    dir
}

/// Where screenshots are written: `target/browser-screenshots`.
pub fn screenshot_dir() -> PathBuf {
    target_dir().join("browser-screenshots")
}

/// A free TCP port on 127.0.0.1 (free when this returns).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// Whether chromedriver on `port` answers `GET /status` with `ready: true`.
fn driver_ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str::<Value>(body)
        .is_ok_and(|v| v["value"]["ready"] == true || v["ready"] == true)
}

/// A headless Chromium session on a chromedriver this process started.
pub struct Browser {
    client: Client,
    driver: Child,
    base: String,
    shots: PathBuf,
    /// Emulating a phone: screenshots are of the viewport as it scrolls.
    mobile: bool,
}

impl Browser {
    /// Start `driver` on a free port, wait until it is ready, and open a
    /// headless Chromium session; relative paths given to [`Browser::goto`]
    /// are resolved against `base` (e.g. `http://127.0.0.1:41234`).
    pub async fn start(driver: &Path, base: &str) -> Browser {
        Browser::open(driver, base, false).await
    }

    /// [`Browser::start`] emulating a phone: a [`PHONE_VIEWPORT`] touch
    /// screen at pixel ratio 2 with WeChat's [`WECHAT_USER_AGENT`].
    pub async fn start_mobile(driver: &Path, base: &str) -> Browser {
        Browser::open(driver, base, true).await
    }

    async fn open(driver: &Path, base: &str, mobile: bool) -> Browser {
        let shots = screenshot_dir();
        std::fs::create_dir_all(&shots).expect("create target/browser-screenshots");
        let port = free_port();
        let log = File::create(shots.join("chromedriver.log")).expect("chromedriver log");
        let mut child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            // Its own process group, so that dropping the browser also ends
            // the Chromium processes the driver started.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", driver.display()));
        let started = Instant::now();
        while !driver_ready(port) {
            if let Some(status) = child.try_wait().expect("wait for chromedriver") {
                panic!(
                    "chromedriver exited ({status}) before it was ready; see {}",
                    shots.join("chromedriver.log").display()
                );
            }
            assert!(
                started.elapsed() < PATIENCE,
                "chromedriver did not become ready on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut guard = DriverGuard(Some(child));
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-extensions".into(),
            "--no-first-run".into(),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
            "--lang=zh-CN".into(),
        ];
        let mut capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium().to_string_lossy(),
                "args": args,
            },
        });
        if mobile {
            capabilities["goog:chromeOptions"]["mobileEmulation"] = json!({
                "deviceMetrics": {
                    "width": PHONE_VIEWPORT.0,
                    "height": PHONE_VIEWPORT.1,
                    "pixelRatio": 2.0,
                    "touch": true,
                },
                "userAgent": WECHAT_USER_AGENT,
            });
        }
        let Value::Object(capabilities) = capabilities else {
            unreachable!("capabilities are an object")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "open a Chromium session through chromedriver: {e}; see {}",
                    shots.join("chromedriver.log").display()
                )
            });
        Browser {
            client,
            driver: guard.0.take().expect("driver"),
            base: base.trim_end_matches('/').to_string(),
            shots,
            mobile,
        }
    }

    /// The WebDriver client, for anything the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `base` + `path` (a path starting with `/`, or a whole URL).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Load `path` and wait until it has loaded.
    pub async fn goto(&self, path: &str) {
        let url = self.url(path);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("load {url}: {e}"));
        self.wait_loaded().await;
    }

    /// The current page's path and query, e.g. `/cases?all=1`.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The HTTP status of the response that produced the current document
    /// (after redirects: the last one), from the navigation timing entry.
    pub async fn status(&self) -> u16 {
        let v = self
            .script(
                "const e = performance.getEntriesByType('navigation')[0]; \
                 return e ? e.responseStatus : null;",
            )
            .await;
        v.as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or_else(|| panic!("no response status for {}", self.base))
    }

    /// Run `script` (a function body; `return` its result) in the page.
    pub async fn script(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("execute script: {e}"))
    }

    /// The one element matching `css` (panics when there is none).
    pub async fn find(&self, css: &str) -> Element {
        let path = self.path().await;
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{path}: no element matches `{css}`: {e}"))
    }

    /// Every element matching `css`.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find `{css}`: {e}"))
    }

    /// Whether some element matches `css`.
    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// The rendered text of the element matching `css`, trimmed.
    pub async fn text(&self, css: &str) -> String {
        text_of(&self.find(css).await).await
    }

    /// The whole page's rendered text (`body`).
    pub async fn body_text(&self) -> String {
        self.text("body").await
    }

    /// The value of the cookie `name`, if the browser holds one.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        self.client
            .get_all_cookies()
            .await
            .expect("get cookies")
            .into_iter()
            .find(|c| c.name() == name)
            .map(|c| c.value().to_string())
    }

    /// Click `element` (a submit button or a link) and wait until the
    /// browser has loaded the next document.
    pub async fn click_and_wait(&self, element: &Element) {
        // A marker on the current document's window: gone once a new
        // document has replaced it.
        self.script("window.__gridworkOldPage = true; return null;")
            .await;
        element.click().await.expect("click");
        let started = Instant::now();
        loop {
            let v = self
                .client
                .execute(
                    "return window.__gridworkOldPage === true ? 'old' : document.readyState;",
                    Vec::new(),
                )
                .await;
            // A script can fail while the browser is between documents.
            if let Ok(Value::String(state)) = v {
                if state == "complete" {
                    return;
                }
            }
            assert!(
                started.elapsed() < PATIENCE,
                "no new page after clicking (still on {})",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Wait until the current document has finished loading.
    async fn wait_loaded(&self) {
        let started = Instant::now();
        while self.script("return document.readyState;").await != "complete" {
            assert!(started.elapsed() < PATIENCE, "page did not finish loading");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Save the whole page (window made as tall as the page, at most 6000
    /// pixels; on a phone, the viewport) as `target/browser-screenshots/<name>`; `.png` is added
    /// when missing. Returns the file's path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let file = if name.ends_with(".png") {
            name.to_string()
        } else {
            format!("{name}.png")
        };
        if self.mobile {
            let png = self.client.screenshot().await.expect("take screenshot");
            let path = self.shots.join(file);
            std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            return path;
        }
        let height = self
            .script(
                "return Math.ceil(document.documentElement.scrollHeight) \
                 + Math.max(0, window.outerHeight - window.innerHeight);",
            )
            .await
            .as_u64()
            .unwrap_or(u64::from(WINDOW.1));
        let tall = u32::try_from(height.clamp(u64::from(WINDOW.1), 6000)).unwrap_or(WINDOW.1);
        if tall > WINDOW.1 {
            self.client
                .set_window_size(WINDOW.0, tall)
                .await
                .expect("resize window");
        }
        let png = self.client.screenshot().await.expect("take screenshot");
        if tall > WINDOW.1 {
            self.client
                .set_window_size(WINDOW.0, WINDOW.1)
                .await
                .expect("restore window size");
        }
        let path = self.shots.join(file);
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// End the session (Chromium quits) and stop chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        // Drop kills what is left of the process group.
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
    }
}

/// Kills chromedriver's process group unless defused (used while the
/// session is being opened, so a failed start leaves nothing running).
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            kill_group(child);
        }
    }
}

/// SIGKILL the process group led by `child` (chromedriver and the
/// Chromium it started), then reap `child`.
fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals the process group we
        // created for this child; it has no memory-safety preconditions.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The rendered text of `element`, trimmed.
pub async fn text_of(element: &Element) -> String {
    element
        .text()
        .await
        .expect("element text")
        .trim()
        .to_string()
}
