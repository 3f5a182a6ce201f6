//! Headless Chromium for the browser tests: Debian's `chromium` (`PROMPTOPS_TEST_CHROMIUM`,
//! set by `eval "$(bash scripts/setup-chromium.sh)"`), either loading a page and handing
//! back the DOM it built (`dump_dom`) or driven over the DevTools protocol (`DevTools`).

use std::path::PathBuf;
use std::time::Duration;

pub fn chromium() -> PathBuf {
    let path = std::env::var_os("PROMPTOPS_TEST_CHROMIUM").unwrap_or_else(|| {
        panic!(
            "PROMPTOPS_TEST_CHROMIUM is not set: the browser tests need headless chromium. \
             Run `eval \"$(bash scripts/setup-chromium.sh)\"` first."
        )
    });
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "PROMPTOPS_TEST_CHROMIUM={} does not exist: run `eval \"$(bash scripts/setup-chromium.sh)\"`",
        path.display()
    );
    path
}

/// The DOM chromium built for `url`, after its scripts ran (and any form they submitted
/// was answered).
pub async fn dump_dom(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(chromium());
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .kill_on_drop(true);
    // A guard against a hung browser, not a performance assertion.
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .unwrap_or_else(|_| panic!("chromium did not finish loading {url} within 120 s"))
        .unwrap_or_else(|err| panic!("starting chromium failed: {err}"));
    assert!(
        output.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The text of the element with `id="<id>"` in a serialized DOM, entities decoded.
pub fn element_text(dom: &str, id: &str) -> Option<String> {
    let start = dom.find(&format!("id=\"{id}\""))?;
    let open_end = start + dom[start..].find('>')? + 1;
    let close = open_end + dom[open_end..].find("</")?;
    Some(
        dom[open_end..close]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&"),
    )
}

/// The value of attribute `attr` of the element with `id="<id>"` in a serialized DOM.
pub fn element_attribute(dom: &str, id: &str, attr: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let start = dom[..at].rfind('<')?;
    let tag = &dom[start..at + dom[at..].find('>')?];
    let key = format!(" {attr}=\"");
    let from = tag.find(&key)? + key.len();
    let value = &tag[from..from + tag[from..].find('"')?];
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Chromium driven over the DevTools protocol, on the pipe `--remote-debugging-pipe` opens
/// (commands in on fd 3, answers out on fd 4, each message ended by a NUL byte): for what
/// a person does on a page — fill in its form and press its button — which `--dump-dom`
/// cannot.
pub struct DevTools {
    child: std::process::Child,
    commands: std::io::PipeWriter,
    answers: std::io::BufReader<std::io::PipeReader>,
    session: String,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl DevTools {
    /// A headless browser with one tab, open at `url`.
    pub fn open(url: &str) -> DevTools {
        use std::os::fd::AsRawFd as _;
        use std::os::unix::process::CommandExt as _;
        let profile = tempfile::tempdir().unwrap();
        let (command_reader, commands) = std::io::pipe().unwrap();
        let (answers, answer_writer) = std::io::pipe().unwrap();
        let (command_fd, answer_fd) = (command_reader.as_raw_fd(), answer_writer.as_raw_fd());
        let mut command = std::process::Command::new(chromium());
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        // SAFETY: only dup2, which is async-signal-safe, runs between fork and exec; it
        // puts the pipe ends where chromium expects them (and clears close-on-exec).
        unsafe {
            command.pre_exec(move || {
                if libc::dup2(command_fd, 3) < 0 || libc::dup2(answer_fd, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().unwrap();
        drop((command_reader, answer_writer));
        let mut browser = DevTools {
            child,
            commands,
            answers: std::io::BufReader::new(answers),
            session: String::new(),
            next_id: 0,
            _profile: profile,
        };
        let target = browser.call(
            None,
            "Target.createTarget",
            serde_json::json!({ "url": url }),
        );
        let target_id = target["targetId"].as_str().unwrap().to_owned();
        let attached = browser.call(
            None,
            "Target.attachToTarget",
            serde_json::json!({ "targetId": target_id, "flatten": true }),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'");
        browser
    }

    /// Sends one command and returns its result (events in between are skipped).
    pub fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: serde_json::Value,
    ) -> serde_json::Value {
        match self.send(session, method, params) {
            Ok(result) => result,
            Err(answer) => panic!("{method}: {answer}"),
        }
    }

    /// Sends one command; the answer's `result`, or the whole answer when it is an error.
    fn send(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, serde_json::Value> {
        use std::io::{BufRead as _, Write as _};
        self.next_id += 1;
        let id = self.next_id;
        let mut message = serde_json::json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = serde_json::json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.commands.write_all(&bytes).unwrap();
        loop {
            let mut answer = Vec::new();
            let read = self.answers.read_until(0, &mut answer).unwrap();
            assert!(
                read > 0,
                "chromium closed the DevTools pipe during {method}"
            );
            answer.pop();
            let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
            if answer["id"] == id {
                return match answer.get("error") {
                    None => Ok(answer["result"].clone()),
                    Some(_) => Err(answer),
                };
            }
        }
    }

    /// The value of a JavaScript expression in the tab.
    pub fn evaluate(&mut self, expression: &str) -> serde_json::Value {
        match self.try_evaluate(expression) {
            Ok(value) => value,
            Err(answer) => panic!("Runtime.evaluate: {answer}"),
        }
    }

    /// Like `evaluate`, but `None` when a navigation cut the evaluation short: a
    /// click that submits a form leaves the page while the next poll is in flight,
    /// and Chromium answers that poll "Inspected target navigated or closed" or
    /// "Execution context was destroyed" rather than with a value.
    fn evaluate_across_navigation(&mut self, expression: &str) -> Option<serde_json::Value> {
        match self.try_evaluate(expression) {
            Ok(value) => Some(value),
            Err(answer) => {
                let message = answer["error"]["message"].as_str().unwrap_or_default();
                let navigated = message.contains("navigated or closed")
                    || message.contains("Execution context was destroyed")
                    || message.contains("Cannot find default execution context");
                assert!(navigated, "Runtime.evaluate: {answer}");
                None
            }
        }
    }

    /// The expression's value, or Chromium's whole answer when it is an error.
    fn try_evaluate(&mut self, expression: &str) -> Result<serde_json::Value, serde_json::Value> {
        let session = self.session.clone();
        let result = self.send(
            Some(&session),
            "Runtime.evaluate",
            serde_json::json!({ "expression": expression, "returnByValue": true }),
        )?;
        Ok(result["result"]["value"].clone())
    }

    /// Lays the tab out `width` CSS pixels wide (900 high), as a window or phone that size.
    pub fn set_width(&mut self, width: u32) {
        let session = self.session.clone();
        self.call(
            Some(&session),
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({
                "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600
            }),
        );
    }

    /// Opens `url` in the tab and waits until it has loaded.
    pub fn navigate(&mut self, url: &str) {
        let session = self.session.clone();
        self.evaluate("window.__promptops_left = true");
        self.call(
            Some(&session),
            "Page.navigate",
            serde_json::json!({ "url": url }),
        );
        self.wait_for("!window.__promptops_left && document.readyState === 'complete'");
    }

    /// Waits until `condition` holds in the tab (a guard of 60 s against a hang).
    pub fn wait_for(&mut self, condition: &str) {
        for _ in 0..600 {
            if self.evaluate_across_navigation(condition) == Some(serde_json::json!(true)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let page = self.evaluate("location.href + '\\n' + document.documentElement.outerHTML");
        panic!("the page never satisfied {condition}: {page}");
    }
}

impl Drop for DevTools {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
