//! Shutdown on SIGTERM and SIGINT, handed to every task as a `watch` flag.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// The shutdown flag: false while running, true once a stop was asked for.
pub struct Shutdown {
    sender: watch::Sender<bool>,
    receiver: watch::Receiver<bool>,
}

impl Shutdown {
    /// Registers the handlers (before READY: a signal must never be lost) and starts watching.
    pub fn install() -> anyhow::Result<Shutdown> {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let (sender, receiver) = watch::channel(false);
        let flag = sender.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
            }
            let _ = flag.send(true);
        });
        Ok(Shutdown { sender, receiver })
    }

    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.sender.subscribe()
    }

    pub async fn wait(&self) {
        let mut receiver = self.receiver.clone();
        super::stopped(&mut receiver).await;
    }
}
