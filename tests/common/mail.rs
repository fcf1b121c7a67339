//! A real SMTP server for the mail tests: aiosmtpd (`tests/support/smtp_sink.py`,
//! in `.venv-mail`, which `scripts/test.sh` installs), its messages read
//! from its output as they arrive.

use std::process::Stdio;
use std::time::Duration;

use livedrop::mail::smtp::{SmtpSettings, TlsMode};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// Settings that send to an SMTP server on this machine's `port`.
pub fn smtp_on(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        tls: TlsMode::None,
        user: None,
        password: None,
        from: "livedrop <noreply@livedrop.test>".into(),
    }
}

pub struct MailSink {
    pub port: u16,
    child: Child,
    received: mpsc::UnboundedReceiver<Value>,
}

/// One message as the SMTP server received it, decoded by Python's MIME
/// parser.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub from: String,
    pub subject: String,
    pub body: String,
}

impl Received {
    /// The first link in the body.
    pub fn link(&self) -> String {
        let start = self.body.find("http").unwrap_or_else(|| panic!("no link in {:?}", self.body));
        self.body[start..].split_whitespace().next().unwrap().to_owned()
    }
}

fn python() -> String {
    std::env::var("LIVEDROP_TEST_PYTHON")
        .unwrap_or_else(|_| format!("{}/.venv-mail/bin/python", env!("CARGO_MANIFEST_DIR")))
}

impl MailSink {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// On `port` (0: any free one), e.g. again where a stopped one was.
    pub async fn start_on(port: u16) -> Self {
        let script = format!("{}/tests/support/smtp_sink.py", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("aiosmtpd's python (.venv-mail; scripts/test.sh installs it)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the SMTP server started")
            .unwrap()
            .expect("a first line");
        let port = serde_json::from_str::<Value>(&first).unwrap()["listening"].as_u64().unwrap() as u16;
        let (tx, received) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = tx.send(serde_json::from_str(&line).unwrap());
            }
        });
        Self { port, child, received }
    }

    /// The next message, waiting up to `secs`.
    pub async fn next_within(&mut self, secs: u64) -> Received {
        let v = tokio::time::timeout(Duration::from_secs(secs), self.received.recv())
            .await
            .expect("a message arrived")
            .expect("the SMTP server is running");
        Received {
            to: v["to"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect(),
            from: v["header_from"].as_str().unwrap().to_owned(),
            subject: v["subject"].as_str().unwrap().to_owned(),
            body: v["body"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn next(&mut self) -> Received {
        self.next_within(10).await
    }

    /// Asserts that nothing arrives for `ms`.
    pub async fn nothing_for(&mut self, ms: u64) {
        if let Ok(Some(v)) = tokio::time::timeout(Duration::from_millis(ms), self.received.recv()).await {
            panic!("unexpected message: {v}");
        }
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
