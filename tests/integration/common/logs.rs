//! Captures every log line written during the tests, and every API answer, so tests can
//! prove no secret reaches either.

use std::io::Write;
use std::sync::{Mutex, MutexGuard, OnceLock};

use tracing_subscriber::fmt::MakeWriter;

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static ANSWERS: Mutex<String> = Mutex::new(String::new());
static INSTALLED: OnceLock<()> = OnceLock::new();

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Clone, Copy)]
struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        lock(&LOGS).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        Capture
    }
}

/// Installs the capturing subscriber once for the whole test binary (at debug level, so
/// more than production writes is checked), with production's event format.
pub fn install() {
    INSTALLED.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_writer(Capture)
            .with_ansi(false)
            .event_format(exsync::telemetry::DemoteFrameworkErrors(
                tracing_subscriber::fmt::format::Format::default(),
            ))
            .try_init();
    });
}

/// Everything logged so far.
pub fn captured() -> String {
    String::from_utf8_lossy(&lock(&LOGS)).into_owned()
}

/// Records an API answer body.
pub fn remember_answer(body: &str) {
    let mut answers = lock(&ANSWERS);
    answers.push_str(body);
    answers.push('\n');
}

/// Every API answer body seen so far.
pub fn answers() -> String {
    lock(&ANSWERS).clone()
}
