//! Cancelling a run: a flag shared by its clones, watched by the engine.

use std::sync::Arc;

/// Cancels a run of [`execute_until`](crate::execute_until): once cancelled, the run starts no
/// new step and stops waiting to retry; calls already in flight finish. Clones share one flag.
#[derive(Debug, Clone)]
pub struct Cancel(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Cancel {
    fn default() -> Self {
        Cancel(Arc::new(tokio::sync::watch::Sender::new(false)))
    }
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Cancels every run (and every waiter) sharing this flag; cancelling twice is harmless.
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once cancelled (at once if already cancelled).
    pub async fn cancelled(&self) {
        let mut receiver = self.0.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = receiver.wait_for(|cancelled| *cancelled).await;
    }
}
