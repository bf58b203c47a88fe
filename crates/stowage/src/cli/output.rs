//! What the client commands print as they go: progress bars on a terminal, a line per finished transfer
//! otherwise, or one JSON object per line with `--json`.

use std::sync::Arc;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use stowage_client::Progress;

use super::Common;

/// Progress output: bars on a terminal, a line per finished file otherwise (or JSON with --json). Clones
/// share the bars.
#[derive(Clone)]
pub(super) struct Reporter {
    bars: Option<MultiProgress>,
    json: bool,
    quiet: bool,
}

impl Reporter {
    pub(super) fn new(common: &Common) -> Self {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        Reporter { bars: (terminal && !common.quiet && !common.json).then(MultiProgress::new), json: common.json, quiet: common.quiet }
    }

    /// A bar for one transfer of `total` bytes (0: unknown), and the progress callback that moves it.
    pub(super) fn bar(&self, name: &str, total: u64) -> (Option<ProgressBar>, Option<Progress>) {
        let Some(bars) = &self.bars else { return (None, None) };
        // A stream of unknown length (standard input) shows what went so far and the rate.
        let (bar, template) = match total {
            0 => (ProgressBar::no_length(), "{msg:30!} {spinner} {bytes} {bytes_per_sec}"),
            _ => (ProgressBar::new(total), "{msg:30!} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta}"),
        };
        let bar = bars.add(bar);
        let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(name.to_string());
        let shown = bar.clone();
        (Some(bar), Some(Arc::new(move |done, _| shown.set_position(done))))
    }

    /// Clears a finished transfer's bar and says what moved.
    pub(super) fn done(&self, bar: Option<ProgressBar>, what: &str, from: &str, to: &str, bytes: u64) {
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        if self.json {
            println!("{}", serde_json::json!({"action": what, "source": from, "destination": to, "bytes": bytes}));
        } else if !self.quiet {
            eprintln!("{what}: {from} -> {to} ({bytes} bytes)");
        }
    }
}
