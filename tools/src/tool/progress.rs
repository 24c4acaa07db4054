//! The progress bar long scans draw on stderr. It is drawn only when the caller allows it
//! (stderr is a terminal and `--no-progress` was not given); otherwise it is hidden and costs
//! next to nothing, so output captured by scripts and tests never holds bar fragments.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A byte-counting progress bar, cleared when dropped.
pub struct Progress(ProgressBar);

impl Progress {
    /// A bar over `total` bytes labelled `what`, drawn on stderr when `visible`.
    pub fn bytes(total: u64, what: &str, visible: bool) -> Progress {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        // The template is a constant; should it ever be refused, the default style remains.
        if let Ok(style) =
            ProgressStyle::with_template("{msg} [{wide_bar}] {bytes}/{total_bytes} ({eta} left)")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        Progress(bar)
    }

    /// Counts `n` more bytes done.
    pub fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    /// Sets the bytes done to `pos`.
    pub fn set(&self, pos: u64) {
        self.0.set_position(pos);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
